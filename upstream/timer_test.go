// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestOneTimerServesEveryDeadline: an attempt's one timer marks the
// upstream slow, then still cuts the wait for headers at FirstByte; and
// once the headers came, it times the silences of the body, with no
// deadline of the wait for headers left to fire.
func TestOneTimerServesEveryDeadline(t *testing.T) {
	const firstByte, streamIdle = 3 * time.Second, 2 * time.Second // the slow mark comes at slowFloor, 1s
	const bound = 10 * time.Second                                 // a deadline missed fails the request here
	t.Run("slow, then no headers", func(t *testing.T) {
		runSync(t, func(t *testing.T, m mode) {
			s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				<-r.Context().Done() // never answers
			})
			p := newPool(t, s, func(c *Config) {
				c.Timeouts.FirstByte = firstByte
				c.Retry.Attempts = 1
			})
			ctx, cancel := context.WithTimeout(t.Context(), bound)
			defer cancel()
			start := time.Now()
			_, err := post(t, ctx, p, "x")
			if !errors.Is(err, ErrHeaderTimeout) {
				t.Fatalf("err = %v, want ErrHeaderTimeout", err)
			}
			if took := time.Since(start); took != firstByte {
				t.Errorf("cut after %v, want FirstByte (%v)", took, firstByte)
			}
			if p.Stats()[0].SlowUntil.IsZero() {
				t.Errorf("not marked slow, though the attempt waited past %v", slowFloor)
			}
		})
	})
	t.Run("slow headers, then a silent stream", func(t *testing.T) {
		runSync(t, func(t *testing.T, m mode) {
			const headersAfter = 1500 * time.Millisecond // past the slow mark, before FirstByte
			s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				time.Sleep(headersAfter)
				_, _ = io.WriteString(w, "data: 1\n\n")
				w.(http.Flusher).Flush()
				<-r.Context().Done() // then silence
			})
			p := newPool(t, s, func(c *Config) {
				c.Timeouts.FirstByte = firstByte
				c.Timeouts.StreamIdle = streamIdle
				c.Retry.Attempts = 1
			})
			ctx, cancel := context.WithTimeout(t.Context(), bound)
			defer cancel()
			resp, err := post(t, ctx, p, "x")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			buf := make([]byte, 64)
			if _, err := resp.Body.Read(buf); err != nil {
				t.Fatalf("first read: %v", err)
			}
			read := time.Now()
			_, err = io.ReadAll(resp.Body)
			if !errors.Is(err, ErrStreamIdle) {
				t.Fatalf("err = %v, want ErrStreamIdle", err)
			}
			if took := time.Since(read); took != streamIdle {
				t.Errorf("the silent stream was cut after %v, want StreamIdle (%v)", took, streamIdle)
			}
		})
	})
}
