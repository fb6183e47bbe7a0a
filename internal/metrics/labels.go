// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// MaxLabelValues is how many distinct values a free-form label (route, key,
// model, limit) may take. Values seen after that are recorded as
// OtherLabelValue, so that a misbehaving caller cannot grow the number of
// series without bound.
const MaxLabelValues = 1000

// OtherLabelValue replaces label values past MaxLabelValues, and values
// longer than MaxLabelLen.
const OtherLabelValue = "other"

// MaxLabelLen is the longest value, in bytes, a free-form label keeps; a
// longer one (a client's made-up model name can be megabytes) is recorded
// as OtherLabelValue.
const MaxLabelLen = 256

// capSet admits the first max distinct values of a label and maps every
// later one to OtherLabelValue. Known values cost a read lock and a map
// lookup.
type capSet struct {
	max  int
	mu   sync.RWMutex
	seen map[string]struct{}
}

func newCapSet(limit int) *capSet { return &capSet{max: limit, seen: make(map[string]struct{})} }

// value returns v if it is (or may become) one of the admitted values, and
// OtherLabelValue otherwise.
func (c *capSet) value(v string) string {
	if len(v) > MaxLabelLen {
		return OtherLabelValue
	}
	c.mu.RLock()
	_, ok := c.seen[v]
	full := len(c.seen) >= c.max
	c.mu.RUnlock()
	if ok {
		return v
	}
	if full {
		return OtherLabelValue
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[v]; ok {
		return v
	}
	if len(c.seen) >= c.max {
		return OtherLabelValue
	}
	c.seen[v] = struct{}{}
	return v
}

// cowMap is a copy-on-write map for the few, long-lived per-name entries
// (upstreams, routes, model and key pairs) looked up on every request:
// reads are one atomic load and a map lookup, without locks or allocation.
type cowMap[K comparable, V any] struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[K]V]
}

// get returns the entry for name, creating it with mk on first use.
func (c *cowMap[K, V]) get(name K, mk func(K) V) V { return c.getMax(name, -1, mk) }

// getMax is get for names a caller chose: once the map holds max entries
// (max >= 0), a name not in it gets mk's entry, not kept.
func (c *cowMap[K, V]) getMax(name K, max int, mk func(K) V) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[name]; ok {
			return v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[name]; ok {
			return v
		}
		if max >= 0 && len(*old) >= max {
			return mk(name)
		}
	}
	next := make(map[K]V, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	v := mk(name)
	next[name] = v
	c.m.Store(&next)
	return v
}

// maxStatus bounds the status codes cached by codeCounters; net/http only
// accepts three-digit codes.
const maxStatus = 1000

// maxKind bounds the upstream.Kind values cached by codeCounters.
const maxKind = 32

// codeCounters caches the children of a counter vector labelled
// {name, code} for one name (an upstream or a route), by status code or
// failure kind, so that counting an outcome skips label hashing and the
// status-to-string conversion after the first time.
type codeCounters struct {
	vec    *prometheus.CounterVec
	name   string
	status [maxStatus]atomic.Pointer[prometheus.Counter]
	kind   [maxKind]atomic.Pointer[prometheus.Counter]
}

func newCodeCounters(vec *prometheus.CounterVec, name string) *codeCounters {
	return &codeCounters{vec: vec, name: name}
}

// forStatus returns the counter for an HTTP status.
func (c *codeCounters) forStatus(code int) prometheus.Counter {
	if code < 0 || code >= maxStatus {
		return c.vec.WithLabelValues(c.name, strconv.Itoa(code))
	}
	return load(&c.status[code], func() prometheus.Counter {
		return c.vec.WithLabelValues(c.name, strconv.Itoa(code))
	})
}

// forKind returns the counter for a failure kind with the given name.
func (c *codeCounters) forKind(kind int, name string) prometheus.Counter {
	if kind < 0 || kind >= maxKind {
		return c.vec.WithLabelValues(c.name, name)
	}
	return load(&c.kind[kind], func() prometheus.Counter { return c.vec.WithLabelValues(c.name, name) })
}

// load returns the counter cached in p, filling it with mk on first use.
// Two racing first uses get the same child from the vector, so either
// store is right.
func load(p *atomic.Pointer[prometheus.Counter], mk func() prometheus.Counter) prometheus.Counter {
	if c := p.Load(); c != nil {
		return *c
	}
	c := mk()
	p.Store(&c)
	return c
}
