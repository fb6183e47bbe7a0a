// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestHeldAnswerLetsGoOfItsRequestBody: while the caller holds an answer
// (a stream for minutes), nothing in the pool or in net/http keeps the
// request's body once it is written: an HTTP/2 stream keeps its request
// body for its whole life unless the pool lets go of it (sentBody). The
// caller drops its own references (the request stays as the answer's
// Request); the body's bytes must then be collected.
func TestHeldAnswerLetsGoOfItsRequestBody(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		hold := make(chan struct{})
		defer close(hold)
		s := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: {}\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		})
		p := newPool(t, s, nil)

		var collected atomic.Bool
		req := func() *http.Request {
			b := make([]byte, 64<<10)
			runtime.AddCleanup(&b[0], func(*atomic.Bool) { collected.Store(true) }, &collected)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "/chat/completions", bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			return req
		}()
		resp, err := p.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := resp.Body.Read(make([]byte, 64)); err != nil {
			t.Fatal(err)
		}
		req.Body, req.GetBody = nil, nil // the caller's own references
		for i := 0; i < 200 && !collected.Load(); i++ {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		if !collected.Load() {
			t.Errorf("%s: the request body is still reachable while the answer is held", m)
		}
	})
}
