// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"maps"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestClosedLoopCountsRequestsAndConnections(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mock      mock.Options
		http1     bool
		wantProto string
	}{
		{name: "plain", wantProto: "HTTP/1.1"},
		{name: "tls-h2", mock: mock.Options{TLS: true}, wantProto: "HTTP/2.0"},
		{name: "tls-http1", mock: mock.Options{TLS: true}, http1: true, wantProto: "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n, conc = 200, 4
			m := startMock(t, tc.mock)
			before := m.Stats()
			var calls, last atomic.Int64
			r, err := Run(t.Context(), Options{
				Target: m.URL() + "/v1", Requests: n, Concurrency: conc,
				RootCAs: m.CertPool(), HTTP1: tc.http1,
			}, func(done int) { calls.Add(1); last.Store(int64(done)) })
			if err != nil {
				t.Fatal(err)
			}
			if r.Requests != n || r.OK != n || r.Errors != 0 || r.Canceled != 0 || r.Interrupted {
				t.Errorf("requests %d ok %d errors %d canceled %d interrupted %v; want %d ok", r.Requests, r.OK, r.Errors, r.Canceled, r.Interrupted, n)
			}
			if !maps.Equal(r.Status, map[int]int{200: n}) {
				t.Errorf("status = %v, want {200:%d}", r.Status, n)
			}
			if !maps.Equal(r.Protocols, map[string]int{tc.wantProto: n}) {
				t.Errorf("protocols = %v, want {%s:%d}", r.Protocols, tc.wantProto, n)
			}
			if got := m.Stats().Requests - before.Requests; got != n {
				t.Errorf("mock saw %d requests, want %d", got, n)
			}
			if calls.Load() != n || last.Load() != n {
				t.Errorf("progress called %d times, last with %d; want %d, %d", calls.Load(), last.Load(), n, n)
			}
			if c := r.ClientNewConnections; c < 1 || c > conc {
				t.Errorf("client new connections = %d, want 1..%d", c, conc)
			}
			if r.Server == nil {
				t.Fatal("no server stats from /mock/stats")
			}
			if r.Server.ConnectionsAccepted != r.ClientNewConnections {
				t.Errorf("server accepted %d connections, client dialed %d", r.Server.ConnectionsAccepted, r.ClientNewConnections)
			}
			wantTLS := int64(0)
			if tc.mock.TLS {
				wantTLS = r.ClientNewConnections
			}
			if r.ClientTLSHandshakes != wantTLS || r.Server.TLSHandshakes != wantTLS {
				t.Errorf("TLS handshakes: client %d, server %d; want %d", r.ClientTLSHandshakes, r.Server.TLSHandshakes, wantTLS)
			}
			if r.Latency.Count != n || r.Latency.Min <= 0 || r.Latency.P50 < r.Latency.Min || r.Latency.Max < r.Latency.P999 {
				t.Errorf("latency summary = %+v", r.Latency)
			}
			if r.FirstChunk != nil {
				t.Errorf("first chunk = %+v for a non-streaming run", r.FirstChunk)
			}
			if r.Mode != "closed" || r.Concurrency != conc || r.ThroughputRPS <= 0 {
				t.Errorf("mode %q concurrency %d throughput %v", r.Mode, r.Concurrency, r.ThroughputRPS)
			}
		})
	}
}

func TestNoKeepAlivesOpensAConnectionPerRequest(t *testing.T) {
	const n = 20
	for _, tc := range []struct {
		name  string
		http1 bool
	}{{"http1", true}, {"h2", false}} {
		t.Run(tc.name, func(t *testing.T) {
			m := startMock(t, mock.Options{TLS: true})
			r := run(t, Options{Target: m.URL() + "/v1", Requests: n, Concurrency: 2, RootCAs: m.CertPool(),
				DisableKeepAlives: true, HTTP1: tc.http1})
			if r.OK != n || r.Server == nil {
				t.Fatalf("ok %d, server %+v; want %d and stats", r.OK, r.Server, n)
			}
			// Over HTTP/1 that is exactly one connection per request. Over
			// HTTP/2 net/http sometimes dials a spare when two requests race
			// for a single-use connection: still counted on both sides.
			c := r.ClientNewConnections
			if c < n || (tc.http1 && c != n) || c > n+n/2 {
				t.Errorf("new connections %d for %d requests", c, n)
			}
			if r.ClientTLSHandshakes != c || r.Server.ConnectionsAccepted != c {
				t.Errorf("client: %d connections, %d TLS handshakes; server: %d connections",
					c, r.ClientTLSHandshakes, r.Server.ConnectionsAccepted)
			}
		})
	}
}

func TestStreamMeasuresFirstChunk(t *testing.T) {
	const (
		n        = 20
		ttft     = 20 * time.Millisecond
		interval = 5 * time.Millisecond
		tokens   = 8
	)
	m := startMock(t, mock.Options{TTFT: ttft, TokenInterval: interval, Tokens: tokens})
	r := run(t, Options{Target: m.URL() + "/v1", Requests: n, Concurrency: 2, Stream: true})
	if r.OK != n {
		t.Fatalf("ok = %d, want %d (errors %v)", r.OK, n, r.ErrorsByClass)
	}
	if r.FirstChunk == nil || r.FirstChunk.Count != n {
		t.Fatalf("first chunk = %+v, want %d samples", r.FirstChunk, n)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	total := ttft + (tokens-1)*interval
	if r.FirstChunk.Min < ms(ttft) {
		t.Errorf("first chunk min %vms < TTFT %v", r.FirstChunk.Min, ttft)
	}
	if r.Latency.Min < ms(total) {
		t.Errorf("latency min %vms < TTFT + tokens %v", r.Latency.Min, total)
	}
	if r.FirstChunk.P50 >= r.Latency.P50-ms(interval) {
		t.Errorf("first chunk p50 %vms not well below total p50 %vms", r.FirstChunk.P50, r.Latency.P50)
	}
}

func TestOpenLoopSendsAtTheRate(t *testing.T) {
	const (
		rate = 200
		dur  = 500 * time.Millisecond
	)
	m := startMock(t, mock.Options{})
	r := run(t, Options{Target: m.URL() + "/v1", Rate: rate, Duration: dur})
	// Arrivals are at 0, 5ms, ... 495ms: exactly rate × duration.
	if got, want := r.Requests+r.Dropped, int(rate*dur/time.Second); got != want {
		t.Errorf("scheduled %d requests, want %d", got, want)
	}
	if r.OK < 90 || r.Dropped != 0 {
		t.Errorf("ok %d, dropped %d; want about 100, 0", r.OK, r.Dropped)
	}
	if r.DurationSeconds < 0.49 || r.DurationSeconds > 3 {
		t.Errorf("duration %vs, want about 0.5s", r.DurationSeconds)
	}
	if r.ThroughputRPS < rate/3 || r.ThroughputRPS > rate*1.5 {
		t.Errorf("throughput %v req/s, want about %d", r.ThroughputRPS, rate)
	}
	if r.Mode != "open" || r.RateRPS != rate || r.MaxInFlight != DefaultMaxInFlight || r.Concurrency != 0 {
		t.Errorf("mode %q rate %v max in flight %d concurrency %d", r.Mode, r.RateRPS, r.MaxInFlight, r.Concurrency)
	}
}

func TestOpenLoopLimitsInFlightAndDrops(t *testing.T) {
	const latency = 50 * time.Millisecond
	m := startMock(t, mock.Options{Latency: latency})
	// 100 arrivals/s for 0.5s, but only 2 in flight at 50ms each (40/s):
	// about 20 are sent and 30 dropped.
	r := run(t, Options{Target: m.URL() + "/v1", Rate: 100, Duration: 500 * time.Millisecond, MaxInFlight: 2})
	if r.Requests+r.Dropped != 50 {
		t.Errorf("requests %d + dropped %d, want 50 scheduled", r.Requests, r.Dropped)
	}
	if r.Dropped < 10 || r.OK < 5 || r.OK > 30 {
		t.Errorf("ok %d dropped %d; want about 20 and 30", r.OK, r.Dropped)
	}
	if r.Latency.Min < 50 {
		t.Errorf("latency min %vms < the mock's %v", r.Latency.Min, latency)
	}
}

func TestDurationStopsAClosedLoop(t *testing.T) {
	m := startMock(t, mock.Options{Latency: 10 * time.Millisecond})
	r := run(t, Options{Target: m.URL() + "/v1", Duration: 300 * time.Millisecond, Concurrency: 2})
	if r.Requests < 10 || r.Requests > 60 || r.OK != r.Requests {
		t.Errorf("requests %d ok %d; want about 60 in 300ms from 2 workers at 10ms", r.Requests, r.OK)
	}
	if r.DurationSeconds < 0.3 || r.DurationSeconds > 2 {
		t.Errorf("duration %vs, want just over 0.3s", r.DurationSeconds)
	}
}

func TestInterruptKeepsWhatWasMeasured(t *testing.T) {
	m := startMock(t, mock.Options{Latency: 20 * time.Millisecond, Fault: "ttft=10s,times=2"})
	// The first two requests hang; the others answer in 20ms.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := Run(ctx, Options{Target: m.URL() + "/v1", Requests: 1000, Concurrency: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("Run took %v after its context ended", time.Since(start))
	}
	if !r.Interrupted || r.Canceled < 2 || r.Requests == 0 || r.Errors != 0 || r.Requests >= 1000 {
		t.Errorf("interrupted %v canceled %d requests %d errors %d", r.Interrupted, r.Canceled, r.Requests, r.Errors)
	}
	if r.Server == nil || r.Server.ConnectionsAccepted != r.ClientNewConnections {
		t.Errorf("server stats %+v after an interrupted run, client dialed %d; want the same", r.Server, r.ClientNewConnections)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	closedPort := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		return "http://" + addr + "/v1"
	}
	for _, tc := range []struct {
		name    string
		mock    *mock.Options // nil: a closed port
		opts    Options
		class   string
		status  map[int]int
		trustCA bool
	}{
		{name: "connection refused", class: ClassConnectRefused, status: map[int]int{}},
		{name: "status 503 is a status", mock: &mock.Options{Fault: "status=503"}, status: map[int]int{503: 5}},
		{name: "stream reset after headers h1", mock: &mock.Options{Fault: "reset_after_chunks=0"},
			opts: Options{Stream: true}, class: ClassReset, status: map[int]int{}},
		{name: "stream reset after headers h2", mock: &mock.Options{TLS: true, Fault: "reset_after_chunks=0"},
			opts: Options{Stream: true}, trustCA: true, class: ClassReset, status: map[int]int{}},
		{name: "stream reset mid-stream h2", mock: &mock.Options{TLS: true, Fault: "reset_after_chunks=3"},
			opts: Options{Stream: true}, trustCA: true, class: ClassReset, status: map[int]int{}},
		{name: "body cut in half", mock: &mock.Options{Fault: "reset_after_chunks=1"}, class: ClassReset, status: map[int]int{}},
		{name: "timeout", mock: &mock.Options{Latency: 5 * time.Second},
			opts: Options{Timeout: 100 * time.Millisecond}, class: ClassTimeout, status: map[int]int{}},
		{name: "unknown CA", mock: &mock.Options{TLS: true}, class: ClassTLS, status: map[int]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 5
			o := tc.opts
			o.Requests, o.Concurrency = n, 1
			if tc.mock == nil {
				o.Target = closedPort(t)
			} else {
				m := startMock(t, *tc.mock)
				o.Target = m.URL() + "/v1"
				if tc.trustCA {
					o.RootCAs = m.CertPool()
				}
			}
			r := run(t, o)
			if r.Requests != n || r.OK != 0 {
				t.Errorf("requests %d ok %d, want %d, 0", r.Requests, r.OK, n)
			}
			if !maps.Equal(r.Status, tc.status) {
				t.Errorf("status = %v, want %v", r.Status, tc.status)
			}
			if tc.class == "" {
				if r.Errors != 0 || len(r.ErrorsByClass) != 0 {
					t.Errorf("errors %d %v, want none", r.Errors, r.ErrorsByClass)
				}
				return
			}
			ec := r.ErrorsByClass[tc.class]
			if r.Errors != n || ec.Count != n || len(r.ErrorsByClass) != 1 || ec.Example == "" {
				t.Errorf("errors %d by class %v, want %d of class %s with an example", r.Errors, r.ErrorsByClass, n, tc.class)
			}
		})
	}
}
