package gateway_test

// The running Server: health and readiness, warm connections kept alive
// under load, graceful shutdown.

import (
	"bufio"
	"context"
	"encoding/json"
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

// readyz returns /readyz's status and its "ready" field.
func readyz(t *testing.T, g *gw) (int, bool) {
	t.Helper()
	a := g.do(t, http.MethodGet, "/readyz", "")
	var body struct {
		Ready     *bool `json:"ready"`
		Upstreams []struct {
			Name  string `json:"name"`
			Ready bool   `json:"ready"`
		} `json:"upstreams"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil || body.Ready == nil {
		t.Fatalf("/readyz body: %v: %s", err, a.body)
	}
	if (a.status == http.StatusOK) != *body.Ready {
		t.Errorf("/readyz: status %d but ready=%t", a.status, *body.Ready)
	}
	return a.status, *body.Ready
}

func TestReadyz(t *testing.T) {
	t.Run("after Warm", func(t *testing.T) {
		m := startMock(t, mock.Options{})
		g := startGateway(t, defaultYAML(t, m), nil)
		if st, _ := readyz(t, g); st != http.StatusServiceUnavailable {
			t.Fatalf("/readyz before warm-up = %d, want 503", st)
		}
		ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
		defer cancel()
		g.Warm(ctx)
		if st, _ := readyz(t, g); st != http.StatusOK {
			t.Fatalf("/readyz after Warm = %d, want 200", st)
		}
		if n := m.Stats().ConnectionsAccepted; n == 0 {
			t.Error("Warm opened no connection to the mock")
		}
	})
	t.Run("after one request", func(t *testing.T) {
		m := startMock(t, mock.Options{})
		g := startGateway(t, defaultYAML(t, m), nil)
		if st, _ := readyz(t, g); st != http.StatusServiceUnavailable {
			t.Fatalf("/readyz before any request = %d, want 503", st)
		}
		if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != http.StatusOK {
			t.Fatalf("chat: %d %s", a.status, a.body)
		}
		if st, _ := readyz(t, g); st != http.StatusOK {
			t.Fatalf("/readyz after a request = %d, want 200", st)
		}
	})
	t.Run("dead upstream stays unready", func(t *testing.T) {
		g := startGateway(t, fmt.Sprintf("upstreams:\n  - name: dead\n    base_url: http://%s/v1\n    retry: {attempts: 1}\n", closedAddr(t)), nil)
		ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
		defer cancel()
		g.Warm(ctx)
		if st, _ := readyz(t, g); st != http.StatusServiceUnavailable {
			t.Fatalf("/readyz with a dead upstream after Warm = %d, want 503", st)
		}
	})
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

// TestShutdownDrainTimeout: a stream still running when the drain timeout
// ends is cut (never completed with a fake [DONE]), and Shutdown returns
// in bounded time with an error saying so.
func TestShutdownDrainTimeout(t *testing.T) {
	m := startMock(t, mock.Options{TokenInterval: 100 * time.Millisecond, Tokens: 100}) // ~10s
	g := startGateway(t, defaultYAML(t, m)+"server: {drain_timeout: 300ms}\n", nil)

	resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true))
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	events := 0
	_ = readEvents(body, func(sseEvent) bool { events++; return false })

	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err == nil {
		t.Error("Shutdown = nil, want an error: a stream was cut at the drain timeout")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v with a 300ms drain timeout", d)
	}
	sawDone := false
	err := readEvents(body, func(ev sseEvent) bool { sawDone = sawDone || ev.data == "[DONE]"; return true })
	if err == nil || sawDone {
		t.Errorf("the cut stream ended with err=%v, [DONE]=%t; want an aborted stream without [DONE]", err, sawDone)
	}
	eventually(t, 3*time.Second, "upstream stream canceled", func() bool { return m.Stats().ActiveConnections == 0 })
}
