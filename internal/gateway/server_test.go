// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// The running Server: health and readiness, warm connections kept alive
// under load, graceful shutdown.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestHealthz(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	a := g.do(t, http.MethodGet, "/healthz", "")
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `"ok"`) {
		t.Errorf("/healthz: %d %s", a.status, a.body)
	}
	checkRequestID(t, a.header, "")
}

// readyBody is /readyz's answer: the status, and the details when the
// request passed the admin check.
type readyBody struct {
	Status    string   `json:"status"`
	Reasons   []string `json:"reasons"`
	Upstreams []struct {
		Name    string `json:"name"`
		Ready   bool   `json:"ready"`
		Circuit string `json:"circuit"`
	} `json:"upstreams"`
}

// readyz returns /readyz's status code and body, and checks that they
// agree.
func readyz(t *testing.T, g *gw, hdr ...string) (int, readyBody) {
	t.Helper()
	a := g.do(t, http.MethodGet, "/readyz", "", hdr...)
	var body readyBody
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("/readyz body: %v: %s", err, a.body)
	}
	if want := map[int]string{http.StatusOK: "ready", http.StatusServiceUnavailable: "not ready"}[a.status]; body.Status != want {
		t.Errorf("/readyz: status %d with body %s", a.status, a.body)
	}
	return a.status, body
}

// TestReadyz: /readyz is the instance's readiness: 503 while the warm-up
// runs, 200 once it ended, whether or not the upstreams answered it (their
// health is in the details).
func TestReadyz(t *testing.T) {
	t.Run("no warm-up pending", func(t *testing.T) {
		m := startMock(t, mock.Options{})
		g := startGateway(t, defaultYAML(t, m), nil)
		if st, body := readyz(t, g); st != http.StatusOK || len(body.Upstreams) != 1 || body.Upstreams[0].Name != "mock" {
			t.Fatalf("/readyz = %d %+v, want 200 listing the upstream", st, body)
		}
	})
	t.Run("503 while warming up, 200 once done", func(t *testing.T) {
		// An upstream that accepts connections and never answers holds the
		// warm-up until its connections are closed.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var held []net.Conn
		accepted := make(chan struct{}, 16)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
				select {
				case accepted <- struct{}{}:
				default:
				}
			}
		}()
		release := func() {
			_ = ln.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range held {
				_ = c.Close()
			}
		}
		t.Cleanup(release)
		g := startGateway(t, fmt.Sprintf("upstreams:\n  - name: silent\n    base_url: http://%s/v1\n    retry: {attempts: 1}\n", ln.Addr()), nil)
		g.StartWarm(time.Minute)
		select {
		case <-accepted:
		case <-time.After(requestTimeout):
			t.Fatal("the warm-up did not connect to the upstream")
		}
		st, body := readyz(t, g)
		if st != http.StatusServiceUnavailable || len(body.Reasons) != 1 || !strings.Contains(body.Reasons[0], "warming up") {
			t.Fatalf("/readyz during the warm-up = %d %+v, want 503 saying it is warming up", st, body)
		}
		release() // the warm-up request fails: the warm-up is over
		eventually(t, requestTimeout, "/readyz 200 once the warm-up ended", func() bool {
			st, _ := readyz(t, g)
			return st == http.StatusOK
		})
		if _, body := readyz(t, g); body.Upstreams[0].Ready {
			t.Errorf("the upstream that failed its warm-up is shown ready: %+v", body)
		}
	})
	t.Run("a dead upstream does not make the instance unready", func(t *testing.T) {
		g := startGateway(t, fmt.Sprintf("upstreams:\n  - name: dead\n    base_url: http://%s/v1\n    retry: {attempts: 1}\n", closedAddr(t)), nil)
		ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
		defer cancel()
		g.Warm(ctx)
		st, body := readyz(t, g)
		if st != http.StatusOK || len(body.Upstreams) != 1 || body.Upstreams[0].Ready {
			t.Fatalf("/readyz with a dead upstream after Warm = %d %+v, want 200 with the upstream not ready", st, body)
		}
	})
}

// TestReadyzDetailsNeedAdminKey: with client keys, /readyz tells anyone
// only whether the instance is ready; the details (upstream names,
// counts, the state backend) need the admin key.
func TestReadyzDetailsNeedAdminKey(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+limitKeysYAML, limitEnv)
	for _, tt := range []struct {
		name    string
		hdr     []string
		details bool
	}{
		{"no key", nil, false},
		{"client key", bearerOf("KEY_PLAIN"), false},
		{"wrong admin key", []string{"Authorization", "Bearer sk-wg-not-the-admin-key"}, false},
		{"admin key", adminHdr(), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := g.do(t, http.MethodGet, "/readyz", "", tt.hdr...)
			if a.status != http.StatusOK {
				t.Fatalf("/readyz = %d %s", a.status, a.body)
			}
			bare := strings.TrimSpace(string(a.body)) == `{"status":"ready"}`
			if shows := strings.Contains(string(a.body), `"mock"`); tt.details != shows || tt.details == bare {
				t.Errorf("/readyz body %s; want details: %t", a.body, tt.details)
			}
		})
	}
}

// TestKeepAlive: requests through the gateway reuse warm upstream
// connections: 1,000 requests from 8 concurrent clients open at most 16
// connections at the mock (about 8 are needed; a gateway without
// keep-alive would open 1,000).
func TestKeepAlive(t *testing.T) {
	for _, tt := range []struct {
		mode     string
		opts     mock.Options
		requests int
	}{
		{mode: "h1", opts: mock.Options{}, requests: 1000},
		{mode: "tls-h2", opts: mock.Options{TLS: true}, requests: 300},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			m := startMock(t, tt.opts)
			g := startGateway(t, defaultYAML(t, m), nil)
			const workers = 8
			var wg sync.WaitGroup
			var mu sync.Mutex
			failed := 0
			for w := range workers {
				wg.Go(func() {
					for i := w; i < tt.requests; i += workers {
						if !keepAliveRequest(t, g, i) {
							mu.Lock()
							failed++
							mu.Unlock()
							return // one report per worker is enough
						}
					}
				})
			}
			wg.Wait()
			if failed > 0 {
				t.Fatalf("%d workers failed", failed)
			}
			ms, st := m.Stats(), g.stats(t)
			t.Logf("%d requests: mock accepted %d connections (%d TLS handshakes); pool opened %d (h1 %d, h2 %d), reused %d",
				tt.requests, ms.ConnectionsAccepted, ms.TLSHandshakes, st.Opened, st.OpenedH1, st.OpenedH2, st.Reused)
			if ms.Requests < int64(tt.requests) {
				t.Errorf("mock saw %d requests, want at least %d", ms.Requests, tt.requests)
			}
			if ms.ConnectionsAccepted > 16 {
				t.Errorf("mock accepted %d connections for %d requests at concurrency %d, want at most 16", ms.ConnectionsAccepted, tt.requests, workers)
			}
			if tt.opts.TLS && ms.TLSHandshakes > 16 {
				t.Errorf("mock did %d TLS handshakes, want at most 16", ms.TLSHandshakes)
			}
		})
	}
}

// keepAliveRequest sends request i (chat, every fifth one streamed) and
// reports whether it succeeded; it never calls t.Fatal (it runs on worker
// goroutines).
func keepAliveRequest(t *testing.T, g *gw, i int) bool {
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions",
		strings.NewReader(chatBody("gpt-4.1-mini", i%5 == 0)))
	if err != nil {
		t.Error(err)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.hc.Do(req)
	if err != nil {
		t.Errorf("request %d: %v", i, err)
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("request %d: reading: %v", i, err)
		return false
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("request %d: status %d: %s", i, resp.StatusCode, b)
		return false
	}
	return true
}

// TestGracefulShutdown: a stream in flight when Shutdown is called runs to
// its end, [DONE] included, while new connections are refused at once.
func TestGracefulShutdown(t *testing.T) {
	m := startMock(t, mock.Options{TokenInterval: 50 * time.Millisecond, Tokens: 20}) // ~1s
	g := startGateway(t, defaultYAML(t, m), nil)

	resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true))
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	events := 0
	_ = readEvents(body, func(sseEvent) bool { events++; return false })
	if events != 1 {
		t.Fatalf("read %d events before Shutdown, want 1", events)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- g.Shutdown(ctx)
	}()

	eventually(t, 2*time.Second, "new connections refused after Shutdown", func() bool {
		c, err := net.DialTimeout("tcp", g.Addr(), time.Second)
		if err == nil {
			_ = c.Close()
			return false
		}
		return true
	})
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a stream was in flight", err)
	default:
	}

	var last string
	err := readEvents(body, func(ev sseEvent) bool { events++; last = ev.data; return true })
	if err != nil {
		t.Fatalf("the stream in flight was cut by Shutdown after %d events: %v", events, err)
	}
	// role chunk + 20 tokens + finish chunk + [DONE]
	if events != 23 || last != "[DONE]" {
		t.Errorf("got %d events ending in %q, want 23 ending in [DONE]", events, last)
	}

	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the stream ended")
	}
	if c, err := net.DialTimeout("tcp", g.Addr(), time.Second); err == nil {
		_ = c.Close()
		t.Error("a new connection was accepted after Shutdown")
	}
}

// lastLogLine is the gateway's last log line, decoded.
func lastLogLine(t *testing.T, g *gw) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(g.logs.String()), "\n")
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
		t.Fatalf("last log line: %v: %s", err, lines[len(lines)-1])
	}
	return line
}

// TestShutdownDrainTimeout: a request still running when the drain timeout
// ends is cut, and its client is told why first: a stream ends with an
// OpenAI-shaped error event (never a fake [DONE]) before the connection is
// aborted, a request still waiting for its answer gets a 503. Shutdown
// returns in bounded time with an error, and the last log line says how
// many requests were cut.
func TestShutdownDrainTimeout(t *testing.T) {
	for _, stream := range []bool{true, false} {
		t.Run(map[bool]string{true: "stream", false: "non-stream"}[stream], func(t *testing.T) {
			// A stream of ~10s, or an answer after 10s.
			m := startMock(t, mock.Options{TokenInterval: 100 * time.Millisecond, Tokens: 100, Latency: 10 * time.Second})
			g := startGateway(t, defaultYAML(t, m)+"server: {drain_timeout: 300ms}\n", nil)

			var body *bufio.Reader
			answered := make(chan answer, 1) // the non-stream answer
			if stream {
				resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", stream))
				defer resp.Body.Close()
				body = bufio.NewReader(resp.Body)
				events := 0
				_ = readEvents(body, func(sseEvent) bool { events++; return false })
				if events != 1 {
					t.Fatalf("read %d events before Shutdown, want 1", events)
				}
			} else {
				go func() {
					resp, err := g.hc.Post(g.base+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("gpt-4.1-mini", false)))
					if err != nil {
						answered <- answer{body: []byte(err.Error())}
						return
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					answered <- answer{status: resp.StatusCode, header: resp.Header, body: b}
				}()
				eventually(t, requestTimeout, "the request reached the mock", func() bool { return m.Stats().Requests > 0 })
			}

			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := g.Shutdown(ctx)
			if err == nil || !strings.Contains(err.Error(), "1 request(s) in flight cut") {
				t.Errorf("Shutdown = %v, want an error saying one request was cut", err)
			}
			if stream {
				var last sseEvent
				sawDone := false
				err := readEvents(body, func(ev sseEvent) bool { last = ev; sawDone = sawDone || ev.data == "[DONE]"; return true })
				if err == nil || sawDone {
					t.Errorf("the cut stream ended with err=%v, [DONE]=%t; want an aborted stream without [DONE]", err, sawDone)
				}
				if last.name != "error" || !strings.Contains(last.data, `"code":"shutting_down"`) {
					t.Errorf("last event before the abort = %+v, want an error event with code shutting_down", last)
				}
			} else {
				select {
				case a := <-answered:
					checkError(t, a, http.StatusServiceUnavailable, "shutting_down", "shutting down", "send it again")
				case <-time.After(requestTimeout):
					t.Fatal("the request in flight got no answer after Shutdown")
				}
			}
			line := lastLogLine(t, g)
			if line["requests_cut"] != 1.0 || !strings.Contains(fmt.Sprint(line["msg"]), "drain timeout") {
				t.Errorf("last log line = %v, want one saying 1 request was cut at the drain timeout", line)
			}
			eventually(t, 3*time.Second, "upstream request canceled", func() bool { return m.Stats().ActiveConnections == 0 })
		})
	}
}

// TestShutdownPreStop: between BeginShutdown and Shutdown (serve's
// server.shutdown_delay after SIGTERM) /readyz answers 503 while new
// requests are still served; once every request has finished, the last
// log line says none was cut.
func TestShutdownPreStop(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	if st, _ := readyz(t, g); st != http.StatusOK {
		t.Fatalf("/readyz before = %d", st)
	}
	g.BeginShutdown()
	st, body := readyz(t, g)
	if st != http.StatusServiceUnavailable || len(body.Reasons) == 0 || !strings.Contains(body.Reasons[0], "shutting down") {
		t.Errorf("/readyz after BeginShutdown = %d %+v, want 503 saying it is shutting down", st, body)
	}
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != http.StatusOK {
		t.Errorf("a new request during the pre-stop delay: %d %s, want it served", a.status, a.body)
	}
	g.tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if line := lastLogLine(t, g); line["requests_cut"] != 0.0 || !strings.HasPrefix(fmt.Sprint(line["msg"]), "stopped") {
		t.Errorf("last log line = %v, want one saying no request was cut", line)
	}
}

// TestShutdownHurried: when Shutdown's context ends during the drain (a
// second signal), the requests in flight are cut at once, long before the
// drain timeout, and the last log line says why.
func TestShutdownHurried(t *testing.T) {
	m := startMock(t, mock.Options{TokenInterval: 100 * time.Millisecond, Tokens: 1000}) // ~100s
	g := startGateway(t, defaultYAML(t, m)+"server: {drain_timeout: 5m}\n", nil)
	resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true))
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	_ = readEvents(body, func(sseEvent) bool { return false })

	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Shutdown(ctx) }()
	eventually(t, requestTimeout, "new connections refused", func() bool {
		c, err := net.DialTimeout("tcp", g.Addr(), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	})
	cancel(errors.New("a second signal"))
	select {
	case err := <-done:
		if err == nil {
			t.Error("Shutdown = nil, want an error: a stream was cut")
		}
	case <-time.After(requestTimeout):
		t.Fatal("Shutdown did not return after its context ended")
	}
	if err := readEvents(body, func(sseEvent) bool { return true }); err == nil {
		t.Error("the stream ended cleanly, want it cut")
	}
	if line := lastLogLine(t, g); line["requests_cut"] != 1.0 || line["why"] != "a second signal" {
		t.Errorf("last log line = %v, want one saying 1 request was cut because of a second signal", line)
	}
}

// TestStartupWarnings: what saves an evening is said once at start: an
// upstream whose warm-up GET /models answered 404 (a base_url without
// /v1), and an upstream without a key of its own, to which clients' own
// keys are passed through.
func TestStartupWarnings(t *testing.T) {
	m := startMock(t, mock.Options{})
	const noV1, passThrough = "base_url probably lacks /v1: try base_url: ", "own Authorization header is passed through"
	for _, tt := range []struct {
		name     string
		yaml     string
		env      map[string]string
		warns    []string // each once
		notWarns []string
	}{
		{"base_url without /v1", fmt.Sprintf("upstreams:\n  - {name: nov1, base_url: %q, api_key_env: K}\n", m.URL()), map[string]string{"K": "sk-k"},
			[]string{noV1 + m.URL() + "/v1"}, []string{passThrough}},
		{"base_url with /v1", fmt.Sprintf("upstreams:\n  - {name: v1, base_url: %q, api_key_env: K}\n", m.URL()+"/v1"), map[string]string{"K": "sk-k"},
			nil, []string{noV1, passThrough}},
		{"no upstream key, no client keys", fmt.Sprintf("upstreams:\n  - {name: open, base_url: %q}\n", m.URL()+"/v1"), nil,
			[]string{passThrough}, []string{noV1}},
		{"no upstream key, client keys", fmt.Sprintf("upstreams:\n  - {name: keyless, base_url: %q}\n", m.URL()+"/v1") + limitKeysYAML, limitEnv,
			nil, []string{passThrough}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := startGateway(t, tt.yaml, tt.env)
			ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
			defer cancel()
			g.Warm(ctx)
			logs := g.logs.String()
			for _, w := range tt.warns {
				if n := strings.Count(logs, w); n != 1 {
					t.Errorf("the log says %q %d times, want once:\n%s", w, n, logs)
				}
			}
			for _, w := range tt.notWarns {
				if strings.Contains(logs, w) {
					t.Errorf("the log says %q:\n%s", w, logs)
				}
			}
		})
	}
}
