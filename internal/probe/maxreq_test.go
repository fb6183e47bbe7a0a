// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

type connCountKey struct{}

// cappedServer serves k requests per connection, then closes it: with
// "Connection: close" on the k-th answer when announce, else by closing the
// connection right after that answer without a word.
func cappedServer(t *testing.T, k int64, announce bool) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.Context().Value(connCountKey{}).(*atomic.Int64).Add(1)
		w.Header().Set("Content-Type", "application/json")
		if n < k {
			_, _ = w.Write([]byte(`{"object":"list","data":[]}`))
			return
		}
		if announce {
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte(`{"object":"list","data":[]}`))
			return
		}
		w.Header().Set("Content-Length", "27")
		_, _ = w.Write([]byte(`{"object":"list","data":[]}`))
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		conn, buf, err := rc.Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		_ = buf.Flush()
		_ = conn.Close()
	}))
	s.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connCountKey{}, new(atomic.Int64))
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestMaxRequestsPerConnection(t *testing.T) {
	tests := []struct {
		name      string
		k         int64
		announce  bool
		max       int
		wantLimit int
		wantSent  int
	}{
		{"announced", 7, true, 50, 7, 7},
		{"silent close", 5, false, 50, 5, 5},
		{"cap above the probe", 30, true, 10, 0, 10},
		{"every request", 1, true, 50, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cappedServer(t, tt.k, tt.announce)
			p, err := newProber(Options{URL: s.URL + "/v1", MaxRequests: tt.max})
			if err != nil {
				t.Fatal(err)
			}
			r := &Report{}
			if err := p.maxRequests(t.Context(), r); err != nil {
				t.Fatalf("maxRequests: %v", err)
			}
			got := r.MaxRequests
			if got.Limit != tt.wantLimit || got.Sent != tt.wantSent || (got.Limit > 0 && got.Announced != tt.announce) {
				t.Errorf("MaxRequests = %+v, want limit %d, sent %d, announced %v", got, tt.wantLimit, tt.wantSent, tt.announce)
			}
		})
	}
}

// Through Run: a server that closes after every request has no keep-alive,
// so the idle search is skipped and nothing is recommended.
func TestNoKeepAlive(t *testing.T) {
	s := cappedServer(t, 1, true)
	r := run(t, Options{URL: s.URL + "/v1", Samples: 3, IdleMax: 4 * time.Second})
	if r.KeepAlive || r.Warm.Reused != 0 {
		t.Fatalf("KeepAlive %v, reused %d: want none", r.KeepAlive, r.Warm.Reused)
	}
	if r.Idle.Skipped == "" || len(r.Idle.Probes) != 0 {
		t.Errorf("idle search ran on a server without keep-alive: %+v", r.Idle)
	}
	a := Recommend(r)
	if a.IdleTimeout != 0 || len(a.Recommendations) != 0 || len(a.Warnings) == 0 {
		t.Errorf("Advice = %+v, want no recommendations and a warning", a)
	}
}
