// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"io"
	"sync"
)

var errBodyClosed = errors.New("upstream: request body closed")

// sentBody is an attempt's request body as an HTTP/2 connection reads it.
// The connection's stream keeps its request body for the stream's whole
// life, minutes for a held stream; sentBody lets go of the caller's body
// (and the bytes it reads from) as soon as the request is written, when
// the attempt's trace hears WroteRequest from the connection's writer,
// which reads the body no more from then on. HTTP/1.1 exchanges need no
// such thing: the pool's own write the request in the caller's goroutine
// and keep nothing of it.
type sentBody struct {
	mu sync.Mutex
	rc io.ReadCloser // nil once released
}

func (s *sentBody) Read(p []byte) (int, error) {
	s.mu.Lock()
	rc := s.rc
	s.mu.Unlock()
	if rc == nil {
		return 0, errBodyClosed
	}
	return rc.Read(p)
}

// Close closes the caller's body and lets go of it, once.
func (s *sentBody) Close() error {
	s.mu.Lock()
	rc := s.rc
	s.rc = nil
	s.mu.Unlock()
	if rc == nil {
		return nil
	}
	return rc.Close()
}
