// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"
)

// This file is the pool that owns its connections, kept in the class's
// own list. The class dials, chooses, counts, expires and closes them
// itself. It dials TCP (or Config.DialContext) and runs TLS itself; ALPN
// decides the protocol: an HTTP/2 connection becomes an http.ClientConn
// (net/http's HTTP/2, made by http.Transport.NewClientConn over the
// connection), an HTTP/1.1 one an h1conn, whose exchanges run in the
// caller's goroutine (h1.go). Through a proxy (HTTPS_PROXY and the like)
// net/http dials, tunnels and runs TLS: NewClientConn's http.ClientConn,
// HTTP/1.1 or HTTP/2.

// conn is one connection the pool owns.
type conn struct {
	cc     *http.ClientConn // HTTP/2, or HTTP/1.1 through a proxy
	h1     *h1conn          // else: HTTP/1.1 in the caller's goroutine
	cls    *class
	h2     bool      // HTTP/2, as ALPN decided
	opened time.Time // when the dial and handshake ended
	// retireAt is when MaxConnAge (with jitter) retires it; zero: never.
	retireAt time.Time
	// window is staleWindow of the time the dial took.
	window time.Duration

	// Under cls.mu.
	streams   int       // requests holding a slot on it
	used      bool      // has been given to a request
	idleSince time.Time // when streams last dropped to 0
	lastFree  time.Time // when a request last released it: most recently used first
	gone      bool      // closed, or found closed; no longer in cls.conns
	// settled says an HTTP/2 connection's limit on streams is known: the
	// server's SETTINGS came in. Until then only the request that dialed
	// it rides it, so that a burst is not piled on a connection whose
	// server allows fewer streams (the others wait, as HTTP/1.1 requests
	// wait for a connection coming back).
	settled  bool
	expiring bool // closed by the pool (keeper, MaxConnAge), not the server
	// goingAway: idle and told GOAWAY, its close is under way (pickLocked).
	goingAway bool
}

// connWaiter is a request waiting for a connection, in FIFO order.
type connWaiter struct {
	ch         chan struct{} // buffered 1: "look again"
	prev, next *connWaiter
	queued     bool
}

// ownPool is a class's own connections and the requests waiting for one.
type ownPool struct {
	rt  *http.Transport // makes connections through a proxy (NewClientConn); never pools any
	h2  *http.Transport // makes HTTP/2 connections over ours (see preDialed); never pools any
	tls *tls.Config     // for the TLS the pool runs itself
	// dial opens a connection: Config.DialContext or TCP.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu         sync.Mutex
	conns      []*conn
	dialing    int
	closed     bool
	head, tail *connWaiter
}

// newOwnPool prepares the class's own connections: rt is a transport
// configured like the shared one, used only for NewClientConn.
func newOwnPool(c *Config, host string) *ownPool {
	op := &ownPool{rt: newFactory(c), h2: newFactory(c), dial: dialer(c)}
	op.h2.Proxy = nil
	op.h2.DialTLSContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		nc, ok := ctx.Value(preDialed{}).(net.Conn)
		if !ok {
			return nil, errors.New("upstream: no connection to make an HTTP/2 connection over")
		}
		return nc, nil
	}
	op.tls = &tls.Config{}
	if c.TLS != nil {
		op.tls = c.TLS.Clone()
	}
	if op.tls.ServerName == "" {
		op.tls.ServerName = host
	}
	op.tls.NextProtos = []string{"h2", "http/1.1"}
	if c.DisableHTTP2 {
		op.tls.NextProtos = []string{"http/1.1"}
	}
	return op
}

// preDialed is the context key of a connection the pool dialed and ran
// TLS on, handed to net/http's HTTP/2 (ownPool.h2's DialTLSContext).
type preDialed struct{}

// newFactory is the transport whose NewClientConn makes the pool's
// connections: dial (Config.DialContext or TCP with keep-alive), TLS with
// ALPN, a proxy from the environment, HTTP/2 settings and pings.
func newFactory(c *Config) *http.Transport {
	dial := dialer(c)
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	if !c.DisableHTTP2 {
		protos.SetHTTP2(true)
	}
	var tlsConf *tls.Config
	if c.TLS != nil {
		tlsConf = c.TLS.Clone()
	}
	return &http.Transport{
		Proxy:                 proxyFunc(c),
		DialContext:           dial,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   c.Timeouts.TLS,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     !c.DisableHTTP2,
		Protocols:             protos,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: c.Timeouts.H2PingInterval,
			PingTimeout:     c.Timeouts.H2PingTimeout,
		},
	}
}

// acquire returns a connection with a slot reserved for one request, and
// whether the request is its first; connections are chosen in
// this order: an HTTP/2 connection with a free stream under
// MaxStreamsPerConn (the least loaded); an idle HTTP/1.1 connection (the
// most recently used, so that the others can expire); a new connection,
// under MaxConns; else the request waits its turn (FIFO) until one of
// those appears, PoolWait at most when MaxConns is set.
func (cl *class) acquire(ctx context.Context, a *attempt) (c *conn, first bool, err error) {
	op := cl.own
	var w *connWaiter
	var poolTimer <-chan time.Time
	defer func() {
		if w != nil && w.queued {
			op.mu.Lock()
			op.remove(w)
			next := op.head
			op.mu.Unlock()
			signal(next)
		}
	}()
	for {
		op.mu.Lock()
		if op.closed {
			op.mu.Unlock()
			return nil, false, errPoolClosed
		}
		if op.head != nil && op.head != w {
			// Others wait before this request: it takes its turn.
			if w == nil {
				w = &connWaiter{ch: make(chan struct{}, 1)}
				op.push(w)
			}
		} else {
			// After a stale connection, a new one, unless none may be
			// dialed: then an idle one rather than a wait.
			c, soon := cl.pickLocked(a.fresh && !cl.atCapLocked())
			if c != nil {
				c.streams++
				first := !c.used
				c.used = true
				if c.streams == 1 {
					cl.u.stats.active.Add(1)
				}
				op.remove(w)
				next := op.head
				op.mu.Unlock()
				signal(next) // there may be room for the next one too
				if err := c.reserve(true); err != nil {
					cl.release(c) // it was closing, or found closed: look again
					continue
				}
				return c, first, nil
			}
			if !soon && cl.mayDialLocked() {
				op.dialing++
				op.remove(w)
				next := op.head
				op.mu.Unlock()
				signal(next)
				a.mu.Lock()
				a.dialing = true
				a.mu.Unlock()
				c, err := cl.dial(httptrace.WithClientTrace(ctx, a.dialTrace()))
				op.mu.Lock()
				op.dialing--
				if err == nil {
					c.streams, c.used = 1, true
					cl.u.stats.active.Add(1)
					op.conns = append(op.conns, c)
				}
				next = op.head
				op.mu.Unlock()
				signal(next) // a new HTTP/2 connection has room; a failed dial lets another try
				if err != nil {
					return nil, false, err
				}
				// Hooked once listed: a close from now on takes it out.
				if c.cc != nil {
					c.cc.SetStateHook(c.changed)
				}
				if err := c.reserve(false); err != nil {
					cl.release(c)
					return nil, false, err
				}
				return c, true, nil
			}
			if w == nil {
				w = &connWaiter{ch: make(chan struct{}, 1)}
				op.push(w)
			}
		}
		op.mu.Unlock()
		if poolTimer == nil && cl.u.cfg.MaxConns > 0 {
			t := time.NewTimer(cl.u.cfg.Timeouts.PoolWait)
			defer t.Stop()
			poolTimer = t.C
		}
		select {
		case <-w.ch:
		case <-ctx.Done():
			return nil, false, context.Cause(ctx)
		case <-poolTimer:
			a.cancel(errPoolWait)
			return nil, false, errPoolWait
		}
	}
}

// reserve takes the HTTP/1.1 connection's one slot for the request: it
// fails if the connection closed meanwhile. An idle h1conn (picked) is
// first checked for a close the server sent while it was idle (see
// alive): found closed, it leaves the pool, and the time it had been idle
// teaches the server's idle timeout. An HTTP/2 connection's streams
// are counted by the pool (streams, under MaxStreamsPerConn and the
// server's limit as Available reports it) and not reserved: net/http
// counts reservations against the server's limit, and reservations made
// before the server's SETTINGS lowered it would wait on each other for
// ever; a request over the limit instead waits in RoundTrip for a stream
// to end, as net/http's own pool does.
func (c *conn) reserve(picked bool) error {
	switch {
	case c.h1 != nil:
		if !picked {
			return nil
		}
		if err := c.h1.err(); err != nil {
			return err // closed by us: nothing to learn
		}
		if c.h1.alive() {
			return nil
		}
		c.cls.closed(c, true)
		c.h1.close()
		return errH1Closed
	case c.h2:
		return c.cc.Err()
	}
	return c.cc.Reserve()
}

// roundTrip sends req on c, for the request that holds a slot on it.
func (c *conn) roundTrip(req *http.Request) (*http.Response, error) {
	if c.h1 != nil {
		return c.h1.roundTrip(req)
	}
	return c.cc.RoundTrip(req)
}

// close closes c; its close reaches the pool (closed) as any other.
func (c *conn) close() {
	if c.h1 != nil {
		c.h1.close()
		return
	}
	_ = c.cc.Close()
}

// signal wakes w, if any, to look again.
func signal(w *connWaiter) {
	if w == nil {
		return
	}
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// pickLocked chooses a connection with room for one more request, or nil.
// soon says no connection has room now but an HTTP/1.1 one is about to:
// its last request ended and net/http is handing it back. noIdle leaves
// idle HTTP/1.1 connections out (a retry after a stale one). op.mu is held.
func (cl *class) pickLocked(noIdle bool) (best *conn, soon bool) {
	op := cl.own
	for _, c := range op.conns {
		if !c.h2 {
			continue
		}
		if !c.settled {
			soon = true
			continue
		}
		// The server's limit is what net/http has free plus what it
		// carries; the pool's count also holds requests on their way.
		// InFlight is read first: a stream that ends between the two
		// reads then counts twice (a request over the limit waits in
		// RoundTrip), never not at all, so 0 with none of the pool's
		// requests on it means it takes no request again.
		limit := c.cc.InFlight()
		limit += c.cc.Available()
		if limit == 0 && c.streams == 0 {
			// Idle and told GOAWAY: it takes no request again, and
			// net/http waits for the server to close it. It closes now
			// (outside op.mu: the close reaches closed through the
			// state hook), so that it frees its place under MaxConns;
			// once, however many requests find it before it is gone.
			if !c.goingAway {
				c.goingAway = true
				go c.cc.Close()
			}
			continue
		}
		if c.streams >= limit || best != nil && c.streams >= best.streams {
			continue
		}
		if c.streams < int(cl.maxStreams) || cl.atCapLocked() {
			// Over MaxStreamsPerConn only when no connection may be
			// dialed (MaxConns): the hard cap wins.
			best = c
		}
	}
	if best != nil || noIdle {
		return best, soon && best == nil // an unsettled HTTP/2 connection: soon
	}
	for _, c := range op.conns {
		if c.h2 || c.streams > 0 {
			continue
		}
		if c.cc != nil && c.cc.Available() == 0 {
			soon = soon || c.cc.Err() == nil
			continue
		}
		if best == nil || c.lastFree.After(best.lastFree) {
			best = c
		}
	}
	return best, soon && best == nil
}

// settle marks an HTTP/2 connection's stream limit as known, and lets the
// next waiting request look at it. Called when its first request got its
// response headers (the server's SETTINGS precede them), or h2HoldMax after
// it opened, whichever comes first.
func (cl *class) settle(c *conn) {
	op := cl.own
	op.mu.Lock()
	was := c.settled
	c.settled = true
	next := op.head
	op.mu.Unlock()
	if !was {
		signal(next)
	}
}

// mayDialLocked reports whether a request may dial: under MaxConns, and,
// while the class may speak HTTP/2, only when no dial is under way (one
// connection may carry them all). op.mu is held.
func (cl *class) mayDialLocked() bool {
	op := cl.own
	if cl.atCapLocked() {
		return false
	}
	if cl.proto.Load() != protoH1 && op.dialing > 0 {
		return false
	}
	return true
}

// atCapLocked reports whether the class has MaxConns connections open or
// being dialed. op.mu is held.
func (cl *class) atCapLocked() bool {
	return cl.maxConns > 0 && len(cl.own.conns)+cl.own.dialing >= cl.maxConns
}

// dial opens a new connection: TCP (or Config.DialContext), then TLS
// for https, where ALPN says which protocol it speaks; through a proxy,
// net/http's NewClientConn does all of it. The handshake reports to the
// attempt's trace hooks (in ctx).
func (cl *class) dial(ctx context.Context) (*conn, error) {
	u := cl.u
	op := cl.own
	start := time.Now()
	addr := hostPort(u.base.Host, u.base.Scheme)
	c := &conn{cls: cl}
	proxy, err := op.rt.Proxy(&http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: u.base.Scheme, Host: u.base.Host, Path: "/"}, Header: http.Header{}, Host: u.base.Host})
	if err != nil {
		return nil, err
	}
	if proxy != nil {
		tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
				c.h2 = err == nil && cs.NegotiatedProtocol == "h2"
			},
		})
		if c.cc, err = op.rt.NewClientConn(tctx, u.base.Scheme, addr); err != nil {
			return nil, err
		}
	} else {
		nc, err := op.dial(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		raw := nc
		if u.base.Scheme == "https" {
			tc, err := cl.handshake(ctx, nc)
			if err != nil {
				return nil, err
			}
			nc, c.h2 = tc, tc.ConnectionState().NegotiatedProtocol == "h2"
		}
		if c.h2 {
			// net/http's HTTP/2 over the connection: the context only
			// carries it there (no wait, no trace: the handshake was
			// reported above).
			hctx := context.WithValue(context.Background(), preDialed{}, nc)
			if c.cc, err = op.h2.NewClientConn(hctx, "https", addr); err != nil {
				_ = nc.Close()
				return nil, err
			}
		} else {
			c.h1 = newH1conn(nc, raw, func() { cl.closed(c, false) })
		}
	}
	now := time.Now()
	c.opened, c.idleSince, c.lastFree, c.window, c.settled = now, now, now, staleWindow(now.Sub(start)), !c.h2
	if c.h2 {
		time.AfterFunc(h2HoldMax, func() { cl.settle(c) })
	}
	if age := u.cfg.MaxConnAge; age > 0 {
		c.retireAt = now.Add(age + rand.N(age/10+1))
	}
	if u.base.Scheme == "http" {
		u.stats.openedH1.Add(1) // over TLS, counted at the handshake
	}
	u.stats.opened.Add(1)
	u.stats.open.Add(1)
	cl.open.Add(1)
	return c, nil
}

// errTLSTimeout is a TLS handshake that took longer than Timeouts.TLS; its
// text is net/http's, which classify reads as KindTLS.
var errTLSTimeout = errors.New("upstream: TLS handshake timeout")

// handshake runs TLS on nc within Timeouts.TLS, offering HTTP/2 and
// HTTP/1.1 by ALPN, and reports it to the attempt's trace hooks.
func (cl *class) handshake(ctx context.Context, nc net.Conn) (*tls.Conn, error) {
	tc := tls.Client(nc, cl.own.tls)
	trace := httptrace.ContextClientTrace(ctx)
	if trace != nil && trace.TLSHandshakeStart != nil {
		trace.TLSHandshakeStart()
	}
	hctx, cancel := context.WithTimeout(ctx, cl.u.cfg.Timeouts.TLS)
	err := tc.HandshakeContext(hctx)
	if err != nil && hctx.Err() != nil && ctx.Err() == nil {
		err = errTLSTimeout
	}
	cancel()
	if trace != nil && trace.TLSHandshakeDone != nil {
		trace.TLSHandshakeDone(tc.ConnectionState(), err)
	}
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	return tc, nil
}

// hostPort is host with the scheme's port when it has none.
func hostPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if scheme == "https" {
		return net.JoinHostPort(host, "443")
	}
	return net.JoinHostPort(host, "80")
}

// changed is an http.ClientConn's state hook: a slot freed up (the next
// waiter looks), or the connection closed (see closed).
func (c *conn) changed(cc *http.ClientConn) {
	if cc.Err() != nil {
		c.cls.closed(c, false)
		return
	}
	op := c.cls.own
	op.mu.Lock()
	next := op.head
	op.mu.Unlock()
	signal(next)
}

// closed takes a connection that closed out of the pool; the next waiter
// looks. If it had been idle a while and closed for no reason of ours,
// the server closed it, and the upstream's idle timeout is learned from
// that; idle says it was idle whatever its count of requests says (an
// h1conn found closed as a request took it).
func (cl *class) closed(c *conn, idle bool) {
	op := cl.own
	op.mu.Lock()
	var learn time.Duration
	if !c.gone {
		if d := time.Since(c.idleSince); (idle || c.streams == 0) && !c.expiring && !op.closed && d < cl.u.cfg.IdleTimeout*9/10 {
			learn = d
		}
		cl.dropLocked(c)
	}
	next := op.head
	op.mu.Unlock()
	signal(next)
	if learn > 0 {
		cl.u.observeServerClose(learn)
	}
}

// dropLocked takes a closed connection out of the pool and its counts.
// op.mu is held.
func (cl *class) dropLocked(c *conn) {
	op := cl.own
	c.gone = true
	for i, x := range op.conns {
		if x == c {
			op.conns = append(op.conns[:i], op.conns[i+1:]...)
			break
		}
	}
	cl.open.Add(-1)
	cl.u.stats.open.Add(-1)
	cl.u.stats.closed.Add(1)
	if c.streams > 0 {
		cl.u.stats.active.Add(-1)
	}
}

// release gives back the slot a request held on c. A connection of a
// closed pool closes once its last request ends, and so does the least
// recently used idle one when more than MaxIdle are idle.
func (cl *class) release(c *conn) {
	op := cl.own
	op.mu.Lock()
	c.streams--
	var closing *conn
	if c.streams == 0 {
		now := time.Now()
		c.idleSince, c.lastFree = now, now
		if !c.gone {
			cl.u.stats.active.Add(-1)
			if op.closed {
				closing = c
			} else {
				closing = cl.surplusIdleLocked()
			}
			if closing != nil {
				closing.expiring = true
				cl.dropLocked(closing)
			}
		}
	}
	next := op.head
	op.mu.Unlock()
	signal(next)
	if closing != nil {
		closing.close()
	}
}

// surplusIdleLocked returns the least recently used idle connection when
// more than MaxIdle are idle, else nil. op.mu is held.
func (cl *class) surplusIdleLocked() *conn {
	idle := 0
	var lru *conn
	for _, c := range cl.own.conns {
		if c.streams == 0 {
			idle++
			if lru == nil || c.lastFree.Before(lru.lastFree) {
				lru = c
			}
		}
	}
	if idle <= cl.u.cfg.MaxIdle {
		return nil
	}
	return lru
}

// idleFor is how long c had been idle before the request that just took
// it: zero if another request was using it.
func (c *conn) idleFor(now time.Time) time.Duration {
	op := c.cls.own
	op.mu.Lock()
	defer op.mu.Unlock()
	if c.streams > 1 {
		return 0
	}
	return now.Sub(c.idleSince)
}

// sweepOwn closes the class's idle connections past maxIdle or their age,
// and takes out the idle h1conns the server closed (nothing else would
// see those close; the idle timeout is learned from them) and the idle
// HTTP/2 ones it told GOAWAY (a Prewarm connection is replaced then, not
// once the server closes it). It returns how many it expired.
func (cl *class) sweepOwn(now time.Time, maxIdle time.Duration) int {
	op := cl.own
	var expired, dead []*conn
	var learn time.Duration
	op.mu.Lock()
	for _, c := range op.conns {
		switch {
		case c.streams > 0:
		case now.Sub(c.idleSince) >= maxIdle || !c.retireAt.IsZero() && now.After(c.retireAt):
			c.expiring = true
			expired = append(expired, c)
		case c.h1 != nil && !c.h1.alive(),
			c.h2 && c.cc.InFlight()+c.cc.Available() == 0: // told GOAWAY (see pickLocked; InFlight first)
			dead = append(dead, c)
			if d := now.Sub(c.idleSince); !op.closed && d < cl.u.cfg.IdleTimeout*9/10 && (learn == 0 || d < learn) {
				learn = d
			}
		}
	}
	for _, c := range expired {
		cl.dropLocked(c)
	}
	for _, c := range dead {
		cl.dropLocked(c)
	}
	op.mu.Unlock()
	for _, c := range expired {
		c.close()
	}
	for _, c := range dead {
		c.close()
	}
	if learn > 0 {
		cl.u.observeServerClose(learn)
	}
	return len(expired)
}

// closeOwn stops the class's own pool: waiting requests fail, idle
// connections close, busy ones close when their last request ends.
func (cl *class) closeOwn() {
	op := cl.own
	var idle []*conn
	op.mu.Lock()
	op.closed = true
	for _, c := range op.conns {
		if c.streams == 0 {
			c.expiring = true
			idle = append(idle, c)
		}
	}
	for _, c := range idle {
		cl.dropLocked(c)
	}
	for w := op.head; w != nil; w = w.next {
		signal(w)
	}
	op.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// push queues w last.
func (op *ownPool) push(w *connWaiter) {
	w.prev, w.next, w.queued = op.tail, nil, true
	if op.tail != nil {
		op.tail.next = w
	} else {
		op.head = w
	}
	op.tail = w
}

// remove takes w out of the queue, if it is queued.
func (op *ownPool) remove(w *connWaiter) {
	if w == nil || !w.queued {
		return
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		op.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		op.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
}
