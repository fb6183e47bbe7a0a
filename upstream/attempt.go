// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// attempt is the per-attempt state: the connection it holds, what
// httptrace saw (handshake phases, whether the request was written, the
// first response byte) and the timers that bound the wait for response
// headers. Trace hooks run on net/http's goroutines, hence the mutex.
type attempt struct {
	u      *Upstream
	cls    *class
	start  time.Time
	cancel context.CancelCauseFunc

	mu   sync.Mutex
	info AttemptInfo
	pc   *conn // the connection it holds a slot on
	// fresh: the previous attempt, to this upstream, found its idle
	// HTTP/1.1 connection dropped (stale_conn), or the attempt is a
	// warm-up, there to open a connection; this one takes no idle
	// HTTP/1.1 connection.
	fresh        bool
	getConn      time.Time
	gotConn      bool
	dialing      bool
	wrote        bool      // the whole request was written
	wroteAt      time.Time // when
	gotFirstByte bool
	headersDone  bool          // RoundTrip returned: no timer may start any more
	finalWrote   bool          // wrote, as RoundTrip returned; read without the lock
	idleFor      time.Duration // how long the connection had been idle before this attempt
	// waited: the connection was open before this attempt asked for one
	// (used before, or dialed for another request and left idle), so the
	// server may have closed it while it was idle.
	waited    bool
	dnsStart  time.Time
	connStart time.Time
	tlsStart  time.Time
	byteTimer *time.Timer
	slowTimer *time.Timer // marks the upstream slow (see markSlow)
	idleTimer *time.Timer // the body's StreamIdle timer (see idleFired)
	body      *body       // the answer's body, once there
	idleOff   bool        // the attempt failed: idleTimer is stopped for good
}

// attempt sends one attempt of req to u. On success the response body is
// wrapped to enforce StreamIdle and to finish the accounting at its end.
// done reports the outcome to the upstream's breaker; it is called exactly
// once: here on failure or an error status, at the end of the body on
// success.
func (u *Upstream) attempt(req *http.Request, rel string, cls int, n int, fresh bool, obs Observer, done func(outcome)) (*http.Response, *attempt, *Error) {
	actx, cancel := context.WithCancelCause(req.Context())
	a := &attempt{u: u, cls: u.classes[cls], start: time.Now(), cancel: cancel, fresh: fresh}
	a.info = AttemptInfo{Upstream: u.cfg.Name, Attempt: n, Start: a.start, Context: req.Context()}

	// A shallow copy: the transport reads the request and never changes it,
	// so only the header map (which gets the upstream's credentials) and
	// the URL are new.
	out := req.WithContext(httptrace.WithClientTrace(actx, a.trace()))
	out.Header = make(http.Header, len(req.Header)+len(u.cfg.Header))
	for k, v := range req.Header {
		out.Header[k] = v
	}
	target := *u.base
	target.Path += rel
	if req.URL.RawPath != "" && req.URL.Host == "" {
		// An escaped path (a model name with a slash in it) stays escaped.
		target.RawPath = u.base.EscapedPath() + req.URL.EscapedPath()
	}
	target.RawQuery = req.URL.RawQuery
	out.URL, out.Host, out.RequestURI = &target, "", ""
	if n > 1 && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			cancel(nil)
			done(outcomeExcluded)
			return nil, a, &Error{Kind: KindUnknown, Upstream: u.cfg.Name, Attempt: n, Err: err}
		}
		out.Body = b
	}
	for k, v := range u.cfg.Header {
		out.Header[k] = v
	}
	if u.cfg.Prepare != nil {
		if err := u.cfg.Prepare(out); err != nil {
			cancel(nil)
			done(outcomeExcluded)
			return nil, a, &Error{Kind: KindUnknown, Upstream: u.cfg.Name, Attempt: n, Err: err}
		}
	}

	u.inflight.Add(1)
	u.stats.requests.Add(1)
	if sa := a.cls.slowAfter(); sa < u.cfg.Timeouts.FirstByte {
		// A FirstByte no longer than slowAfter fails slow attempts itself,
		// and the breaker counts them.
		a.slowTimer = time.AfterFunc(sa, a.passedSlow)
	}
	// The body's idle timer is armed now, with the attempt's others, rather
	// than when the answer comes: a timer armed then is often the earliest
	// of its P's, and the runtime wakes another thread to watch it.
	a.mu.Lock()
	a.idleTimer = time.AfterFunc(u.cfg.Timeouts.StreamIdle, a.idleFired)
	a.mu.Unlock()
	resp, err := a.roundTrip(out)
	if err == nil && actx.Err() != nil {
		// The attempt was cut (first-byte or pool-wait timer, or the
		// caller) while the answer was on its way: an HTTP/1.1 server over
		// TLS can answer the close_notify of the cut before the connection
		// is gone. The cut stands; the late answer is dropped.
		resp.Body.Close()
		resp, err = nil, context.Cause(actx)
	}
	// From here on only the snapshot is read: a dial started by this attempt
	// may still report to the trace hooks after RoundTrip returned.
	a.mu.Lock()
	a.headersDone = true
	stopTimer(a.byteTimer)
	stopTimer(a.slowTimer)
	now := time.Now()
	a.info.FirstByte = now.Sub(a.start)
	info, idleFor := a.info, a.idleFor
	f := failure{waited: a.waited, gotFirstByte: a.gotFirstByte, wrote: a.wrote, afterWrite: now.Sub(a.wroteAt), window: minStaleWindow}
	if a.pc != nil {
		f.window = a.pc.window
	}
	a.finalWrote = a.wrote
	if err != nil {
		a.idleOff = true
		a.idleTimer.Stop()
	}
	a.mu.Unlock()

	if err != nil {
		if actx.Err() != nil {
			f.cause = context.Cause(actx)
		}
		kind := classify(err, f)
		switch kind {
		case KindPoolExhausted:
			u.stats.poolExhausted.Add(1)
			info.Exhausted = true
		case KindStaleConn:
			if idleDrop(err, f) {
				u.observeStale(idleFor)
			}
		}
		cancel(nil)
		a.end()
		done(outcomeOf(kind, 0))
		u.stats.failures.Add(1)
		info.Kind = kind
		obs.Attempt(info)
		return nil, a, &Error{Kind: kind, Upstream: u.cfg.Name, Attempt: n, Err: err}
	}
	info.Status = resp.StatusCode
	u.answered()
	a.cls.observeFirstByte(info.FirstByte)
	if f.waited {
		u.observeReuse(idleFor)
	}
	resp.Request = req // the caller's, as http.Transport does: an http.Client resolves redirects against it
	if resp.ProtoMajor == 1 {
		u.observeKeepAlive(resp.Header)
	}
	obs.Attempt(info)
	if o := outcomeOf(KindUnknown, resp.StatusCode); o != outcomeOK {
		done(o) // an error status is judged now; a success when its body ends
		done = nil
	}
	b := newBody(resp.Body, a, actx, obs, done)
	b.info = info
	resp.Body = b
	return resp, a, nil
}

// passedSlow runs when the attempt has waited slowAfter: still without
// response headers, it marks the upstream slow. The attempt goes on. An
// attempt still queued for one of our own connections (MaxConns) says
// nothing of the upstream.
func (a *attempt) passedSlow() {
	a.mu.Lock()
	waiting := !a.headersDone && !a.gotFirstByte && (a.gotConn || a.dialing)
	a.mu.Unlock()
	if waiting {
		a.u.markSlow()
	}
}

// end releases what the attempt holds: its connection and its place in the
// upstream's in-flight count.
func (a *attempt) end() {
	a.mu.Lock()
	pc := a.pc
	a.pc = nil
	a.mu.Unlock()
	if pc != nil {
		a.cls.release(pc)
	}
	a.u.inflight.Add(-1)
}

// roundTrip sends the attempt on one of the class's own connections: the
// pool chooses it (see acquire), and records what it knows of it.
func (a *attempt) roundTrip(out *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.getConn = time.Now()
	a.mu.Unlock()
	c, first, err := a.cls.acquire(out.Context(), a)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	idle := c.idleFor(now)
	proto := "http/1.1"
	if c.h2 {
		proto = "h2"
	}
	a.mu.Lock()
	a.gotConn = true
	a.pc = c
	a.info.PoolWait = now.Sub(a.getConn)
	a.idleFor = idle
	a.waited = !first
	a.info.Reused, a.info.NewConn, a.info.Proto = !first, first, proto
	a.mu.Unlock()
	if !first {
		a.u.stats.reused.Add(1)
	}
	if a.info.PoolWait > time.Millisecond {
		a.u.stats.poolWaits.Add(1)
		a.u.stats.poolWaitNanos.Add(int64(a.info.PoolWait))
	}
	resp, err := c.roundTrip(out)
	if c.h2 {
		a.cls.settle(c)
	}
	return resp, err
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// dialTrace records the phases of a dial the attempt makes (DNS, connect,
// TLS and the protocol ALPN chose). It is given to the dial only: a
// request on an open connection pays for no hooks it would not hear.
func (a *attempt) dialTrace() *httptrace.ClientTrace {
	u := a.u
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) {
			a.mu.Lock()
			a.dialing, a.dnsStart = true, time.Now()
			a.mu.Unlock()
		},
		DNSDone: func(httptrace.DNSDoneInfo) {
			a.mu.Lock()
			a.info.DNS = time.Since(a.dnsStart)
			a.mu.Unlock()
			u.stats.dns.add(a.info.DNS)
		},
		ConnectStart: func(string, string) {
			a.mu.Lock()
			a.dialing, a.connStart = true, time.Now()
			a.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			a.mu.Lock()
			d := time.Since(a.connStart)
			a.info.Connect = d
			a.mu.Unlock()
			if err == nil {
				u.stats.connect.add(d)
			}
		},
		TLSHandshakeStart: func() {
			a.mu.Lock()
			a.tlsStart = time.Now()
			a.mu.Unlock()
		},
		TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
			a.mu.Lock()
			d := time.Since(a.tlsStart)
			a.info.TLS = d
			a.mu.Unlock()
			if err == nil {
				u.stats.tls.add(d)
				h2 := cs.NegotiatedProtocol == "h2"
				if h2 {
					u.stats.openedH2.Add(1)
				} else {
					u.stats.openedH1.Add(1)
				}
				a.cls.negotiated(h2)
			}
		},
	}
}

// trace records what only net/http sees of the exchange: whether the
// whole request was written (retry safety) and the first response byte;
// it runs the first-byte timer.
func (a *attempt) trace() *httptrace.ClientTrace {
	u := a.u
	return &httptrace.ClientTrace{
		WroteRequest: func(wi httptrace.WroteRequestInfo) {
			a.mu.Lock()
			defer a.mu.Unlock()
			// A request whose write failed never reached the upstream
			// whole: it cannot have been run.
			a.wrote, a.wroteAt = wi.Err == nil, time.Now()
			stopTimer(a.byteTimer) // heard again: a write that failed after all
			if !a.gotFirstByte && !a.headersDone {
				a.byteTimer = time.AfterFunc(u.cfg.Timeouts.FirstByte, func() { a.cancel(errFirstByte) })
			}
		},
		GotFirstResponseByte: func() {
			a.mu.Lock()
			a.gotFirstByte = true
			stopTimer(a.byteTimer)
			a.mu.Unlock()
		},
	}
}

// body wraps a successful response body: it cuts the stream when it goes
// silent longer than StreamIdle, turns read failures into *Error values, and
// finishes the attempt's accounting exactly once, at EOF or Close.
type body struct {
	rc    io.ReadCloser
	a     *attempt
	ctx   context.Context
	obs   Observer
	idle  time.Duration
	timer *time.Timer
	start time.Time
	// waiting is when, as an offset from start, the pending Read began to
	// wait on the upstream, or notWaiting (see checkIdle).
	waiting atomic.Int64
	ended   atomic.Bool   // finish ran: checkIdle arms the timer no more
	n       atomic.Int64  // bytes read; Close may run concurrently with Read
	info    AttemptInfo   // the attempt that got this response
	done    func(outcome) // the breaker's, when the outcome is still open
	once    sync.Once
}

func newBody(rc io.ReadCloser, a *attempt, ctx context.Context, obs Observer, done func(outcome)) *body {
	b := &body{rc: rc, a: a, ctx: ctx, obs: obs, done: done, idle: a.u.cfg.Timeouts.StreamIdle, start: time.Now()}
	// Silence counts from now until the first Read returns. The timer has
	// run since the attempt began; it fires no later than it should.
	a.mu.Lock()
	b.timer, a.body = a.idleTimer, b
	a.mu.Unlock()
	return b
}

// idleFired runs when the attempt's idle timer fires: with a body, its
// check; before the answer (which FirstByte bounds), a look again later.
func (a *attempt) idleFired() {
	a.mu.Lock()
	b, off := a.body, a.idleOff
	if b == nil && !off {
		a.idleTimer.Reset(a.u.cfg.Timeouts.StreamIdle)
	}
	a.mu.Unlock()
	if b != nil {
		b.checkIdle()
	}
}

// notWaiting is body.waiting while no Read waits on the upstream.
const notWaiting = -1

func (b *body) Read(p []byte) (int, error) {
	// Silence counts only while a read waits on the upstream: time the
	// caller spends elsewhere (writing to a slow client) is not the
	// upstream's. A Read only notes when it began to wait; the timer is not
	// re-armed per Read (each re-arming is a timer operation, and often
	// wakes another thread to watch the new deadline).
	b.waiting.Store(int64(time.Since(b.start)))
	n, err := b.rc.Read(p)
	b.waiting.Store(notWaiting)
	b.n.Add(int64(n))
	if err == nil {
		return n, nil
	}
	if err == io.EOF && context.Cause(b.ctx) != errStreamIdle {
		b.finish(nil, true)
		return n, err
	}
	// An EOF after the idle timer fired is the end of a connection this
	// body cut itself (an h1 server may answer the close with its final
	// chunk): the stream was silent too long, not complete.
	e := b.readError(err)
	b.finish(e, false)
	return n, e
}

// readError turns a body read failure into an *Error unless the caller
// canceled.
func (b *body) readError(err error) error {
	u := b.a.u
	if b.ctx.Err() != nil {
		cause := context.Cause(b.ctx)
		if cause == errStreamIdle {
			return &Error{Kind: KindStreamIdle, Upstream: u.cfg.Name, Attempt: b.info.Attempt, Err: ErrStreamIdle}
		}
		return err // the caller canceled: not the upstream's fault
	}
	return &Error{Kind: KindTruncated, Upstream: u.cfg.Name, Attempt: b.info.Attempt, Err: err}
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.finish(nil, false)
	return err
}

// checkIdle runs when the idle timer fires: it cuts the body if a Read
// has waited StreamIdle, and otherwise arms the timer for when one could
// first have. The timer is stopped at the body's end (finish).
func (b *body) checkIdle() {
	if b.ended.Load() {
		return
	}
	next := b.idle
	if since := b.waiting.Load(); since != notWaiting {
		waited := time.Since(b.start) - time.Duration(since)
		if waited >= b.idle {
			b.a.cancel(errStreamIdle)
			return
		}
		next -= waited
	}
	b.timer.Reset(next)
}

// finish ends the attempt once. The attempt's context is canceled only if
// the body did not reach EOF: canceling a finished HTTP/2 stream would make
// the transport reset it for nothing.
func (b *body) finish(err error, eof bool) {
	b.once.Do(func() {
		b.ended.Store(true)
		b.timer.Stop()
		b.a.end()
		if !eof {
			b.a.cancel(context.Canceled)
		}
		if err != nil {
			b.a.u.stats.failures.Add(1)
		}
		if b.done != nil {
			var ue *Error
			switch {
			case err == nil:
				b.done(outcomeOK)
			case errors.As(err, &ue):
				b.done(outcomeOf(ue.Kind, 0))
			default:
				b.done(outcomeExcluded) // the caller canceled
			}
		}
		b.obs.BodyDone(BodyInfo{Upstream: b.a.u.cfg.Name, Bytes: b.n.Load(), Duration: time.Since(b.start), Err: err})
	})
}

// ServedBy returns the name of the upstream that answered resp, or "" when
// resp did not come from a Pool.
func ServedBy(resp *http.Response) string {
	info, _ := AttemptOf(resp)
	return info.Upstream
}

// AttemptOf returns what is known of the attempt that got resp: its
// upstream, number (2 or more after retries or failover), connection reuse,
// protocol, pool wait and time to headers. ok is false when resp did not
// come from a Pool (or its Body was replaced).
func AttemptOf(resp *http.Response) (info AttemptInfo, ok bool) {
	if b, ok := resp.Body.(*body); ok {
		return b.info, true
	}
	return AttemptInfo{}, false
}
