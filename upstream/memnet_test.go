// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

// memListener is an in-memory listener: Dial hands the server one end of a
// net.Pipe. A pool dials it through Config.DialContext, so that a test can
// run the real pool against a real net/http server inside a
// testing/synctest bubble, where every wait (reads, writes, deadlines,
// timers) is on the bubble's clock and a test of a 90s idle timeout takes
// no real time.
type memListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	// next numbers the connections: each end gets its own address, so
	// that a server tells connections apart by RemoteAddr.
	next atomic.Int64
	// wrap, when set, wraps the client end of each new connection (a test
	// freezing a network path).
	wrap func(net.Conn) net.Conn
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// memAddr is a TCP-looking address: servers and logs print it as usual.
type memAddr int64

func (a memAddr) Network() string { return "tcp" }
func (a memAddr) String() string  { return "127.0.0.1:" + strconv.FormatInt(int64(a), 10) }

// memConn is one end of a net.Pipe with its own addresses.
type memConn struct {
	net.Conn
	local, remote memAddr
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr is the server's address, as in its URL.
func (l *memListener) Addr() net.Addr { return memAddr(443) }

// DialContext connects to the listener, as a TCP dial would: it fails with
// ECONNREFUSED once the listener is closed.
func (l *memListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	port := memAddr(10000 + l.next.Add(1))
	c, s := net.Pipe()
	client := net.Conn(&memConn{Conn: c, local: port, remote: l.Addr().(memAddr)})
	server := &memConn{Conn: s, local: l.Addr().(memAddr), remote: port}
	if l.wrap != nil {
		client = l.wrap(client)
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: l.Addr(), Err: syscall.ECONNREFUSED}
	select {
	case <-l.closed:
		return nil, refused
	default:
	}
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, refused
	case <-ctx.Done():
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: l.Addr(), Err: ctx.Err()}
	}
}
