// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warmgate/warmgate/internal/buildinfo"
	"github.com/warmgate/warmgate/upstream"
)

// Dashboard keeps the recent history of a pool's upstreams and serves it.
// Create it with New, pass Observer() to upstream.New with
// upstream.WithObserver, then call Watch with the pool. It is safe for
// concurrent use.
type Dashboard struct {
	start   time.Time
	version string // the build, for the page's header
	pool    atomic.Pointer[upstream.Pool]

	// ups maps an upstream name to its series. It is copied on write
	// (under mu), so that the hot path reads it without a lock; names come
	// from the pool's config, so it stays small.
	ups atomic.Pointer[map[string]*series]
	mu  sync.Mutex

	keyLimits atomic.Pointer[func(context.Context) ([]KeyLimit, error)]
	answers   answers // what API clients got, by status class (answers.go)
}

// SetKeyLimits sets how /api/pools reads the client keys' limits and their
// use (KeyUsage.Limits): f is called on every request for the snapshot,
// with that request's context bounded by keyLimitsTimeout.
func (d *Dashboard) SetKeyLimits(f func(context.Context) ([]KeyLimit, error)) { d.keyLimits.Store(&f) }

// keyLimitsTimeout bounds the reading of the keys' limits for one
// snapshot: with Redis down the page still shows the pools, at once.
const keyLimitsTimeout = time.Second

// New returns an empty dashboard whose clock starts now.
func New() *Dashboard {
	d := &Dashboard{start: time.Now(), version: buildinfo.Get().String()}
	d.ups.Store(&map[string]*series{})
	return d
}

// Observer returns the upstream.Observer that feeds the dashboard.
func (d *Dashboard) Observer() upstream.Observer { return observer{d} }

// Watch sets the pool whose live Stats snapshots show. Call it once the
// pool exists (the observer must exist first, to be given to the pool).
func (d *Dashboard) Watch(p *upstream.Pool) {
	for _, u := range p.Upstreams() {
		d.series(u.Name())
	}
	d.pool.Store(p)
}

// second is the number of the current second since the dashboard started.
// It reads the monotonic clock, so a wall-clock step moves no event into
// another second.
func (d *Dashboard) second() int64 { return int64(time.Since(d.start) / time.Second) }

// series returns the series of the named upstream, creating it on first
// use.
func (d *Dashboard) series(name string) *series {
	if s, ok := (*d.ups.Load())[name]; ok {
		return s
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := *d.ups.Load()
	if s, ok := old[name]; ok {
		return s
	}
	m := make(map[string]*series, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	s := &series{}
	m[name] = s
	d.ups.Store(&m)
	return s
}

// lookup returns the named series, or nil when nothing was recorded for it.
func (d *Dashboard) lookup(name string) *series { return (*d.ups.Load())[name] }
