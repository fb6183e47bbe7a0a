// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"net/http"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/warmgate/warmgate/upstream"
)

// TestPrewarmConnectionsCounted checks that connections opened by warm-up
// are counted like the rest: the collector reads the pool's own counters,
// and the warm-up's handshakes reach the handshake histogram, while its
// request is no client's and counts in no request series.
func TestPrewarmConnectionsCounted(t *testing.T) {
	run(t, func(t *testing.T, mode string) {
		const n = 3
		m := New()
		s := newServer(t, mode, hello)
		p := newPool(t, m, s, func(c *upstream.Config) { c.Prewarm = 1 })
		p.Warm(t.Context())

		proto := "http/1.1"
		if mode == modeH2 {
			proto = "h2"
		}
		f := scrape(t, m)
		wantValue(t, f, 1, "warmgate_upstream_connections_opened_total", "upstream", "a", "proto", proto)
		wantValue(t, f, 0, "warmgate_upstream_requests_total", "upstream", "a") // warm-up is no client's request
		wantValue(t, f, 0, "warmgate_upstream_first_byte_seconds", "upstream", "a")
		wantValue(t, f, 1, "warmgate_upstream_handshake_seconds", "upstream", "a", "phase", "connect")
		tls := 0.0
		if mode != modeH1 {
			tls = 1
		}
		wantValue(t, f, tls, "warmgate_upstream_handshake_seconds", "upstream", "a", "phase", "tls")
		wantValue(t, f, 1, "warmgate_upstream_connections", "upstream", "a", "state", "idle")

		for range n {
			if _, err := get(t.Context(), p, "/chat/completions"); err != nil {
				t.Fatal(err)
			}
		}
		f = scrape(t, m)
		wantValue(t, f, float64(s.accepted.Load()), "warmgate_upstream_connections_opened_total", "upstream", "a", "proto", proto)
		wantValue(t, f, 1, "warmgate_upstream_connections_opened_total", "upstream", "a", "proto", proto)
		wantValue(t, f, n, "warmgate_upstream_connections_reused_total", "upstream", "a")
		st := p.Stats()[0]
		wantValue(t, f, float64(st.Reused), "warmgate_upstream_connections_reused_total", "upstream", "a")
		wantValue(t, f, float64(st.OpenedH1+st.OpenedH2), "warmgate_upstream_connections_opened_total", "upstream", "a", "proto", proto)
	})
}

// TestWatchPoolTwice checks that watching a pool again, or a view of it,
// does not duplicate its series (which would fail the scrape).
func TestWatchPoolTwice(t *testing.T) {
	m := New()
	sa := newServer(t, modeH1, hello)
	sb := newServer(t, modeH1, hello)
	p, err := upstream.New([]upstream.Config{
		{Name: "a", BaseURL: sa.URL},
		{Name: "b", BaseURL: sb.URL},
	}, upstream.WithObserver(m))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m.WatchPool(p.Only("b"))
	m.WatchPool(p)
	m.WatchPool(p)
	m.WatchPool(p.Only("a", "b"))
	if _, err := get(t.Context(), p.Only("b"), "/x"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Registry().Gather(); err != nil {
		t.Fatalf("Gather: %v", err)
	}
	f := scrape(t, m)
	if got := len(f["warmgate_upstream_in_flight"].GetMetric()); got != 2 {
		t.Errorf("%d in_flight series, want 2 (a and b once each)", got)
	}
	wantValue(t, f, 1, "warmgate_upstream_connections_opened_total", "upstream", "b", "proto", "http/1.1")
	wantValue(t, f, 0, "warmgate_upstream_connections_opened_total", "upstream", "a", "proto", "http/1.1")
	wantValue(t, f, 0, "warmgate_upstream_circuit_state", "upstream", "a")
	if find(f, "warmgate_upstream_circuit_state", "upstream", "a") == nil {
		t.Error("circuit_state{upstream=a} missing")
	}
}

// TestCircuitStateFollowsTheBreaker: the gauge reads the pool's breaker.
func TestCircuitStateFollowsTheBreaker(t *testing.T) {
	m := New()
	s := newServer(t, modeH1, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	p := newPool(t, m, s, func(c *upstream.Config) {
		c.Retry.Attempts = 1
		c.Breaker = upstream.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Minute}
	})
	for range 2 {
		if _, err := get(t.Context(), p, "/chat/completions"); err != nil {
			t.Fatal(err)
		}
	}
	wantValue(t, scrape(t, m), float64(upstream.CircuitOpen), "warmgate_upstream_circuit_state", "upstream", "a")
}

// TestConcurrentMatchesStats sends concurrent requests to a cold pool, which
// dials several connections, and checks that the scrape reports exactly the
// pool's counters.
func TestConcurrentMatchesStats(t *testing.T) {
	run(t, func(t *testing.T, mode string) {
		const n = 20
		m := New()
		s := newServer(t, mode, hello)
		p := newPool(t, m, s, nil)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := get(t.Context(), p, "/chat/completions"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// A dial may still finish after the requests returned: compare a
		// scrape with the pool's counters only when they did not move
		// around it.
		var st upstream.Stats
		var f map[string]*dto.MetricFamily
		for i := 0; ; i++ {
			before := p.Stats()[0]
			f = scrape(t, m)
			st = p.Stats()[0]
			if sameCounters(before, st) {
				break
			}
			if i == 100 {
				t.Fatal("the pool's counters never settled")
			}
			time.Sleep(10 * time.Millisecond)
		}
		wantValue(t, f, n, "warmgate_upstream_requests_total", "upstream", "a", "code", "200")
		wantValue(t, f, float64(st.Opened), "warmgate_upstream_connections_dialed_total", "upstream", "a")
		wantValue(t, f, float64(st.OpenedH1), "warmgate_upstream_connections_opened_total", "upstream", "a", "proto", "http/1.1")
		wantValue(t, f, float64(st.OpenedH2), "warmgate_upstream_connections_opened_total", "upstream", "a", "proto", "h2")
		wantValue(t, f, float64(st.Reused), "warmgate_upstream_connections_reused_total", "upstream", "a")
		wantValue(t, f, float64(st.Open), "warmgate_upstream_connections", "upstream", "a", "state", "idle")
		if st.Opened < 1 {
			t.Errorf("pool dialed %d connections, want at least 1", st.Opened)
		}
	})
}

// sameCounters compares the Stats fields that the collector reports.
func sameCounters(a, b upstream.Stats) bool {
	return a.Opened == b.Opened && a.OpenedH1 == b.OpenedH1 && a.OpenedH2 == b.OpenedH2 &&
		a.Reused == b.Reused && a.Open == b.Open && a.Active == b.Active && a.InFlight == b.InFlight
}
