// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// abortConn ends the handler's exchange without an answer: over HTTP/1.1
// it resets the connection (RST, by closing with SO_LINGER 0); over HTTP/2
// it resets the stream.
func abortConn(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		nc := c
		if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
			nc = tc.NetConn()
		}
		if tcp, ok := nc.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
		_ = c.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// TestRequestThatMayHaveRunIsNotResent: on a reused connection, the
// upstream reads a request, works on it for 300ms, then resets the
// connection without answering. It may have run the request (and billed
// it), so a POST is not sent again: the caller gets the error, and the
// upstream counted one request. With an Idempotency-Key, or with
// Retry.AssumeIdempotent, it is sent again. Nothing is learned of the
// upstream's idle timeout from such a failure.
func TestRequestThatMayHaveRunIsNotResent(t *testing.T) {
	const work = 300 * time.Millisecond
	cases := []struct {
		name       string
		header     http.Header
		assume     bool
		wantCalls  int64
		wantResent bool
	}{
		{"plain POST", nil, false, 1, false},
		{"with an Idempotency-Key", http.Header{"Idempotency-Key": {"k1"}}, false, 2, true},
		{"upstream configured to assume idempotency", nil, true, 2, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runSync(t, func(t *testing.T, m mode) {
				var calls atomic.Int64
				s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					if r.Header.Get("X-Step") != "work" {
						_, _ = io.WriteString(w, "warm")
						return
					}
					if calls.Add(1) == 1 {
						select {
						case <-time.After(work):
						case <-r.Context().Done():
						}
						abortConn(w, r)
						return
					}
					_, _ = io.WriteString(w, "done")
				})
				p := newPool(t, s, func(c *Config) {
					c.Retry.Base, c.Retry.Max = time.Millisecond, time.Millisecond
					c.Retry.AssumeIdempotent = tc.assume
				})
				send := func(step string, h http.Header) (string, error) {
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "/chat/completions", strings.NewReader(`{"model":"m"}`))
					for k, v := range h {
						req.Header[k] = v
					}
					req.Header.Set("X-Step", step)
					resp, err := p.Do(req)
					if err != nil {
						return "", err
					}
					defer resp.Body.Close()
					b, err := io.ReadAll(resp.Body)
					return string(b), err
				}
				if _, err := send("warm", nil); err != nil {
					t.Fatal(err)
				}
				// An idle gap long enough to be taken for an idle timeout.
				time.Sleep(400 * time.Millisecond)
				got, err := send("work", tc.header)
				if n := calls.Load(); n != tc.wantCalls {
					t.Errorf("the upstream received the request %d times, want %d", n, tc.wantCalls)
				}
				if tc.wantResent {
					if err != nil || got != "done" {
						t.Errorf("got %q, %v; want the resent request's answer", got, err)
					}
				} else {
					var ue *Error
					if !errors.As(err, &ue) || ue.Kind != KindConnReset {
						t.Errorf("got %q, %v; want a KindConnReset *Error", got, err)
					}
				}
				st := p.Stats()[0]
				if st.Reused < 1 {
					t.Errorf("reused = %d: the failed request should have been on a reused connection", st.Reused)
				}
				if st.LearnedIdleTimeout != 0 || st.IdleTimeout != 90*time.Second {
					t.Errorf("learned idle timeout %v (in effect %v) from a request the upstream worked on; want nothing learned",
						st.LearnedIdleTimeout, st.IdleTimeout)
				}
			})
		})
	}
}
