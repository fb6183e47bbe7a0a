// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/warmgate/warmgate/internal/netem"
	"github.com/warmgate/warmgate/upstream"
)

// Keep-alive scenario settings, each with its reason.
const (
	// keepAliveConcurrency is the number of concurrent callers: enough
	// that a warm HTTP/1.1 pool would need that many connections, few
	// enough that the naive client's handshakes do not queue at the mock.
	keepAliveConcurrency = 16
	// keepAliveTimeout bounds one request: a naive request at 200 ms RTT
	// takes 600 ms.
	keepAliveTimeout = 30 * time.Second
)

// The seed's claim for keep-alive against a new connection per request:
// 150-300 ms saved per request, and 3-4× the throughput.
const (
	claimSavedMinMs, claimSavedMaxMs = 150, 300
	claimSpeedupMin, claimSpeedupMax = 3, 4
	// The seed's "about 40% of compute goes to setting up connections",
	// read as the upstream's (the mock's) CPU.
	claimSetupCPUPercent = 40
)

// The keep-alive scenario's clients.
const (
	clientNaive   = "naive (new TLS connection per request)"
	clientPool    = "warm upstream.Pool, in process"
	clientGateway = "through warmgate"
)

// KeepAliveReport compares a client that opens a new TLS connection per
// request with warm clients, across emulated network distances.
type KeepAliveReport struct {
	// Requests and Concurrency of every run.
	Requests    int `json:"requests"`
	Concurrency int `json:"concurrency"`
	// Protocols is what the TLS mock offers by ALPN.
	Protocols string `json:"protocols"`
	// RTTs holds the runs at each emulated round-trip time.
	RTTs []RTTResult `json:"rtts"`
	// Checks compare the runs with the targets.
	Checks []Check `json:"checks"`
}

// RTTResult is the three clients at one round-trip time.
type RTTResult struct {
	RTTMs float64        `json:"rtt_ms"`
	Runs  []KeepAliveRun `json:"runs"`
	// SavedP50Ms is the naive client's p50 minus the gateway's.
	SavedP50Ms float64 `json:"saved_p50_ms"`
	// LatencyRatio is the naive client's p50 over the gateway's.
	LatencyRatio float64 `json:"latency_ratio"`
	// ThroughputRatio is the gateway's throughput over the naive client's
	// (same concurrency, closed loop).
	ThroughputRatio float64 `json:"throughput_ratio"`
	// HopPercent is what the gateway's own hop adds to the warm in-process
	// pool's p50, in percent.
	HopPercent float64 `json:"hop_percent"`
	// SetupCPUPercent is the share of the mock's CPU per naive request
	// that warm connections through the gateway save: the naive client's
	// mock CPU per request minus the gateway's, over the naive client's,
	// in percent; what setting up connections costs the upstream, beside
	// the seed's "about 40% of compute". 0 when not measured.
	SetupCPUPercent float64 `json:"setup_cpu_percent,omitempty"`
	// SavedInClaim and SpeedupInClaim say whether SavedP50Ms and
	// ThroughputRatio fall in the seed's claimed ranges.
	SavedInClaim   bool `json:"saved_in_claim"`
	SpeedupInClaim bool `json:"speedup_in_claim"`
}

// KeepAliveRun is one client at one RTT.
type KeepAliveRun struct {
	Client string  `json:"client"`
	Result *Result `json:"result"`
	// HandshakesPer1k and ConnectionsPer1k are counted by the mock.
	HandshakesPer1k  float64 `json:"handshakes_per_1k"`
	ConnectionsPer1k float64 `json:"connections_per_1k"`
	// MockCPUMicrosPerRequest is the mock process's CPU time over the run
	// (all its threads, from /proc, in nanoseconds) per request: TLS
	// handshakes included for the naive client. 0 when not measured.
	MockCPUMicrosPerRequest float64 `json:"mock_cpu_us_per_request,omitempty"`
}

// keepAlive runs the keep-alive scenario: a TLS mock behind one netem
// relay per RTT; the naive client and the in-process pool reach the mock
// through the relay, and the gateway (next to the client, on loopback)
// reaches it through the same relay.
func (e *suiteEnv) keepAlive(ctx context.Context) (*KeepAliveReport, error) {
	ca := filepath.Join(e.tmp, "keepalive-ca.pem")
	mock, mockOrigin, err := e.startMock(ctx, "keepalive-mock", ca)
	if err != nil {
		return nil, err
	}
	defer mock.stop()
	roots, err := e.trust(ca)
	if err != nil {
		return nil, err
	}
	mu, _ := url.Parse(mockOrigin)

	type leg struct {
		rtt   time.Duration
		model string
		relay *netem.Relay
	}
	var legs []leg
	defer func() {
		for _, l := range legs {
			_ = l.relay.Close()
		}
	}()
	var ups []gatewayUpstream
	for _, rtt := range e.o.RTTs {
		rl, err := netem.Listen("127.0.0.1:0", mu.Host, rtt)
		if err != nil {
			return nil, err
		}
		l := leg{rtt: rtt, model: "rtt-" + rtt.String(), relay: rl}
		legs = append(legs, l)
		ups = append(ups, gatewayUpstream{name: l.model, baseURL: "https://" + rl.Addr() + "/v1", model: l.model, caFile: ca})
	}
	gw, gwOrigin, err := e.startGateway(ctx, "keepalive-gateway", ups...)
	if err != nil {
		return nil, err
	}
	defer gw.stop()

	r := &KeepAliveReport{Requests: e.o.KeepAliveRequests, Concurrency: keepAliveConcurrency, Protocols: "HTTP/1.1 and HTTP/2 by ALPN"}
	for _, l := range legs {
		rr, err := e.keepAliveAt(ctx, l.rtt, l.model, "https://"+l.relay.Addr()+"/v1", gwOrigin+"/v1", mock, mockOrigin, roots)
		if len(rr.Runs) > 0 {
			r.RTTs = append(r.RTTs, rr)
		}
		if err != nil {
			return r, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	r.Checks = r.checks()
	return r, ctx.Err()
}

// keepAliveAt runs the three clients at one RTT: the naive one and the
// in-process pool to relayed (the mock behind the relay), and the gateway
// at gateway, whose upstream for model is the same relay. The mock
// process's CPU is metered over each run.
func (e *suiteEnv) keepAliveAt(ctx context.Context, rtt time.Duration, model, relayed, gateway string, mock *proc, mockOrigin string, roots *x509.CertPool) (RTTResult, error) {
	rr := RTTResult{RTTMs: ms(rtt)}
	base := Options{
		Target:      relayed,
		Model:       model,
		Requests:    e.o.KeepAliveRequests,
		Duration:    e.o.Duration,
		Concurrency: keepAliveConcurrency,
		Timeout:     keepAliveTimeout,
		RootCAs:     roots,
		StatsURL:    mockOrigin + "/mock/stats",
	}
	clients := []struct {
		name string
		run  func() (*Result, error)
	}{
		{clientNaive, func() (*Result, error) {
			// HTTP/1.1, as most simple clients speak; over HTTP/2 the Go
			// client races extra dials for concurrent requests and would
			// count more handshakes than requests.
			o := base
			o.DisableKeepAlives, o.HTTP1 = true, true
			return Run(ctx, o, nil)
		}},
		{clientPool, func() (*Result, error) {
			pool, err := upstream.New([]upstream.Config{{Name: model, BaseURL: relayed, TLS: &tls.Config{RootCAs: roots}}})
			if err != nil {
				return nil, err
			}
			defer pool.Close()
			// Warm, as the gateway is when /readyz says so: two warm
			// clients, the gateway's hop being the difference.
			pool.Warm(ctx)
			return runThrough(ctx, base, pool)
		}},
		{clientGateway, func() (*Result, error) {
			o := base
			o.Target = gateway
			return Run(ctx, o, nil)
		}},
	}
	for _, c := range clients {
		cpu0, ok0 := threadsCPU(mock.pid())
		res, err := c.run()
		if err != nil {
			return rr, err
		}
		if ctx.Err() != nil && res.Requests == 0 {
			return rr, nil // interrupted before it measured anything
		}
		mockCPU := 0.0
		if cpu1, ok1 := threadsCPU(mock.pid()); ok0 && ok1 && res.Requests > 0 {
			mockCPU = float64(cpu1-cpu0) / float64(time.Microsecond) / float64(res.Requests)
		}
		rr.Runs = append(rr.Runs, e.keepAliveRun(rtt, c.name, res, mockCPU))
		if ctx.Err() != nil {
			return rr, nil
		}
	}
	rr.compare()
	e.logf("keepalive rtt %-6v saved p50 %s (claim %d-%d ms: %s), throughput ×%.2f (claim %d-%d×: %s), gateway hop %+.1f%%, mock CPU saved %.0f%% (claim: about %d%%)",
		rtt, fmtMs(rr.SavedP50Ms), claimSavedMinMs, claimSavedMaxMs, yesNo(rr.SavedInClaim),
		rr.ThroughputRatio, claimSpeedupMin, claimSpeedupMax, yesNo(rr.SpeedupInClaim), rr.HopPercent,
		rr.SetupCPUPercent, claimSetupCPUPercent)
	return rr, nil
}

func (e *suiteEnv) keepAliveRun(rtt time.Duration, client string, res *Result, mockCPU float64) KeepAliveRun {
	kr := KeepAliveRun{Client: client, Result: res, MockCPUMicrosPerRequest: mockCPU}
	if res.Server != nil && res.Requests > 0 {
		kr.HandshakesPer1k = float64(res.Server.TLSHandshakes) * 1000 / float64(res.Requests)
		kr.ConnectionsPer1k = float64(res.Server.ConnectionsAccepted) * 1000 / float64(res.Requests)
	}
	e.logf("keepalive rtt %-6v %-40s %6.1f req/s  p50 %-9s p99 %-9s handshakes/1k %-6.1f mock CPU %4.0f µs/req %s",
		rtt, client, res.ThroughputRPS, fmtMs(res.Latency.P50), fmtMs(res.Latency.P99), kr.HandshakesPer1k, mockCPU, problems(res))
	return kr
}

// compare fills in the naive-versus-gateway figures.
func (rr *RTTResult) compare() {
	var naive, pool, gw *Result
	var naiveRun, gwRun KeepAliveRun
	for _, run := range rr.Runs {
		switch run.Client {
		case clientNaive:
			naive, naiveRun = run.Result, run
		case clientPool:
			pool = run.Result
		case clientGateway:
			gw, gwRun = run.Result, run
		}
	}
	if naive == nil || gw == nil || gw.Latency.P50 <= 0 || naive.ThroughputRPS <= 0 {
		return
	}
	rr.SavedP50Ms = naive.Latency.P50 - gw.Latency.P50
	rr.LatencyRatio = naive.Latency.P50 / gw.Latency.P50
	rr.ThroughputRatio = gw.ThroughputRPS / naive.ThroughputRPS
	if pool != nil && pool.Latency.P50 > 0 {
		rr.HopPercent = (gw.Latency.P50 - pool.Latency.P50) / pool.Latency.P50 * 100
	}
	if n, w := naiveRun.MockCPUMicrosPerRequest, gwRun.MockCPUMicrosPerRequest; n > 0 && w > 0 {
		rr.SetupCPUPercent = (n - w) / n * 100
	}
	rr.SavedInClaim = rr.SavedP50Ms >= claimSavedMinMs && rr.SavedP50Ms <= claimSavedMaxMs
	rr.SpeedupInClaim = rr.ThroughputRatio >= claimSpeedupMin && rr.ThroughputRatio <= claimSpeedupMax
}

// checks compares the runs with the targets: no more handshakes
// than the concurrency for the warm clients, and at 50 ms RTT a p50 through
// the gateway 2.5× lower than the naive client's, its hop adding < 1%.
func (r *KeepAliveReport) checks() []Check {
	var cs []Check
	for _, rr := range r.RTTs {
		for _, run := range rr.Runs {
			if run.Client == clientNaive || run.Result.Server == nil {
				continue
			}
			cs = append(cs, Check{
				Name: fmt.Sprintf("TLS handshakes in %d requests at %v RTT, %s",
					run.Result.Requests, msDuration(rr.RTTMs), run.Client),
				Measured: fmt.Sprint(run.Result.Server.TLSHandshakes),
				Goal:     fmt.Sprintf("≤ %d (the concurrency), not the request count", r.Concurrency),
				Met:      run.Result.Server.TLSHandshakes <= int64(r.Concurrency),
			})
		}
		if rr.RTTMs == 50 && rr.LatencyRatio > 0 {
			cs = append(cs,
				Check{
					Name:     "p50 naive ÷ p50 through warmgate at 50 ms RTT",
					Measured: fmt.Sprintf("%.2f×", rr.LatencyRatio),
					Goal:     "≥ 2.5×", Met: rr.LatencyRatio >= 2.5,
				},
				Check{
					Name:     "warmgate's hop over the warm in-process pool at 50 ms RTT (p50)",
					Measured: fmt.Sprintf("%+.2f%%", rr.HopPercent),
					Goal:     "< 1%", Met: rr.HopPercent < 1,
				})
		}
	}
	return cs
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func msDuration(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
