// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"time"
)

// Outlier detection: an upstream that goes silent (a black hole: it accepts
// connections and requests and never answers) would otherwise keep its
// share of new requests until FirstByte (120s by default) has failed enough
// of them to open its circuit, and a caller that gives up earlier never
// counts against it at all. So an attempt still without response headers
// far past the upstream's usual time to first byte marks the upstream slow:
// new requests go to the other upstreams while it is slow, as Envoy's
// outlier detection ejects a host. The attempt itself goes on, bounded by
// FirstByte as before. A FirstByte no longer than that wait fails slow
// attempts by itself (and the breaker counts them): no mark then.
//
// An upstream stays slow until any answer of it arrives (it is alive), or
// for slowEjectBase, doubled for each new mark without an answer in
// between, up to slowEjectMax. When no other upstream can take a request,
// a slow one still gets it.
const (
	// slowFactor times the usual time to first byte is "far past" it.
	slowFactor = 4
	// slowFloor is the least wait that counts as far past: model latency
	// varies a lot, and an upstream with no answers yet has no usual time.
	slowFloor = time.Second
	// slowEjectBase and slowEjectMax bound how long a slow mark lasts
	// without an answer.
	slowEjectBase = 10 * time.Second
	slowEjectMax  = 5 * time.Minute
)

// observeFirstByte folds the time to response headers of an answered
// attempt into the class's usual time: an exponentially weighted moving
// average with weight 1/8, as TCP smooths round-trip times.
func (cl *class) observeFirstByte(d time.Duration) {
	for {
		old := cl.firstByteAvg.Load()
		n := int64(d)
		if old != 0 {
			n = old + (int64(d)-old)/8
		}
		if n <= 0 {
			n = 1 // 0 means no sample yet
		}
		if cl.firstByteAvg.CompareAndSwap(old, n) {
			return
		}
	}
}

// slowAfter is how long an attempt of the class may wait for response
// headers before its upstream counts as slow: slowFactor times the usual
// time, at least slowFloor.
func (cl *class) slowAfter() time.Duration {
	return max(slowFactor*time.Duration(cl.firstByteAvg.Load()), slowFloor)
}

// markSlow marks u slow, after an attempt waited far past its usual time.
// A mark already in effect is left as it is.
func (u *Upstream) markSlow() {
	now := time.Now().UnixNano()
	cur := u.slowUntil.Load()
	if cur > now {
		return
	}
	n := u.slowMarks.Add(1)
	d := slowEjectMax
	if n <= 16 {
		d = min(slowEjectBase<<(n-1), slowEjectMax)
	}
	u.slowUntil.CompareAndSwap(cur, now+int64(d))
}

// answered ends a slow mark: the upstream answered, so it is alive.
func (u *Upstream) answered() {
	if u.slowUntil.Load() != 0 {
		u.slowUntil.Store(0)
	}
	if u.slowMarks.Load() != 0 {
		u.slowMarks.Store(0)
	}
}

// slow reports whether u is marked slow at now (unix nanos).
func (u *Upstream) slow(now int64) bool { return now < u.slowUntil.Load() }
