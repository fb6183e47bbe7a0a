// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warmgate/warmgate/ratelimit"
)

// flakyLimiter fails while down, and counts the calls that reached it.
type flakyLimiter struct {
	down  bool
	calls int
}

var errFlaky = errors.New("connection refused")

func (f *flakyLimiter) AllowAll(context.Context, []ratelimit.Take) (ratelimit.Decision, int, error) {
	f.calls++
	if f.down {
		return ratelimit.Decision{}, -1, errFlaky
	}
	return ratelimit.Decision{Allowed: true}, -1, nil
}

func (f *flakyLimiter) AllowEach(ctx context.Context, takes []ratelimit.Take, _ []ratelimit.Decision) (int, error) {
	_, i, err := f.AllowAll(ctx, takes)
	return i, err
}

func (f *flakyLimiter) Adjust(context.Context, string, int) error { return nil }

// TestRedisBackoff: after a failure Redis is not called until the backoff
// passes (1 s, doubling per failed probe up to 5 s); then one call probes
// it; a probe that succeeds ends the backoff.
func TestRedisBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &flakyLimiter{down: true}
		st := &state{backend: "redis"}
		st.ping = func(ctx context.Context) error { _, _, err := f.AllowAll(ctx, nil); return err }
		lim := guardedLimiter{st, f}
		ctx := context.Background()
		call := func() error { _, _, err := lim.AllowAll(ctx, nil); return err }
		burst := func() {
			t.Helper()
			for range 100 {
				if err := call(); !errors.Is(err, errRedisBackoff) || !errors.Is(call(), errRedisBackoff) {
					t.Fatalf("a call during the backoff: %v, want errRedisBackoff", err)
				}
			}
		}

		if err := call(); !errors.Is(err, errFlaky) || f.calls != 1 {
			t.Fatalf("first call: %v after %d calls", err, f.calls)
		}
		burst()
		for i, backoff := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
			time.Sleep(backoff - time.Millisecond)
			burst()
			if f.calls != i+1 {
				t.Fatalf("backoff %d (%v): Redis called %d times, want %d", i, backoff, f.calls, i+1)
			}
			time.Sleep(time.Millisecond)
			// One probe at a time: a second caller is turned away while the
			// first asks Redis.
			if !st.redisAllowed() || st.redisAllowed() {
				t.Fatalf("after backoff %d (%v): want exactly one probe", i, backoff)
			}
			st.probing.Store(false)
			if err := call(); !errors.Is(err, errFlaky) || f.calls != i+2 {
				t.Fatalf("probe after %v: %v, Redis called %d times", backoff, err, f.calls)
			}
		}
		if r := st.ready(ctx); r.OK || !r.LocalLimits {
			t.Errorf("ready during the backoff = %+v, want not ok, local limits", r)
		}

		f.down = false
		time.Sleep(5 * time.Second)
		before := f.calls
		for range 10 {
			if err := call(); err != nil {
				t.Fatalf("after Redis came back: %v", err)
			}
		}
		if f.calls != before+10 {
			t.Errorf("Redis called %d times for 10 calls once it answers again", f.calls-before)
		}

		// A call given up by its caller says nothing of Redis.
		f.down = true
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := lim.AllowAll(cctx, nil); err == nil || st.down.Load() {
			t.Errorf("a call canceled by its caller: %v; the state is down: %v", err, st.down.Load())
		}
	})
}
