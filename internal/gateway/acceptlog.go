// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// acceptLogInterval is the least time between two log lines about accept
// errors. Out of file descriptors, the listener fails every accept, and
// net/http retries within a second at most: a line each time would flood
// the log at the moment it matters.
const acceptLogInterval = 5 * time.Second

// acceptLog logs its listener's accept errors at warn level, at most one
// line per acceptLogInterval, which counts the errors not logged since the
// previous one. net/http logs them too, on every retry, through the
// server's ErrorLog, which stays at debug level with the rest of its noise
// (TLS handshakes and malformed requests from scanners).
type acceptLog struct {
	net.Listener
	log    *slog.Logger
	mu     sync.Mutex
	last   time.Time // when the last line was written
	missed int       // errors since, not logged
}

// Accept implements net.Listener.
func (l *acceptLog) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && !errors.Is(err, net.ErrClosed) { // closed: the server is shutting down
		l.failed(err)
	}
	return c, err
}

func (l *acceptLog) failed(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < acceptLogInterval {
		l.missed++
		return
	}
	msg := "cannot accept connections: new clients wait or are refused"
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		msg = "cannot accept connections, out of file descriptors: raise the open-file limit (ulimit -n, " +
			"LimitNOFILE), or lower server.idle_timeout; new clients wait or are refused"
	}
	l.log.Warn(msg, "error", err.Error(), "errors_not_logged", l.missed)
	l.last, l.missed = now, 0
}
