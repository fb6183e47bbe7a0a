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
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// attempt is the per-attempt state: the connection it holds, what
// httptrace saw (handshake phases, whether the request was written, the
// first response byte) and the timer that bounds the wait for response
// headers and the silences of the body. Trace hooks run on net/http's
// goroutines, hence the mutex. What a request needs for its attempt (its
// trace hooks, target URL and response body) lives in this one struct,
// one allocation rather than one each.
type attempt struct {
	u      *Upstream
	cls    *class
	start  time.Time
	cancel context.CancelCauseFunc
	hooks  httptrace.ClientTrace // the exchange's (see trace)
	url    url.URL               // the target
	body   body                  // the response's, on success

	// timer is the attempt's one timer (see onTimer): for the slow mark
	// and the first byte while the response headers are awaited, then for
	// the silences of the body. Made when first needed.
	timer *time.Timer
	// idleAt is when the read under way goes past StreamIdle, as an
	// offset from start; 0 while no read waits.
	idleAt atomic.Int64
	// bodyLive is set while the body is read: the timer, once it fires,
	// looks again at its silences (onTimer). Guarded by mu.
	bodyLive bool

	mu   sync.Mutex
	info AttemptInfo
	pc   *conn // the connection it holds a slot on
	// fresh: the previous attempt, to this upstream, found its idle
	// HTTP/1.1 connection dropped (stale_conn), or the attempt is a
	// warm-up, there to open a connection; this one takes no idle
	// HTTP/1.1 connection.
	fresh        bool
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
	waited bool
	// When the dial's phases began, as offsets from start.
	dnsStart, connStart, tlsStart time.Duration
	// Deadlines while the response headers are awaited, as offsets from
	// start; 0: none. slowAt marks the upstream slow (see markSlow),
	// byteAt cuts the attempt (FirstByte after the request was written).
	// timerAt is when the timer is set to fire; 0: not set.
	slowAt, byteAt, timerAt time.Duration
	sent                    sentBody // the request body, on an HTTP/2 connection
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
	// so only the header map (when it gets the upstream's credentials or
	// Prepare may change it) and the URL are new.
	out := req.WithContext(httptrace.WithClientTrace(actx, a.trace()))
	if len(u.cfg.Header) > 0 || u.cfg.Prepare != nil {
		out.Header = make(http.Header, len(req.Header)+len(u.cfg.Header))
		for k, v := range req.Header {
			out.Header[k] = v
		}
	}
	target := &a.url
	*target = *u.base
	target.Path = joinPath(u.base.Path, rel, req.URL.Path)
	if req.URL.RawPath != "" && req.URL.Host == "" {
		// An escaped path (a model name with a slash in it) stays escaped.
		target.RawPath = u.base.EscapedPath() + req.URL.EscapedPath()
	}
	target.RawQuery = req.URL.RawQuery
	out.URL, out.Host, out.RequestURI = target, "", ""
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
		a.mu.Lock()
		a.slowAt = time.Since(a.start) + sa
		a.armLocked(a.slowAt)
		a.mu.Unlock()
	}
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
	a.slowAt, a.byteAt, a.timerAt = 0, 0, 0
	stopTimer(a.timer)
	now := time.Now()
	a.info.FirstByte = now.Sub(a.start)
	info, idleFor := a.info, a.idleFor
	f := failure{waited: a.waited, gotFirstByte: a.gotFirstByte, wrote: a.wrote, afterWrite: now.Sub(a.wroteAt), window: minStaleWindow}
	if a.pc != nil {
		f.window = a.pc.window
	}
	a.finalWrote = a.wrote
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
	b := a.newBody(resp.Body, actx, obs, done)
	b.info = info
	resp.Body = b
	return resp, a, nil
}

// joinPath is the target's path, base+rel: the request's own path when it
// is that already (a request aimed at the upstream's URL), which spares
// building the same string again.
func joinPath(base, rel, reqPath string) string {
	if len(reqPath) == len(base)+len(rel) && strings.HasPrefix(reqPath, base) && strings.HasSuffix(reqPath, rel) {
		return reqPath
	}
	return base + rel
}

// armLocked has the attempt's timer fire at at (an offset from start), or
// earlier if it is set to. a.mu is held.
func (a *attempt) armLocked(at time.Duration) {
	if a.timerAt != 0 && a.timerAt <= at {
		return // onTimer sets it again for at
	}
	a.timerAt = at
	d := at - time.Since(a.start)
	if a.timer == nil {
		a.timer = time.AfterFunc(d, a.onTimer)
		return
	}
	a.timer.Reset(d)
}

// onTimer is the attempt's one timer. It acts on the deadlines that have
// passed, so a firing that was set for a deadline since moved or dropped
// does nothing. While a read of the body waits: past StreamIdle, the
// stream is cut. While the response headers are awaited: past slowAt
// (slowAfter), the upstream is marked slow and the attempt goes on,
// unless it is still queued for one of our own connections (MaxConns),
// which says nothing of the upstream; past byteAt (FirstByte after the
// request was written), the attempt is cut.
func (a *attempt) onTimer() {
	now := time.Since(a.start)
	at := a.idleAt.Load()
	if at != 0 && int64(now) >= at {
		a.cancel(errStreamIdle)
		return
	}
	a.mu.Lock()
	if a.bodyLive {
		// A read does not re-arm the timer (a timer operation per read,
		// which often wakes another thread to watch it): it looks again
		// when the waiting read would pass StreamIdle, or, with none
		// waiting, when one that starts now would.
		next := now + a.body.idle
		if at != 0 {
			next = time.Duration(at)
		}
		a.timer.Reset(next - now)
		a.mu.Unlock()
		return
	}
	a.timerAt = 0
	var slow, late bool
	if a.slowAt != 0 && now >= a.slowAt {
		a.slowAt = 0
		slow = !a.headersDone && !a.gotFirstByte && (a.gotConn || a.dialing)
	}
	if a.byteAt != 0 && now >= a.byteAt {
		a.byteAt = 0
		late = true
	}
	if next := a.slowAt; next != 0 && (a.byteAt == 0 || next < a.byteAt) {
		a.armLocked(next)
	} else if a.byteAt != 0 {
		a.armLocked(a.byteAt)
	}
	a.mu.Unlock()
	if slow {
		a.u.markSlow()
	}
	if late {
		a.cancel(errFirstByte)
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
	getConn := time.Now()
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
	a.info.PoolWait = now.Sub(getConn)
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
	if c.h2 && out.Body != nil && out.Body != http.NoBody {
		a.sent.rc, out.Body = out.Body, &a.sent
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
			a.dialing, a.dnsStart = true, time.Since(a.start)
			a.mu.Unlock()
		},
		DNSDone: func(httptrace.DNSDoneInfo) {
			a.mu.Lock()
			d := time.Since(a.start) - a.dnsStart
			a.info.DNS = d
			a.mu.Unlock()
			u.stats.dns.add(d)
		},
		ConnectStart: func(string, string) {
			a.mu.Lock()
			a.dialing, a.connStart = true, time.Since(a.start)
			a.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			a.mu.Lock()
			d := time.Since(a.start) - a.connStart
			a.info.Connect = d
			a.mu.Unlock()
			if err == nil {
				u.stats.connect.add(d)
			}
		},
		TLSHandshakeStart: func() {
			a.mu.Lock()
			a.tlsStart = time.Since(a.start)
			a.mu.Unlock()
		},
		TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
			a.mu.Lock()
			d := time.Since(a.start) - a.tlsStart
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
	a.hooks = httptrace.ClientTrace{
		WroteRequest: func(wi httptrace.WroteRequestInfo) {
			_ = a.sent.Close() // written: the body is read no more
			a.mu.Lock()
			defer a.mu.Unlock()
			// A request whose write failed never reached the upstream
			// whole: it cannot have been run.
			a.wrote, a.wroteAt = wi.Err == nil, time.Now()
			a.byteAt = 0 // heard again: a write that failed after all
			if !a.gotFirstByte && !a.headersDone {
				a.byteAt = a.wroteAt.Sub(a.start) + u.cfg.Timeouts.FirstByte
				a.armLocked(a.byteAt)
			}
		},
		GotFirstResponseByte: func() {
			a.mu.Lock()
			a.gotFirstByte = true
			a.byteAt = 0
			a.mu.Unlock()
		},
	}
	return &a.hooks
}

// body wraps a successful response body: it cuts the stream when it goes
// silent longer than StreamIdle, turns read failures into *Error values, and
// finishes the attempt's accounting exactly once, at EOF or Close.
// It is part of its attempt (a.body), and the attempt's timer is its idle
// timer (see onTimer).
type body struct {
	rc    io.ReadCloser
	a     *attempt
	ctx   context.Context
	obs   Observer
	idle  time.Duration
	start time.Duration // when the response headers came, as an offset from a.start
	n     atomic.Int64  // bytes read; Close may run concurrently with Read
	info  AttemptInfo   // the attempt that got this response
	done  func(outcome) // the breaker's, when the outcome is still open

	mu       sync.Mutex // held while finishing: a second finish waits for the first
	finished bool
}

// newBody makes the attempt's body around rc. The idle timer starts now:
// a body nobody reads is cut after StreamIdle too.
func (a *attempt) newBody(rc io.ReadCloser, ctx context.Context, obs Observer, done func(outcome)) *body {
	b := &a.body
	*b = body{rc: rc, a: a, ctx: ctx, obs: obs, done: done, idle: a.u.cfg.Timeouts.StreamIdle, start: time.Since(a.start)}
	a.idleAt.Store(int64(time.Since(a.start) + b.idle))
	a.mu.Lock()
	a.bodyLive = true
	if a.timer == nil {
		a.timer = time.AfterFunc(b.idle, a.onTimer)
	} else {
		a.timer.Reset(b.idle)
	}
	a.mu.Unlock()
	return b
}

func (b *body) Read(p []byte) (int, error) {
	// Silence counts only while a read waits on the upstream: time the
	// caller spends elsewhere (writing to a slow client) is not the
	// upstream's. A read notes when it would pass StreamIdle; the timer,
	// armed once, looks at that when it fires (onTimer).
	a := b.a
	a.idleAt.Store(int64(time.Since(a.start) + b.idle))
	n, err := b.rc.Read(p)
	a.idleAt.Store(0)
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

// finish ends the attempt once. The attempt's context is canceled only if
// the body did not reach EOF: canceling a finished HTTP/2 stream would make
// the transport reset it for nothing.
func (b *body) finish(err error, eof bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	b.a.mu.Lock()
	b.a.bodyLive = false
	b.a.timer.Stop()
	b.a.mu.Unlock()
	b.a.idleAt.Store(0)
	b.a.end()
	if !eof {
		b.a.cancel(context.Canceled)
	}
	if err != nil {
		b.a.u.stats.failures.Add(1)
	}
	if b.done != nil {
		b.done(bodyOutcome(err))
	}
	b.obs.BodyDone(BodyInfo{Upstream: b.a.u.cfg.Name, Bytes: b.n.Load(), Duration: time.Since(b.a.start) - b.start, Err: err})
}

// bodyOutcome is what the end of a body says of the upstream: err is nil
// at a clean end, an *Error for the upstream's failures, else the
// caller's cancel.
func bodyOutcome(err error) outcome {
	if err == nil {
		return outcomeOK
	}
	var ue *Error
	if errors.As(err, &ue) {
		return outcomeOf(ue.Kind, 0)
	}
	return outcomeExcluded // the caller canceled
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
