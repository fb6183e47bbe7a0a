// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

// The series by model and key: requests, their latency and their cost.
// Their label values come from the configuration (Configure), so that they
// are bounded by what the operator wrote, whatever clients send.

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warmgate/warmgate/internal/config"
)

// NoneLabelValue is the model label of a request that names no model (a
// file upload, a request refused before its body was read) and the key
// label of a request without a client key (an open gateway, or a request
// refused for having none).
const NoneLabelValue = "none"

// maxResolved bounds how many model names, neither configured exactly nor
// too long, a labelSet remembers the label of; past it the label is
// computed again for each request.
const maxResolved = MaxLabelValues

// pairKey is one (model, key) pair of label values.
type pairKey struct{ model, key string }

// pairSeries are the cached children of one (model, key) pair, so that
// recording a request costs map lookups, not label hashing.
type pairSeries struct {
	m     *Metrics
	key   pairKey
	codes cowMap[int, prometheus.Counter]
	dur   prometheus.Observer // by model only
	// cost is made on the first cost: a pair that never costs anything
	// (a refusal's, a model without a price) has no cost series unless
	// Configure made it.
	cost atomic.Pointer[prometheus.Counter]
}

// labelSet is the bounded set of model and key label values of one
// configuration.
type labelSet struct {
	exact map[string]bool // model names the config spells out
	globs []string        // the config's model globs, longest first
	keys  map[string]bool // configured key names
	// routed are the model labels a request can be routed to: all but
	// the names that are only aliases' names.
	routed []string

	mu       sync.RWMutex
	resolved map[string]string // model name -> its glob or "other", at most maxResolved
}

// isGlob reports whether a configured model is a glob rather than a name.
func isGlob(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// newLabelSet collects cfg's model names and globs (from the upstreams'
// models, aliases, fallbacks, prices and the keys' models) and key names.
func newLabelSet(cfg *config.Config) *labelSet {
	s := &labelSet{exact: map[string]bool{}, keys: map[string]bool{}, resolved: map[string]string{}}
	globs, routed := map[string]bool{}, map[string]bool{}
	add := func(names ...string) {
		for _, n := range names {
			switch {
			case n == "":
				continue
			case isGlob(n):
				globs[n] = true
			default:
				s.exact[n] = true
			}
			routed[n] = true
		}
	}
	for _, u := range cfg.Upstreams {
		add(u.Models...)
	}
	for a, m := range cfg.Aliases {
		add(m)
		if !isGlob(a) {
			s.exact[a] = true // its requests that failed before being routed
		}
	}
	for m, fs := range cfg.Fallbacks {
		add(m)
		add(fs...)
	}
	for p := range cfg.Prices {
		add(p)
	}
	for _, k := range cfg.Keys {
		add(k.Models...)
		s.keys[k.Name] = true
	}
	for g := range globs {
		s.globs = append(s.globs, g)
	}
	// As prices pick theirs: the longest glob that matches, ties by byte
	// order.
	slices.SortFunc(s.globs, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	for n := range routed {
		s.routed = append(s.routed, n)
	}
	s.routed = append(s.routed, OtherLabelValue)
	slices.Sort(s.routed)
	return s
}

// model returns the label value of a request for model: the name itself
// when the config spells it out, else the longest configured glob that
// matches it, else OtherLabelValue; NoneLabelValue when there is none. A
// name longer than MaxLabelLen, never a configured one, is not matched
// against the globs: it is OtherLabelValue.
func (s *labelSet) model(name string) string {
	switch {
	case name == "":
		return NoneLabelValue
	case s.exact[name]:
		return name
	case len(name) > MaxLabelLen || len(s.globs) == 0:
		return OtherLabelValue
	}
	s.mu.RLock()
	v, ok := s.resolved[name]
	full := len(s.resolved) >= maxResolved
	s.mu.RUnlock()
	if ok {
		return v
	}
	v = OtherLabelValue
	for _, g := range s.globs {
		if (config.Key{Models: []string{g}}).MatchModel(name) {
			v = g
			break
		}
	}
	if !full { // once full, made-up names cost no write lock
		s.mu.Lock()
		if len(s.resolved) < maxResolved {
			s.resolved[name] = v
		}
		s.mu.Unlock()
	}
	return v
}

// key returns the label value of a request with the key of the given
// configured name: the name, NoneLabelValue without a key, OtherLabelValue
// for a name the config no longer has (a request that started before a
// reload removed its key).
func (s *labelSet) key(name string) string {
	switch {
	case name == "":
		return NoneLabelValue
	case s.keys[name]:
		return name
	}
	return OtherLabelValue
}

// Configure sets the label values of the series by model and key from cfg
// (see the package doc), and creates at 0 those the dashboard reads from
// the start. Call it with the configuration in use, again after each
// reload. Series of models or keys a reload removed stay until the
// process ends.
func (m *Metrics) Configure(cfg *config.Config) {
	s := newLabelSet(cfg)
	m.labels.Store(s)
	keys := cfg.Keys
	if len(keys) == 0 {
		keys = []config.Key{{Name: ""}} // open: every request is "none"'s
	}
	for _, mod := range s.routed {
		m.modelDur.WithLabelValues(mod)
		for _, k := range keys {
			// A key limited to some models gets only those (and refusals).
			if len(k.Models) > 0 && (mod == OtherLabelValue || !k.MatchModel(mod)) {
				continue
			}
			key := s.key(k.Name)
			m.modelRequests.WithLabelValues(mod, key, "200")
			m.cost.WithLabelValues(mod, key)
		}
	}
}

// ModelRequest records one API request by model and key: model is the
// model it was routed to (the one asked for when it was not routed), key
// the configured name of the client's key ("" without one), code the
// status the client got and d the time to the end of the answer.
func (m *Metrics) ModelRequest(model, key string, code int, d time.Duration) {
	p := m.pair(model, key)
	p.counter(code).Inc()
	p.dur.Observe(d.Seconds())
}

// Cost adds what a request's usage cost, in US dollars at the config's
// prices, to warmgate_cost_usd_total of its model and key (as in
// ModelRequest). Costs of 0 or less are not recorded.
func (m *Metrics) Cost(key, model string, usd float64) {
	if usd > 0 {
		p := m.pair(model, key)
		load(&p.cost, func() prometheus.Counter { return m.cost.WithLabelValues(p.key.model, p.key.key) }).Add(usd)
	}
}

// pair returns the cached series of model and key's label values.
func (m *Metrics) pair(model, key string) *pairSeries {
	s := m.labels.Load()
	if s == nil {
		s = emptyLabels
	}
	return m.pairs.get(pairKey{s.model(model), s.key(key)}, m.newPairSeries)
}

// emptyLabels is the label set before Configure: every model and key is
// "other" (or "none").
var emptyLabels = newLabelSet(&config.Config{})

func (m *Metrics) newPairSeries(k pairKey) *pairSeries {
	return &pairSeries{
		m:   m,
		key: k,
		dur: m.modelDur.WithLabelValues(k.model),
	}
}

// counter returns the pair's request counter for an HTTP status.
func (p *pairSeries) counter(code int) prometheus.Counter {
	return p.codes.get(code, func(code int) prometheus.Counter {
		return p.m.modelRequests.WithLabelValues(p.key.model, p.key.key, strconv.Itoa(code))
	})
}
