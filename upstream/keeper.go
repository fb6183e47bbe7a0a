// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The keeper is one goroutine per upstream that keeps its pool healthy
// between requests: it expires idle connections before the server would
// (the stale keep-alive race), retires connections past MaxConnAge, and
// keeps Prewarm connections open while the upstream is idle. It sleeps
// between rounds (a tenth of the idle timeout, at most keeperMaxInterval)
// and wakes early when the idle timeout is learned anew.

const (
	keeperMaxInterval = 5 * time.Second
	keeperMinInterval = 50 * time.Millisecond
	// minObservedIdle ignores closes right after a request (Connection:
	// close, a per-connection request cap): those say nothing of idleness.
	minObservedIdle = time.Second
	// minIdleTimeout is the floor of a learned idle timeout.
	minIdleTimeout = 250 * time.Millisecond
	// relearnAfter is how long a learned idle timeout holds without being
	// seen again. Past it idle connections may live the configured
	// IdleTimeout once more, so that a timeout learned from a fluke (a
	// server restart closing every connection) does not stay forever; if
	// it was right, the next idle close teaches it again, at the cost of at
	// most one stale_conn retry.
	relearnAfter = 10 * time.Minute
)

// keeper is the upstream's maintenance state.
type keeper struct {
	ctx    context.Context // canceled by Pool.Close
	cancel context.CancelFunc
	kick   chan struct{} // wakes the loop early; buffered 1
	warmed chan struct{} // closed after the first warm-up round
	wg     sync.WaitGroup

	learnedM  sync.Mutex
	idleEff   time.Duration // idle timeout in effect
	learned   time.Duration // the server's, as shown or said; 0 = not yet
	learnedAt time.Time     // when learned was last learned or seen again
	// learnedNanos mirrors learned for observeReuse's lock-free check.
	learnedNanos atomic.Int64
}

func (u *Upstream) startKeeper() {
	k := &u.keep
	k.ctx, k.cancel = context.WithCancel(context.Background())
	k.kick = make(chan struct{}, 1)
	k.warmed = make(chan struct{})
	k.idleEff = u.cfg.IdleTimeout
	k.wg.Go(u.keeperLoop)
}

func (u *Upstream) stopKeeper() {
	u.keep.cancel()
	u.keep.wg.Wait()
}

// idleTimeout is the idle timeout in effect: the configured one, or less
// once the server showed a shorter one.
func (u *Upstream) idleTimeout() time.Duration {
	u.keep.learnedM.Lock()
	defer u.keep.learnedM.Unlock()
	return u.keep.idleEff
}

func (u *Upstream) keeperLoop() {
	k := &u.keep
	u.warm(k.ctx)
	close(k.warmed)
	t := time.NewTimer(u.keeperInterval())
	defer t.Stop()
	for {
		select {
		case <-k.ctx.Done():
			return
		case <-k.kick:
		case <-t.C:
		}
		now := time.Now()
		u.relearn(now)
		u.sweep(now)
		u.warm(k.ctx)
		t.Reset(u.keeperInterval())
	}
}

func (u *Upstream) keeperInterval() time.Duration {
	// A tenth of the idle timeout: well inside the 20% margin kept below
	// a learned server timeout, so a connection is expired in time.
	d := u.idleTimeout() / 10
	if u.cfg.MaxConnAge > 0 {
		d = min(d, u.cfg.MaxConnAge/4)
	}
	return min(max(d, keeperMinInterval), keeperMaxInterval)
}

// sweep closes idle connections that are past the idle timeout in effect or
// past their age.
func (u *Upstream) sweep(now time.Time) { u.sweepIdle(now, u.idleTimeout()) }

// sweepIdle closes idle connections idle for at least limit or past their
// age.
func (u *Upstream) sweepIdle(now time.Time, limit time.Duration) {
	for _, cl := range u.classes {
		u.stats.expired.Add(int64(cl.sweepOwn(now, limit)))
	}
}

// warmTarget is how many generation connections the keeper keeps open:
// Prewarm, but one is enough on HTTP/2, where it carries every request.
func (u *Upstream) warmTarget() int {
	n := min(u.cfg.Prewarm, u.cfg.MaxIdle)
	if n > 1 && u.stats.openedH2.Load() > 0 {
		n = 1
	}
	return n
}

// warm opens connections up to warmTarget with cheap requests (GET
// <base>/models): any answer, even an error status, leaves a warm
// connection. It returns when they are done or ctx ends.
func (u *Upstream) warm(ctx context.Context) {
	missing := u.warmTarget() - int(u.classes[classLong].open.Load())
	if missing <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeouts.Connect+u.cfg.Timeouts.TLS+u.cfg.Timeouts.FirstByte)
	defer cancel()
	var wg sync.WaitGroup
	for range missing {
		wg.Go(func() { u.warmOne(ctx) })
	}
	wg.Wait()
}

// warmOne sends one warm-up request on the generation class, whose
// requests are the ones a handshake would delay most. It takes no idle
// HTTP/1.1 connection (fresh): it is there to open one, and another
// warm-up's may be idle already.
func (u *Upstream) warmOne(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/models", nil)
	if err != nil {
		return
	}
	resp, _, aerr := u.attempt(req, "/models", classLong, 1, true, warmObserver{u.obs}, func(outcome) {})
	if aerr != nil {
		return
	}
	u.stats.warmStatus.Store(int64(resp.StatusCode))
	drain(resp.Body)
}

// observeServerClose learns from a server that closed a connection idle for
// d: its idle timeout is at most d.
func (u *Upstream) observeServerClose(d time.Duration) {
	if d < minObservedIdle {
		return
	}
	u.stats.serverClosedIdle.Add(1)
	u.learnIdle(d)
}

// observeStale learns from a connection that had waited idle d and was
// found dropped by the server when a request went out on it (an idle drop:
// see idleDrop): the server forgot it sooner. Idle connections as old are
// suspect too, so they are closed now, before the retry picks one: also
// when d is too short to learn as a timeout (a server that drops
// connections idle for milliseconds), else the retry draws the next
// stale connection, and the next, until the attempts run out.
func (u *Upstream) observeStale(d time.Duration) {
	if d >= minIdleTimeout {
		u.learnIdle(d)
	}
	u.sweepIdle(time.Now(), min(d, u.idleTimeout()))
}

// observeReuse learns from a connection that had waited idle d and then
// carried a request to an answer: the server keeps connections at least
// that long. A learned timeout no longer than d was wrong (a reset taken
// for an idle close, a server restart), and is forgotten.
func (u *Upstream) observeReuse(d time.Duration) {
	k := &u.keep
	if l := k.learnedNanos.Load(); l == 0 || int64(d) < l {
		return // the common case: nothing to learn, and no lock
	}
	k.learnedM.Lock()
	if k.learned != 0 && d >= k.learned {
		k.learned, k.learnedAt = 0, time.Time{}
		k.learnedNanos.Store(0)
		k.idleEff = u.cfg.IdleTimeout
	}
	k.learnedM.Unlock()
}

// relearn lets idle connections live the configured IdleTimeout again
// once the learned timeout has not been seen for relearnAfter (see
// relearnAfter). The learned value stays, for Stats and to be confirmed.
func (u *Upstream) relearn(now time.Time) {
	k := &u.keep
	k.learnedM.Lock()
	if k.learned != 0 && now.Sub(k.learnedAt) >= relearnAfter {
		k.idleEff = u.cfg.IdleTimeout
	}
	k.learnedM.Unlock()
}

// observeKeepAlive honours a "Keep-Alive: timeout=N" response header.
func (u *Upstream) observeKeepAlive(h http.Header) {
	v := h.Get("Keep-Alive")
	if v == "" {
		return
	}
	for _, part := range strings.Split(v, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(name, "timeout") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(val)); err == nil && n > 0 {
			u.learnIdle(time.Duration(n) * time.Second)
		}
	}
}

// learnIdle learns that the server forgets connections idle d, or
// sooner, and sets the idle timeout in effect below it, with a 20% margin
// for network delay and timer slop, never above the configured
// IdleTimeout. A shorter d replaces what was learned, and so does any d
// once the learned value went unconfirmed for relearnAfter; a d within a
// quarter above it confirms it.
func (u *Upstream) learnIdle(d time.Duration) {
	k := &u.keep
	now := time.Now()
	k.learnedM.Lock()
	switch {
	case k.learned == 0 || d < k.learned || now.Sub(k.learnedAt) >= relearnAfter:
		k.learned, k.learnedAt = d, now
		k.learnedNanos.Store(int64(d))
	case d <= k.learned*5/4:
		k.learnedAt = now // seen again
	}
	eff := min(max(k.learned*4/5, minIdleTimeout), u.cfg.IdleTimeout)
	lowered := eff < k.idleEff
	k.idleEff = eff
	k.learnedM.Unlock()
	if lowered {
		select {
		case k.kick <- struct{}{}:
		default:
		}
	}
}
