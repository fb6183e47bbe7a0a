// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"math"
	"math/bits"
	"time"

	"github.com/warmgate/warmgate/upstream"
)

// The window the dashboard keeps and shows.
const (
	// windowSeconds is the length of the per-second series: five minutes,
	// enough to see a change and what came before it.
	windowSeconds = 300
	// ringSeconds holds the window plus the second in progress.
	ringSeconds = windowSeconds + 1
	// minuteSeconds is the span of the latency percentiles and of the
	// "last minute" figures, the second in progress included.
	minuteSeconds = 60
	// rateSeconds is the span of the requests/s figures: the last ten
	// complete seconds, steady enough to read, recent enough to react.
	rateSeconds = 10
)

// Slots of the per-second error and retry counts. Errors are counted by
// upstream.Kind (its int value indexes the slot) and by answered error
// status; both sets are small and fixed, so the counts are arrays.
const (
	kindSlots   = 24 // upstream.Kind values; a larger kind lands in slotOther
	slotOther   = kindSlots
	slot429     = kindSlots + 1 // the upstream answered 429
	slot4xx     = kindSlots + 2 // the upstream answered another 4xx
	slot5xx     = kindSlots + 3 // the upstream answered 5xx
	errorSlots  = kindSlots + 4
	retrySlots  = 8 // upstream.RetryReason values; larger ones are not counted
	histBuckets = 1 + (histMaxExp-histMinExp)*histSub + 1
)

// errorSlotName names the error slots in the JSON.
func errorSlotName(i int) string {
	switch i {
	case slotOther:
		return "other"
	case slot429:
		return "status_429"
	case slot4xx:
		return "status_4xx"
	case slot5xx:
		return "status_5xx"
	}
	return upstream.Kind(i).String()
}

// errorSlot is where an attempt's outcome is counted, or -1 when it is not
// an error: a response with a status below 400.
func errorSlot(kind upstream.Kind, status int) int {
	switch {
	case kind != upstream.KindUnknown:
		if kind < 0 || int(kind) >= kindSlots {
			return slotOther
		}
		return int(kind)
	case status == 0:
		return int(upstream.KindUnknown) // a failure without a kind
	case status == 429:
		return slot429
	case status >= 500:
		return slot5xx
	case status >= 400:
		return slot4xx
	}
	return -1
}

// counts are what one second (or a sum of seconds) saw of one upstream.
type counts struct {
	requests uint32 // requests the gateway relayed: first attempts
	attempts uint32 // attempts sent to this upstream, retries included
	newConns uint32 // attempts that got a connection used for the first time
	reused   uint32 // attempts that got a connection used before
	errors   [errorSlots]uint32
	retries  [retrySlots]uint32
}

func (c *counts) add(o *counts) {
	c.requests += o.requests
	c.attempts += o.attempts
	c.newConns += o.newConns
	c.reused += o.reused
	for i := range c.errors {
		c.errors[i] += o.errors[i]
	}
	for i := range c.retries {
		c.retries[i] += o.retries[i]
	}
}

func (c *counts) errorTotal() uint32 {
	var n uint32
	for _, e := range c.errors {
		n += e
	}
	return n
}

// second is one slot of the ring: the counts of the second numbered at
// (seconds since the dashboard started). A slot whose at is not the second
// being asked for holds an older second and counts as empty.
type second struct {
	at int64
	counts
}

// latencies is one second of latency samples.
type latencies struct {
	at                            int64
	firstByte, poolWait, tl, body histogram
}

// The histogram's buckets: bucket 0 holds everything under 2^histMinExp ns
// (~1µs), then histSub buckets per power of two up to 2^histMaxExp ns (~18
// minutes), then one overflow bucket. Four buckets per power of two keep a
// reported percentile within 12.5% of the truth, plenty for a dashboard.
const (
	histMinExp = 10
	histMaxExp = 40
	histSubLog = 2
	histSub    = 1 << histSubLog
)

// histogram counts durations in log-spaced buckets.
type histogram [histBuckets]uint32

// bucketOf returns the bucket of d.
func bucketOf(d time.Duration) int {
	if d < 1<<histMinExp {
		return 0
	}
	n := uint64(d)
	e := bits.Len64(n) - 1 // 2^e <= n < 2^(e+1)
	if e >= histMaxExp {
		return histBuckets - 1
	}
	sub := int(n>>(e-histSubLog)) & (histSub - 1)
	return 1 + (e-histMinExp)*histSub + sub
}

// bucketValue is the duration reported for bucket i: its midpoint; 0 for
// the first bucket, which means "under a microsecond"; the lower bound for
// the overflow bucket.
func bucketValue(i int) time.Duration {
	switch {
	case i <= 0:
		return 0
	case i >= histBuckets-1:
		return 1 << histMaxExp
	}
	e := histMinExp + (i-1)/histSub
	sub := (i - 1) % histSub
	width := int64(1) << (e - histSubLog)
	lo := int64(1)<<e + int64(sub)*width
	return time.Duration(lo + width/2)
}

func (h *histogram) observe(d time.Duration) { h[bucketOf(d)]++ }

func (h *histogram) add(o *histogram) {
	for i := range h {
		h[i] += o[i]
	}
}

func (h *histogram) count() int64 {
	var n int64
	for _, c := range h {
		n += int64(c)
	}
	return n
}

// quantile returns the q-quantile (0 < q <= 1) by nearest rank, and false
// when the histogram is empty.
func (h *histogram) quantile(q float64) (time.Duration, bool) {
	n := h.count()
	if n == 0 {
		return 0, false
	}
	rank := int64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen int64
	for i, c := range h {
		seen += int64(c)
		if seen >= rank {
			return bucketValue(i), true
		}
	}
	return bucketValue(histBuckets - 1), true // not reached
}

// ratio is reused/(reused+fresh), and false when nothing got a connection.
func ratio(reused, fresh uint64) (float64, bool) {
	if reused+fresh == 0 {
		return 0, false
	}
	return float64(reused) / float64(reused+fresh), true
}

// span returns the first and last second of the n seconds that end at last
// (inclusive), clipped to seconds since start (>= 0). first > last means
// the span is empty.
func span(last int64, n int) (first, lastOut int64) {
	return max(last-int64(n)+1, 0), last
}

// rate is events per second over the rateSeconds complete seconds before
// cur, or over the complete seconds there are when the dashboard is
// younger than that.
func rate(events uint64, cur int64) float64 {
	d := min(cur, rateSeconds)
	if d <= 0 {
		return 0
	}
	return float64(events) / float64(d)
}
