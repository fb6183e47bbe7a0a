// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Traffic classes. Generations (chat, completions, responses; streamed or
// not) hold a connection for seconds to minutes; everything else
// (embeddings, models, moderations, files) for milliseconds. Each class has
// its own transport, so a pool full of streams never makes a short call
// wait, and short calls never take the connections streams need.
const (
	classLong = iota
	classShort
	numClasses
)

// class is one traffic class of an upstream: its transport and the counts
// its dial gate needs.
type class struct {
	u *Upstream
	// lanes are the class's transports: one, or with HTTP/2 one per
	// connection (see lane). lanesMu guards the slice.
	lane0      *lane // the first lane, set once: read without the lock
	lanesMu    sync.Mutex
	lanes      []*lane
	useLanes   bool  // HTTP/2 possible and no MaxConns: lanes may be added
	maxStreams int64 // MaxStreamsPerConn
	gate       dialGate
	open       atomic.Int64 // connections open in this class
	inflight   atomic.Int64 // attempts in flight in this class
	waiting    atomic.Int64 // attempts asking for a connection (GetConn, not yet GotConn)
	// firstByteAvg is the usual time to response headers, in nanoseconds
	// (see observeFirstByte); 0 until an attempt was answered.
	firstByteAvg atomic.Int64
	// proto is what the class's connections speak, learned from the first
	// TLS handshake: protoUnknown, protoH1 or protoH2.
	proto atomic.Int32
	// mayH2 says a connection of this class may negotiate HTTP/2.
	mayH2 bool
	// own, when set (ownConns), is the class's own connections:
	// the lanes and the dial gate are then unused.
	own      *ownPool
	maxConns int // the class's connection cap; 0: none
}

const (
	protoUnknown int32 = iota
	protoH1
	protoH2
)

// maxLanes bounds the HTTP/2 lanes of a class: 64 connections of
// MaxStreamsPerConn streams each (5,120 at the default) before lanes are
// shared beyond the cap.
const maxLanes = 64

// lane is one HTTP/2 transport of a class. net/http puts every request to
// a host on one HTTP/2 connection until the server's stream limit, and
// offers no way to choose the connection; a lane per connection does: the
// class sends a request to the first lane with fewer than
// MaxStreamsPerConn requests in flight, and opens a lane (a connection)
// when every lane is full.
type lane struct {
	rt       *http.Transport
	inflight atomic.Int64
}

// pickLane returns the lane for the next request, with the request counted
// in its inflight: lane 0, until the class is known to speak HTTP/2 and
// uses lanes.
func (cl *class) pickLane() *lane {
	if !cl.useLanes || cl.proto.Load() != protoH2 {
		cl.lane0.inflight.Add(1)
		return cl.lane0
	}
	cl.lanesMu.Lock()
	defer cl.lanesMu.Unlock()
	best := cl.lane0
	for _, l := range cl.lanes {
		n := l.inflight.Load()
		if n < cl.maxStreams {
			l.inflight.Add(1) // under the lock: concurrent picks see it
			return l          // the first with room: few connections, each well used
		}
		if n < best.inflight.Load() {
			best = l
		}
	}
	if len(cl.lanes) < maxLanes && !cl.gate.isClosed() {
		best = &lane{rt: newTransport(&cl.u.cfg, cl, 0)}
		cl.lanes = append(cl.lanes, best)
	}
	best.inflight.Add(1)
	return best
}

// h2HoldMax bounds how long a dial is held on HTTP/2 before it goes ahead
// for requests still waiting for a connection.
const h2HoldMax = 100 * time.Millisecond

// negotiated records the protocol of a new TLS connection and lets held
// dials re-check: once HTTP/2 is known, one connection carries many requests.
func (cl *class) negotiated(h2 bool) {
	p := protoH1
	if h2 {
		p = protoH2
	}
	cl.proto.Store(p)
	cl.wakeDialers()
}

// classOf picks the traffic class from the request path.
func classOf(rel string) int {
	for _, suffix := range [...]string{"/chat/completions", "/completions", "/responses", "/messages",
		"/converse", "/converse-stream", "/invoke", "/invoke-with-response-stream"} { // the last four: Bedrock's /model/{id}/...
		if strings.HasSuffix(rel, suffix) {
			return classLong
		}
	}
	if strings.Contains(rel, "/responses/") {
		return classLong
	}
	return classShort
}

// shortConns is the connection cap of the short class when MaxConns is set:
// a reserve of an eighth of it, at least 2.
func shortConns(maxConns int) int {
	if maxConns <= 0 {
		return 0
	}
	return max(2, maxConns/8)
}

func newClass(u *Upstream, maxConns int) *class {
	cl := &class{u: u, mayH2: u.base.Scheme == "https" && !u.cfg.DisableHTTP2}
	if !cl.mayH2 {
		cl.proto.Store(protoH1)
	}
	cl.lane0 = &lane{rt: newTransport(&u.cfg, cl, maxConns)}
	cl.lanes = []*lane{cl.lane0}
	cl.useLanes = cl.mayH2 && maxConns <= 0
	cl.maxStreams = int64(u.cfg.MaxStreamsPerConn)
	cl.maxConns = maxConns
	if ownConns {
		cl.own = newOwnPool(&u.cfg)
	}
	return cl
}

// newTransport builds a tuned *http.Transport for one class of an upstream.
// Every connection it dials is wrapped in a trackedConn so that the upstream
// knows how many connections are open and in use without asking the
// transport.
func newTransport(c *Config, cl *class, maxConns int) *http.Transport {
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
	t := &http.Transport{
		Proxy: proxyFunc(c),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if err := cl.awaitDemand(ctx, c.Timeouts.Connect); err != nil {
				return nil, err
			}
			start := time.Now()
			conn, err := dial(ctx, network, addr)
			var tc *trackedConn
			if err == nil {
				tc = cl.track(conn, time.Since(start)) // counted open before no longer dialing: no gap
			}
			cl.dialDone()
			if err != nil {
				return nil, err
			}
			return tc, nil
		},
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: c.Timeouts.TLS,
		MaxIdleConns:        0, // per-host caps below are what matter
		MaxIdleConnsPerHost: c.MaxIdle,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     c.IdleTimeout,
		// Response headers are bounded per attempt (FirstByte), not here,
		// so that the timer can tell a header timeout from a cancel.
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     !c.DisableHTTP2,
		Protocols:             protos,
		HTTP2: &http.HTTP2Config{
			// A silent HTTP/2 connection is pinged and dropped if the ping
			// is not answered, instead of after the OS's TCP timeout.
			SendPingTimeout: c.Timeouts.H2PingInterval,
			PingTimeout:     c.Timeouts.H2PingTimeout,
		},
	}
	return t
}

// proxyFunc is the proxy the upstream's connections go through: the
// environment's (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), unless a test set one.
func proxyFunc(c *Config) func(*http.Request) (*url.URL, error) {
	if c.proxy != nil {
		return c.proxy
	}
	return http.ProxyFromEnvironment
}

// dialer returns the function that opens a connection: Config.DialContext
// bounded by Timeouts.Connect, or a TCP dial with keep-alive probes.
func dialer(c *Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial := c.DialContext; dial != nil {
		timeout := c.Timeouts.Connect
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return dial(ctx, network, addr)
		}
	}
	d := &net.Dialer{
		Timeout: c.Timeouts.Connect,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable:   true,
			Idle:     c.Timeouts.KeepAlive,
			Interval: c.Timeouts.KeepAlive / 2,
			Count:    4, // a dead peer is noticed within Idle + 2*Idle
		},
	}
	return d.DialContext
}

// trackedConn counts a connection's life and use. It is the innermost
// net.Conn (under TLS), found again from httptrace's GotConnInfo.Conn.
type trackedConn struct {
	net.Conn
	u        *Upstream
	cls      *class
	opened   time.Time
	retireAt time.Time // zero: no MaxConnAge
	// window is staleWindow of the time the dial took (about one round
	// trip to the server).
	window time.Duration

	mu        sync.Mutex
	inUse     int       // requests using the connection now (several on HTTP/2)
	used      bool      // has carried a request
	idleSince time.Time // when inUse last dropped to 0
	closed    bool
	expiring  bool // closed by the keeper, not by the server
}

func (cl *class) track(c net.Conn, dial time.Duration) *trackedConn {
	u := cl.u
	now := time.Now()
	tc := &trackedConn{Conn: c, u: u, cls: cl, opened: now, idleSince: now, window: staleWindow(dial)}
	cl.open.Add(1)
	if u.base.Scheme == "http" {
		u.stats.openedH1.Add(1) // over TLS, counted by protocol at the handshake
	}
	if age := u.cfg.MaxConnAge; age > 0 {
		// Jitter spreads the retirement of connections opened together.
		tc.retireAt = now.Add(age + rand.N(age/10+1))
	}
	u.stats.opened.Add(1)
	u.stats.open.Add(1)
	u.connsMu.Lock()
	u.conns[tc] = struct{}{}
	u.connsMu.Unlock()
	return tc
}

// Close is called by the transport (or the keeper). A close of a connection
// that sat idle for a while, for no reason of ours, means the server closed
// it: that is how the upstream's idle timeout is learned when it does not
// advertise one.
func (c *trackedConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		if idle := time.Since(c.idleSince); c.inUse == 0 && !c.expiring && idle < c.u.cfg.IdleTimeout*9/10 && !c.cls.gate.isClosed() {
			defer c.u.observeServerClose(idle)
		}
		c.cls.open.Add(-1)
		c.u.stats.open.Add(-1)
		c.u.stats.closed.Add(1)
		if c.inUse > 0 {
			c.u.stats.active.Add(-1)
		}
		c.u.connsMu.Lock()
		delete(c.u.conns, c)
		c.u.connsMu.Unlock()
	}
	c.mu.Unlock()
	c.cls.wakeDialers()
	return c.Conn.Close()
}

// acquire marks one more request on the connection. It returns how long
// the connection had been idle (zero if it was in use) and whether this is
// its first request.
func (c *trackedConn) acquire() (idle time.Duration, first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	first = !c.used
	c.used = true
	c.inUse++
	if c.inUse == 1 && !c.closed {
		c.u.stats.active.Add(1)
		idle = time.Since(c.idleSince) // since it was opened, for its first request
	}
	return idle, first
}

// release marks one request fewer on the connection.
func (c *trackedConn) release() {
	c.mu.Lock()
	c.inUse--
	if c.inUse == 0 {
		c.idleSince = time.Now()
		if !c.closed {
			c.u.stats.active.Add(-1)
		}
	}
	c.mu.Unlock()
}

// expireIfIdle closes the connection if it is idle and has been idle at
// least maxIdle, or is past its retirement age. It reports whether it did.
func (c *trackedConn) expireIfIdle(now time.Time, maxIdle time.Duration) bool {
	c.mu.Lock()
	expire := c.inUse == 0 && !c.closed &&
		(now.Sub(c.idleSince) >= maxIdle || !c.retireAt.IsZero() && now.After(c.retireAt))
	c.expiring = c.expiring || expire
	c.mu.Unlock()
	if expire {
		_ = c.Close()
	}
	return expire
}

// trackedFrom finds our wrapper under whatever the transport handed to
// httptrace (a *tls.Conn over TLS).
func trackedFrom(c net.Conn) *trackedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	t, _ := c.(*trackedConn)
	return t
}

// awaitDemand holds back a dial while the connections open or being dialed
// already cover every request in flight (on HTTP/2, MaxStreamsPerConn
// each). net/http dials for a request that finds no idle connection, and if
// another request's connection frees up first, the new one ends up idle:
// under steady concurrency C that ramps the pool past C. Holding the dial
// until a request really lacks a connection keeps new connections equal to
// the concurrency.
//
// A held dial goes ahead when demand outgrows supply (admitLocked, oldest
// first), or after maxWait (h2HoldMax on HTTP/2) if its request still waits
// for a connection. It ends with errNoDemand as soon as the request it was
// started for no longer waits (it got a connection, or it was canceled:
// net/http detaches dials from their request's cancellation), so an abort
// leaves no dial parked; net/http drops a failed dial nobody waits for.
func (cl *class) awaitDemand(ctx context.Context, maxWait time.Duration) error {
	a := attemptFrom(ctx)
	g := &cl.gate
	g.mu.Lock()
	switch {
	case g.closed:
		g.mu.Unlock()
		return errPoolClosed
	case ctx.Err() != nil:
		g.mu.Unlock()
		return ctx.Err()
	case !cl.covered():
		g.dialing.Add(1)
		g.mu.Unlock()
		return nil
	}
	// Counted before the requester is checked, and forget reads the count
	// after it marks the requester gone: one of the two sees the other.
	g.waiters.Add(1)
	if a != nil && !a.wantsConn.Load() {
		g.waiters.Add(-1)
		g.mu.Unlock()
		return errNoDemand
	}
	h := &heldDial{ch: make(chan struct{}), a: a}
	g.push(h)
	if a != nil {
		a.held = h
	}
	g.mu.Unlock()

	if cl.proto.Load() == protoH2 {
		// Over HTTP/2 a hold is short: a server allowing fewer streams
		// than MaxStreamsPerConn makes net/http ask for another
		// connection for requests the full one turned away.
		maxWait = h2HoldMax
	}
	t := time.NewTimer(maxWait)
	defer t.Stop()
	select {
	case <-h.ch:
	case <-t.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch h.state {
	case heldAdmitted:
		return nil // counted in dialing by admitLocked
	case heldDropped:
		return errNoDemand
	case heldClosed:
		return errPoolClosed
	}
	g.remove(h)
	if err := ctx.Err(); err != nil {
		return err
	}
	if a != nil && a.wantsConn.Load() || a == nil && cl.waiting.Load() > 0 {
		g.dialing.Add(1) // held long enough, and still wanted
		return nil
	}
	return errNoDemand
}

// covered reports whether open and pending connections cover the requests
// in flight.
func (cl *class) covered() bool {
	conns := cl.open.Load() + cl.gate.dialing.Load()
	switch cl.proto.Load() {
	case protoH2:
		return conns > 0 && conns*cl.maxStreams >= cl.inflight.Load()
	case protoUnknown:
		// The first TLS handshake will say whether one connection can
		// carry everything (HTTP/2): wait for it rather than start a storm.
		if conns > 0 {
			return true
		}
	}
	return conns >= cl.inflight.Load()
}

// dialDone ends a dial counted by awaitDemand.
func (cl *class) dialDone() {
	cl.gate.dialing.Add(-1)
	cl.wakeDialers()
}

// wakeDialers lets held dials go after demand grew or supply shrank. It
// costs one atomic load when no dial is held.
func (cl *class) wakeDialers() {
	if cl.gate.waiters.Load() == 0 {
		return
	}
	cl.gate.mu.Lock()
	cl.admitLocked()
	cl.gate.mu.Unlock()
}

// admitLocked lets held dials go, oldest first, while open and pending
// connections do not cover the requests in flight: only the dials needed
// wake up. gate.mu is held.
func (cl *class) admitLocked() {
	g := &cl.gate
	for g.head != nil && !cl.covered() {
		h := g.head
		g.remove(h)
		h.state = heldAdmitted
		g.dialing.Add(1)
		close(h.ch)
	}
}

// forget ends the held dial of an attempt that no longer waits for a
// connection: it got one, or it ended. Called with a.mu held.
func (cl *class) forget(a *attempt) {
	a.wantsConn.Store(false)
	g := &cl.gate
	if g.waiters.Load() == 0 {
		return
	}
	g.mu.Lock()
	if h := a.held; h != nil && h.state == heldWaiting {
		g.remove(h)
		h.state = heldDropped
		close(h.ch)
	}
	g.mu.Unlock()
}

// close stops the class: held dials fail, idle connections close.
func (cl *class) close() {
	if cl.own != nil {
		cl.closeOwn()
	}
	g := &cl.gate
	g.mu.Lock()
	g.closed = true
	for g.head != nil {
		h := g.head
		g.remove(h)
		h.state = heldClosed
		close(h.ch)
	}
	g.mu.Unlock()
	cl.lanesMu.Lock()
	lanes := cl.lanes
	cl.lanesMu.Unlock()
	for _, l := range lanes {
		l.rt.CloseIdleConnections()
	}
}

func (g *dialGate) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// dialGate is the state of awaitDemand: the dials it holds, oldest first,
// in a list that a dial can leave from anywhere (its request went away).
type dialGate struct {
	mu         sync.Mutex
	closed     bool
	head, tail *heldDial
	waiters    atomic.Int64 // held dials; read without the lock
	dialing    atomic.Int64
}

// heldDial is one dial held back by awaitDemand.
type heldDial struct {
	ch    chan struct{} // closed when state leaves heldWaiting
	state int
	// a is the attempt the dial was started for (nil if unknown); its held
	// field points back here while the dial is held. Both under gate.mu.
	a          *attempt
	prev, next *heldDial
}

// States of a heldDial.
const (
	heldWaiting  = iota
	heldAdmitted // demand outgrew supply: dial
	heldDropped  // its request no longer waits: do not dial
	heldClosed   // the pool closed
)

// push appends h to the held dials; waiters was counted by the caller.
func (g *dialGate) push(h *heldDial) {
	h.prev = g.tail
	if g.tail != nil {
		g.tail.next = h
	} else {
		g.head = h
	}
	g.tail = h
}

// remove takes h off the list, if it is on it, and ends its count.
func (g *dialGate) remove(h *heldDial) {
	if h.prev == nil && g.head != h {
		return // not on the list
	}
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		g.head = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		g.tail = h.prev
	}
	h.prev, h.next = nil, nil
	if h.a != nil && h.a.held == h {
		h.a.held = nil
	}
	g.waiters.Add(-1)
}
