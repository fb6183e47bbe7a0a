// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// listener wraps the server's listener so that every accepted connection is
// counted, pays the handshake delay, and, with TLS, is wrapped in a
// *tls.Conn (net/http needs that concrete type to see TLS and ALPN).
type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := l.s.newConn(nc)
	if l.s.tlsConfig == nil {
		return c, nil
	}
	tc := tls.Server(c, l.s.tlsConfig)
	// net/http runs the handshake itself, without a hook for "done". Running
	// it here too is safe (tls.Conn serializes handshakes: the second caller
	// waits and sees the result) and counts handshakes that are never
	// followed by a request, such as a client's pre-warmed connections.
	// The goroutine ends with the handshake; a closed connection ends it.
	go func() {
		if tc.HandshakeContext(context.Background()) == nil {
			c.countHandshake()
		}
	}()
	return tc, nil
}

// conn is one accepted connection: the raw net.Conn under any TLS, with the
// state that stats, the handshake delay and drop_idle need.
type conn struct {
	net.Conn
	s  *Server
	id int64

	delayOnce sync.Once
	closeOnce sync.Once
	closed    chan struct{} // closed by Close; ends the handshake delay early

	handshakeCounted atomic.Bool
	inflight         atomic.Int32
	lastDone         atomic.Int64 // s.clock() when the last request ended; -1 before any
}

func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{Conn: nc, s: s, id: s.accepted.Add(1), closed: make(chan struct{})}
	c.lastDone.Store(-1)
	s.active.Add(1)
	s.log.Debug("mock: connection accepted", "conn", c.id, "remote", nc.RemoteAddr().String())
	return c
}

// Read makes the first read wait the handshake delay. The wait sits on the
// connection's own goroutine, never on the accept loop.
func (c *conn) Read(p []byte) (int, error) {
	if d := c.s.opts.HandshakeDelay; d > 0 {
		c.delayOnce.Do(func() {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-c.closed:
			}
		})
	}
	return c.Conn.Read(p)
}

// Close closes the connection; only the first call updates the stats.
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		close(c.closed)
		c.s.active.Add(-1)
		c.s.log.Debug("mock: connection closed", "conn", c.id)
	})
	return err
}

// countHandshake counts the connection's TLS handshake once, whether the
// handshake goroutine or the first request gets there first.
func (c *conn) countHandshake() {
	if c.handshakeCounted.CompareAndSwap(false, true) {
		c.s.handshakes.Add(1)
	}
}

// begin marks the start of a request and returns how long the connection
// had been idle: 0 for its first request or while another is in flight.
func (c *conn) begin() time.Duration {
	n := c.inflight.Add(1)
	last := c.lastDone.Load()
	if n != 1 || last < 0 {
		return 0
	}
	return c.s.clock() - time.Duration(last)
}

// end marks the end of a request.
func (c *conn) end() {
	c.lastDone.Store(int64(c.s.clock()))
	c.inflight.Add(-1)
}

type connKey struct{}

// connContext is the http.Server's ConnContext: it makes the connection
// reachable from its requests.
func (s *Server) connContext(ctx context.Context, nc net.Conn) context.Context {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if c, ok := nc.(*conn); ok {
		ctx = context.WithValue(ctx, connKey{}, c)
	}
	return ctx
}

func connFrom(ctx context.Context) *conn {
	c, _ := ctx.Value(connKey{}).(*conn)
	return c
}
