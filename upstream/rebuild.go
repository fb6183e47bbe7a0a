// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"fmt"
)

// Rebuild returns a new Pool for cfgs, for a configuration reload. An
// upstream for which keep(name) is true and that p already has is carried
// over as it is, warm connections, counters and breaker included; the
// others are new. Upstreams of p that are not carried over stop: their idle
// connections close, while requests in flight on them finish. p is retired:
// its Close no longer touches the carried-over upstreams, so close the new
// pool instead. Views made by p.Only keep working for requests in flight.
func (p *Pool) Rebuild(cfgs []Config, keep func(name string) bool) (*Pool, error) {
	if len(cfgs) == 0 {
		return nil, errors.New("upstream: Rebuild needs at least one Config")
	}
	old := p.shared
	s := &shared{obs: old.obs, maxReplay: old.maxReplay}
	kept := make(map[*Upstream]bool)
	var fresh []*Upstream
	seen := make(map[string]bool, len(cfgs))
	for _, c := range cfgs {
		if seen[c.Name] {
			return nil, fmt.Errorf("upstream: two upstreams are named %q; names must be unique", c.Name)
		}
		seen[c.Name] = true
		var u *Upstream
		if keep != nil && keep(c.Name) {
			for _, ou := range old.all {
				if ou.cfg.Name == c.Name {
					u = ou
				}
			}
		}
		if u != nil {
			kept[u] = true
		} else {
			nu, err := newUpstream(c)
			if err != nil {
				return nil, err // nothing of the new ones was started yet
			}
			u = nu
			fresh = append(fresh, u)
		}
		s.all = append(s.all, u)
	}
	s.budget = budget{ratio: s.all[0].cfg.Retry.Budget, floor: 10}
	for _, u := range fresh {
		u.obs = s.obs
		u.startKeeper()
	}
	old.closeOnce.Do(func() {
		for _, u := range old.all {
			if !kept[u] {
				u.close()
			}
		}
	})
	return &Pool{ups: s.all, shared: s}, nil
}

// close stops an upstream's background work and closes its idle
// connections; requests in flight finish.
func (u *Upstream) close() {
	u.stopKeeper()
	for _, cl := range u.classes {
		cl.close()
	}
}
