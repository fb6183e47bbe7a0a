// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"net"
	"os"
	"time"
)

// deadlinePeek checks an idle connection that is not a socket (a custom
// DialContext's wrapper, a net.Pipe) with a one-byte read bounded by
// peekWait: it answers EOF when the other end closed, a byte when the
// server said something on the idle connection (its goodbye: the
// connection is not used again), else the deadline.
func deadlinePeek(c net.Conn) bool {
	if err := c.SetReadDeadline(time.Now().Add(peekWait)); err != nil {
		return false
	}
	var b [1]byte
	_, err := c.Read(b[:])
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return c.SetReadDeadline(time.Time{}) == nil
}

// peekWait is how long deadlinePeek's read waits: long enough for the read
// to reach the connection (a deadline already passed returns before it
// does), short against a request's time. It is paid on each reuse of a
// connection that is not a socket, and only there.
const peekWait = 100 * time.Microsecond
