// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package upstream

import (
	"net"
	"syscall"
)

// peeker checks that an idle connection is still open, without reading
// from it: a non-blocking recv(MSG_PEEK) of one byte on the socket says
// EAGAIN (open, nothing came), 0 (the server closed it), a byte (something
// came: on an idle HTTP/1.1 connection, only the server's goodbye) or an
// error (reset). A connection that is not a socket (a custom DialContext's)
// is checked with a read that returns at once (see deadlinePeek).
type peeker struct {
	rc   syscall.RawConn // nil: not a socket
	raw  net.Conn
	buf  [1]byte
	open bool
	fn   func(fd uintptr) bool // p.recv, bound once: the check allocates nothing
}

func newPeeker(raw net.Conn) peeker {
	p := peeker{raw: raw}
	if sc, ok := raw.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	return p
}

func (p *peeker) alive() bool {
	if p.rc == nil {
		return deadlinePeek(p.raw)
	}
	if p.fn == nil {
		p.fn = p.recv
	}
	if err := p.rc.Read(p.fn); err != nil {
		return false
	}
	return p.open
}

// recv runs once on the socket (the fd is non-blocking: Go's poller set
// it so); returning true tells RawConn.Read not to wait for readiness.
func (p *peeker) recv(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK)
	p.open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	return true
}
