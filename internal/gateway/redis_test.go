// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Shared state on a real Redis (started by the test on a free loopback
// port): limits shared by instances, Redis going down and coming back.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/internal/redistest"
	"github.com/warmgate/warmgate/upstream"
)

// sharedYAML is a gateway on mock m with Redis r and key "team" (env K).
func sharedYAML(t *testing.T, m *mock.Server, r *redistest.Server, redisExtra, keyExtra string) string {
	return defaultYAML(t, m) +
		fmt.Sprintf("redis: {url: %q%s}\n", r.URL(), redisExtra) +
		"keys:\n  - {name: team, key_env: K" + keyExtra + "}\n  - {name: free, key_env: F}\n" +
		"admin: {key_env: ADMIN_KEY}\n"
}

var sharedEnv = map[string]string{"K": "sk-team-0123456789", "F": "sk-free-0123456789", "ADMIN_KEY": limitEnv["ADMIN_KEY"]}

// TestSharedRPMAcrossInstances: two gateways share one Redis; a key with
// rpm 100 sends 300 requests split across both within a minute: between
// 100 and 105 succeed (the bucket refills 100/min while the test runs),
// the rest get 429 with Retry-After.
func TestSharedRPMAcrossInstances(t *testing.T) {
	r := redistest.Start(t)
	m := startMock(t, mock.Options{})
	yaml := sharedYAML(t, m, r, "", ", rpm: 100")
	gws := []*gw{startGateway(t, yaml, sharedEnv), startGateway(t, yaml, sharedEnv)}

	var ok, refused, other atomic.Int64
	var badRetry atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				g := gws[(w+i)%2]
				a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "Authorization", "Bearer "+sharedEnv["K"])
				switch a.status {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusTooManyRequests:
					refused.Add(1)
					if ra := a.header.Get("Retry-After"); ra == "" || ra == "0" {
						badRetry.Store(ra)
					}
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	t.Logf("300 requests in %v: %d ok, %d refused", took, ok.Load(), refused.Load())
	// The bucket refills 100 a minute: allow for what the test's own time added.
	maxOK := int64(105) + int64(took/(600*time.Millisecond))
	if n := ok.Load(); n < 100 || n > maxOK {
		t.Errorf("%d requests allowed across both instances, want 100..%d", n, maxOK)
	}
	if other.Load() != 0 {
		t.Errorf("%d answers neither 200 nor 429", other.Load())
	}
	if v := badRetry.Load(); v != nil {
		t.Errorf("a 429 without a useful Retry-After: %q", v)
	}
	// An instance alone would have let 100 through on each: the key was
	// refused on both.
	for i, g := range gws {
		if v := scrape(t, g, adminHdr()...)("warmgate_ratelimited_total", "key", "team", "limit", "rpm"); v == 0 {
			t.Errorf("instance %d refused nothing", i)
		}
	}
}

// TestRateLimitHeadersSharedThroughRedis: with Redis, the x-ratelimit-*
// headers tell a key's shared state: what the other instance took counts.
func TestRateLimitHeadersSharedThroughRedis(t *testing.T) {
	r := redistest.Start(t)
	m := startMock(t, mock.Options{})
	yaml := sharedYAML(t, m, r, "", ", rpm: 10, tpm: 100000")
	gws := []*gw{startGateway(t, yaml, sharedEnv), startGateway(t, yaml, sharedEnv)}
	for i, want := range []string{"9", "8", "7"} {
		a := gws[i%2].do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", i == 1), "Authorization", "Bearer "+sharedEnv["K"])
		if a.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, a.status, a.body)
		}
		if got := a.header.Get("x-ratelimit-remaining-requests"); got != want {
			t.Errorf("request %d (instance %d): x-ratelimit-remaining-requests = %q, want %s", i+1, i%2, got, want)
		}
		if a.header.Get("x-ratelimit-limit-tokens") != "100000" || a.header.Get("x-ratelimit-reset-tokens") == "" {
			t.Errorf("request %d: tokens headers %q %q", i+1, a.header.Get("x-ratelimit-limit-tokens"), a.header.Get("x-ratelimit-reset-tokens"))
		}
	}
	// The dashboard's data, on either instance, shows the shared use.
	for i, g := range gws {
		if r := keyLimitsOf(t, g)["team"]["rpm"]; r == nil || r.Used != 3 || r.Limit != 10 {
			t.Errorf("instance %d: team's rpm on the dashboard = %+v, want 3 of 10 used", i, r)
		}
	}
}

// readyState is /readyz's "state" detail, which needs the admin key.
func readyState(t *testing.T, g *gw) (int, map[string]any) {
	t.Helper()
	a := g.do(t, http.MethodGet, "/readyz", "", adminHdr()...)
	var body struct {
		State map[string]any `json:"state"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("/readyz: %v: %s", err, a.body)
	}
	return a.status, body.State
}

// TestRedisDownFailOpen: with Redis killed mid-run the gateway keeps
// serving limited keys (fail open), counts and shows the failure, and
// shares limits again once Redis is back, by itself.
func TestRedisDownFailOpen(t *testing.T) {
	r := redistest.Start(t)
	m := startMock(t, mock.Options{})
	g := startGateway(t, sharedYAML(t, m, r, ", timeout: 100ms", ", rpm: 1000"), sharedEnv)
	auth := []string{"Authorization", "Bearer " + sharedEnv["K"]}
	send := func() answer {
		return g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), auth...)
	}
	if a := send(); a.status != http.StatusOK {
		t.Fatalf("before: %d %s", a.status, a.body)
	}
	// On a loaded machine Redis may miss the 100 ms timeout once; the
	// gateway asks again after a short wait.
	eventually(t, 10*time.Second, "the Redis state up before it is stopped", func() bool {
		_, st := readyState(t, g)
		return st["backend"] == "redis" && st["ok"] == true
	})

	r.Stop()
	for i := range 20 {
		if a := send(); a.status != http.StatusOK {
			t.Fatalf("request %d with Redis down: %d %s, want 200 (fail open)", i, a.status, a.body)
		}
	}
	status, st := readyState(t, g)
	if st["ok"] != false || !strings.Contains(fmt.Sprint(st["error"]), "Redis") {
		t.Errorf("state with Redis down = %v", st)
	}
	if status != http.StatusOK {
		t.Errorf("/readyz = %d with Redis down, want 200: failing open, the gateway serves", status)
	}
	value := scrape(t, g, adminHdr()...)
	if v := value("warmgate_state_errors_total", "backend", "redis", "op", "limit"); v < 20 {
		t.Errorf("warmgate_state_errors_total{op=limit} = %v, want >= 20", v)
	}
	if v := value("warmgate_state_up", "backend", "redis"); v != 0 {
		t.Errorf("warmgate_state_up = %v with Redis down", v)
	}
	if !strings.Contains(g.logs.String(), "rate-limit state unavailable") {
		t.Error("no log line says the state is unavailable")
	}

	r.Restart(t)
	eventually(t, 10*time.Second, "limits shared through Redis again", func() bool {
		a := send()
		_, st := readyState(t, g)
		return a.status == http.StatusOK && st["ok"] == true && scrape(t, g, adminHdr()...)("warmgate_state_up", "backend", "redis") == 1
	})
}

// TestRedisDownFailClosed: with redis.fail_closed, a limited key is refused
// (503, limits_unavailable) while Redis is down and /readyz says not
// ready; a key without limits is still served.
func TestRedisDownFailClosed(t *testing.T) {
	r := redistest.Start(t)
	m := startMock(t, mock.Options{})
	g := startGateway(t, sharedYAML(t, m, r, ", fail_closed: true, timeout: 100ms", ", rpm: 1000"), sharedEnv)
	body := chatBody("gpt-4.1-mini", false)
	// On a loaded machine Redis may miss the 100 ms timeout once; the
	// gateway asks again after a short wait.
	eventually(t, 10*time.Second, "a limited key served while Redis is up", func() bool {
		return g.do(t, http.MethodPost, "/v1/chat/completions", body, "Authorization", "Bearer "+sharedEnv["K"]).status == http.StatusOK
	})
	r.Stop()
	a := g.do(t, http.MethodPost, "/v1/chat/completions", body, "Authorization", "Bearer "+sharedEnv["K"])
	checkError(t, a, http.StatusServiceUnavailable, "limits_unavailable", "retry")
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", body, "Authorization", "Bearer "+sharedEnv["F"]); a.status != http.StatusOK {
		t.Errorf("unlimited key with Redis down: %d %s", a.status, a.body)
	}
	if status, st := readyState(t, g); status != http.StatusServiceUnavailable || st["ok"] != false {
		t.Errorf("/readyz = %d %v, want 503 while failing closed", status, st)
	}
	r.Restart(t)
	eventually(t, 10*time.Second, "the limited key served again", func() bool {
		return g.do(t, http.MethodPost, "/v1/chat/completions", body, "Authorization", "Bearer "+sharedEnv["K"]).status == http.StatusOK
	})
}

// TestCircuitSharedThroughRedis: an upstream that instance A found dead
// (its circuit opened) is avoided by instance B, which never sent it a
// request, for the cooldown.
func TestCircuitSharedThroughRedis(t *testing.T) {
	r := redistest.Start(t)
	live := startMock(t, mock.Options{})
	yaml := "upstreams:\n" + upstreamYAML(t, "live", live, testModels, fastRetry) +
		fmt.Sprintf("  - name: dead\n    base_url: http://%s/v1\n    %s\n    %s\n    circuit: {failures: 2, cooldown: 30s}\n",
			closedAddr(t), testModels, fastRetry) +
		fmt.Sprintf("redis: {url: %q}\n", r.URL())
	a, b := startGateway(t, yaml, nil), startGateway(t, yaml, nil)
	body := chatBody("gpt-4.1-mini", false)
	for i := 0; upstreamStats(t, a, "dead").Circuit != upstream.CircuitOpen; i++ {
		if i == 50 {
			t.Fatal("A's circuit for the dead upstream never opened")
		}
		if ans := a.do(t, http.MethodPost, "/v1/chat/completions", body); ans.status != http.StatusOK {
			t.Fatalf("A: %d %s", ans.status, ans.body)
		}
	}
	if s := upstreamStats(t, b, "dead"); s.Requests != 0 {
		t.Fatalf("B already sent the dead upstream %d attempts", s.Requests)
	}
	eventually(t, 5*time.Second, "B avoids the upstream A found dead", func() bool {
		return upstreamStats(t, b, "dead").CooldownUntil.After(time.Now().Add(20 * time.Second))
	})
	for range 20 {
		if ans := b.do(t, http.MethodPost, "/v1/chat/completions", body); ans.status != http.StatusOK {
			t.Fatalf("B: %d %s", ans.status, ans.body)
		}
	}
	if s := upstreamStats(t, b, "dead"); s.Requests != 0 {
		t.Errorf("B sent the dead upstream %d attempts, want 0: A's open circuit was not shared", s.Requests)
	}
}

// redisProxy stands between the gateway and Redis and counts the
// connections the gateway opens. Down, it closes its connections and
// every new one at once: a Redis that refuses, without a timeout to wait
// for.
type redisProxy struct {
	ln       net.Listener
	target   string
	accepted atomic.Int64
	down     atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startRedisProxy(t *testing.T, target string) *redisProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &redisProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *redisProxy) url() string { return "redis://" + p.ln.Addr().String() + "/0" }

func (p *redisProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		if p.down.Load() {
			_ = c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.track(c, up)
		p.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

func (p *redisProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = true
	}
}

func (p *redisProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// setDown takes Redis away (closing the gateway's connections to it) or
// gives it back.
func (p *redisProxy) setDown(down bool) {
	p.down.Store(down)
	if down {
		p.closeAll()
	}
}

// TestRedisDownIsNotAskedEveryRequest: once a call to Redis failed, the
// gateway leaves Redis alone for a backoff (1 s, growing to 5 s), and
// judges the requests of limited keys meanwhile by its own buckets (fail
// open: the key's rpm still holds on this instance) or refuses them at once
// (fail closed). A Redis that fails at once is asked a bounded number of
// times, not once per request, counted by the connections the gateway
// opens to it. /readyz and the metrics say so; when Redis is back, the
// shared buckets are used again.
func TestRedisDownIsNotAskedEveryRequest(t *testing.T) {
	for _, failClosed := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail_closed=%t", failClosed), func(t *testing.T) {
			r := redistest.Start(t)
			p := startRedisProxy(t, r.Addr())
			m := startMock(t, mock.Options{})
			yaml := defaultYAML(t, m) +
				fmt.Sprintf("redis: {url: %q, timeout: 250ms, fail_closed: %t}\n", p.url(), failClosed) +
				"keys:\n  - {name: team, key_env: K, rpm: 5}\n  - {name: free, key_env: F}\n" +
				"admin: {key_env: ADMIN_KEY}\n"
			g := startGateway(t, yaml, sharedEnv)
			send := func() answer {
				return g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false),
					"Authorization", "Bearer "+sharedEnv["K"])
			}
			if a := send(); a.status != http.StatusOK { // one of the shared bucket's 5
				t.Fatalf("before: %d %s", a.status, a.body)
			}

			p.setDown(true)
			before, start := p.accepted.Load(), time.Now()
			const n = 30
			counts := map[int]int{}
			for range n {
				a := send()
				counts[a.status]++
				if a.status == http.StatusServiceUnavailable {
					checkError(t, a, http.StatusServiceUnavailable, "limits_unavailable", "retry")
				}
			}
			dials, elapsed := p.accepted.Load()-before, time.Since(start)
			t.Logf("%d requests with Redis down in %v: %v; %d connections to Redis", n, elapsed, counts, dials)
			// The first failure, then at most one probe per backoff (1 s at
			// least), by a request or the circuit loop.
			if limit := 2 + 2*int64(elapsed/time.Second); dials > limit {
				t.Errorf("%d connections to Redis for %d requests in %v, want at most %d: Redis is asked on every request", dials, n, elapsed, limit)
			}
			if failClosed {
				if counts[http.StatusServiceUnavailable] != n {
					t.Errorf("answers %v, want %d × 503 (fail closed)", counts, n)
				}
			} else if counts[http.StatusOK] != 5 || counts[http.StatusTooManyRequests] != n-5 {
				t.Errorf("answers %v, want 5 × 200 then 429s: the key's rpm (5) kept by the instance's own buckets", counts)
			}
			if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false),
				"Authorization", "Bearer "+sharedEnv["F"]); a.status != http.StatusOK {
				t.Errorf("a key without limits with Redis down: %d %s", a.status, a.body)
			}
			status, st := readyState(t, g)
			if st["ok"] != false || !strings.Contains(fmt.Sprint(st["error"]), "Redis") || (st["local_limits"] == true) == failClosed {
				t.Errorf("/readyz state with Redis down = %v", st)
			}
			if want := map[bool]int{false: 200, true: 503}[failClosed]; status != want {
				t.Errorf("/readyz = %d with Redis down, want %d", status, want)
			}
			value := scrape(t, g, adminHdr()...)
			if v := value("warmgate_state_up", "backend", "redis"); v != 0 {
				t.Errorf("warmgate_state_up = %v with Redis down", v)
			}
			if v := value("warmgate_state_errors_total", "backend", "redis", "op", "limit"); v < n {
				t.Errorf("warmgate_state_errors_total{op=limit} = %v, want >= %d (every request that could not ask Redis)", v, n)
			}

			p.setDown(false)
			eventually(t, 15*time.Second, "/readyz: Redis answers again", func() bool {
				_, st := readyState(t, g)
				return st["ok"] == true
			})
			if v := scrape(t, g, adminHdr()...)("warmgate_state_up", "backend", "redis"); v != 1 {
				t.Errorf("warmgate_state_up = %v after Redis came back", v)
			}
			// The shared bucket still has 4 of its 5; the instance's own
			// (fail open) was used up.
			if a := send(); a.status != http.StatusOK {
				t.Errorf("after Redis came back: %d %s, want 200 from the shared bucket", a.status, a.body)
			}
		})
	}
}
