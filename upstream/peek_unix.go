// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package upstream

import (
	"net"
	"syscall"
)

// peeker looks at an idle connection's socket without reading from it: a
// non-blocking recv(MSG_PEEK) of one byte says EAGAIN (open, nothing
// came), 0 (the server closed it) or an error (reset); a byte that came
// is for the caller to judge (see h1conn.alive).
type peeker struct {
	rc  syscall.RawConn // nil: not a socket
	buf [1]byte
	res peekResult
	fn  func(fd uintptr) bool // p.recv, bound once: the look allocates nothing
}

func newPeeker(raw net.Conn) peeker {
	var p peeker
	if sc, ok := raw.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	return p
}

// peek looks at the socket; peekUnknown when raw is not a socket.
func (p *peeker) peek() peekResult {
	if p.rc == nil {
		return peekUnknown
	}
	if p.fn == nil {
		p.fn = p.recv
	}
	if err := p.rc.Read(p.fn); err != nil {
		return peekClosed
	}
	return p.res
}

// recv runs once on the socket (the fd is non-blocking: Go's poller set
// it so); returning true tells RawConn.Read not to wait for readiness.
func (p *peeker) recv(fd uintptr) bool {
	n, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK)
	switch {
	case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
		p.res = peekOpen
	case err == nil && n > 0:
		p.res = peekData
	default:
		p.res = peekClosed
	}
	return true
}
