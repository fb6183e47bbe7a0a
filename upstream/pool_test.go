// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// mode is how a test server speaks: plain HTTP/1.1, HTTP/1.1 over TLS, or
// HTTP/2 over TLS.
type mode string

const (
	h1    mode = "h1"
	h1tls mode = "h1tls"
	h2    mode = "h2"
)

// run runs f in every mode, as the stdlib's clientserver tests do.
func run(t *testing.T, f func(t *testing.T, m mode)) {
	for _, m := range []mode{h1, h1tls, h2} {
		t.Run(string(m), func(t *testing.T) { f(t, m) })
	}
}

// runSync runs f in every mode, each in its own testing/synctest bubble: a
// test of timers uses newMemServer, and waits on the bubble's clock.
func runSync(t *testing.T, f func(t *testing.T, m mode)) {
	for _, m := range []mode{h1, h1tls, h2} {
		t.Run(string(m), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { f(t, m) })
		})
	}
}

// server is an httptest server that counts accepted connections on the
// server side.
type server struct {
	*httptest.Server
	accepted atomic.Int64
	closed   atomic.Int64 // connections closed, on the server side
	// dial, when set, is how a pool reaches the server (Config.DialContext):
	// the server listens in memory or on a unix socket.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newServer(t *testing.T, m mode, h http.HandlerFunc) *server {
	t.Helper()
	return startServer(t, m, h, nil, nil)
}

// newMemServer is newServer on an in-memory listener (see memListener), for
// a test inside a testing/synctest bubble.
func newMemServer(t *testing.T, m mode, h http.HandlerFunc) *server {
	t.Helper()
	ln := newMemListener()
	return startServer(t, m, h, ln, ln.DialContext)
}

// startServer starts an httptest server in mode m, on ln when it is not
// nil (reached by dial), after mut, if any, set what else it needs.
func startServer(t *testing.T, m mode, h http.HandlerFunc, ln net.Listener, dial func(ctx context.Context, network, addr string) (net.Conn, error), mut ...func(*http.Server)) *server {
	t.Helper()
	s := &server{Server: httptest.NewUnstartedServer(h), dial: dial}
	if ln != nil {
		s.Listener.Close()
		s.Listener = ln
	}
	for _, f := range mut {
		f(s.Config)
	}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.accepted.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.closed.Add(1)
		}
	}
	switch m {
	case h2:
		s.EnableHTTP2 = true
		s.StartTLS()
	case h1tls:
		s.StartTLS()
	default:
		s.Start()
	}
	if ln != nil {
		// The dial ignores the address: the URL names a host the
		// certificate is for.
		s.URL = strings.SplitN(s.URL, "://", 2)[0] + "://127.0.0.1"
	}
	t.Cleanup(s.Close)
	return s
}

// clientTLS is the TLS configuration that trusts the server's certificate;
// nil for a plain-HTTP server.
func (s *server) clientTLS() *tls.Config {
	if s.TLS == nil {
		return nil
	}
	return s.Client().Transport.(*http.Transport).TLSClientConfig
}

func newPool(t *testing.T, s *server, mut func(*Config)) *Pool {
	t.Helper()
	return startPool(t, Config{Name: "test", BaseURL: s.URL + "/v1", DialContext: s.dial, TLS: s.clientTLS()}, mut)
}

// startPool is a pool of the one upstream c, after mut (if any) changed
// it, closed when the test ends.
func startPool(t *testing.T, c Config, mut func(*Config), opts ...Option) *Pool {
	t.Helper()
	if mut != nil {
		mut(&c)
	}
	p, err := New([]Config{c}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func post(t *testing.T, ctx context.Context, p *Pool, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return p.Do(req)
}

func okHandler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
}

// TestSequentialRequestsReuseOneConnection: requests one after another use
// one connection, in every mode. Nothing closes a connection here (no idle
// timeout, no age limit, the server keeps them), and the pool writes an
// HTTP/1.1 request and reads its answer in the caller's goroutine, so no
// write can be seen late (net/http's Transport closed a connection when the
// write of a request had not finished 50 ms after its answer was read: on
// a busy machine the next request then opened a replacement).
func TestSequentialRequestsReuseOneConnection(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s := newServer(t, m, okHandler)
		p := newPool(t, s, nil)
		for i := range 200 {
			resp, err := post(t, t.Context(), p, fmt.Sprint(i))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("POST /v1/chat/completions %d", i); string(b) != want {
				t.Fatalf("body = %q, want %q", b, want)
			}
			if m == h2 && resp.ProtoMajor != 2 {
				t.Fatalf("proto = %s, want HTTP/2", resp.Proto)
			}
		}
		st := p.Stats()[0]
		if got := s.accepted.Load(); st.Open != 1 || got != 1 || st.Closed != 0 {
			t.Errorf("server accepted %d connections, want 1, open and never closed; pool stats %+v", got, st)
		}
		if st.Opened != s.accepted.Load() || st.Reused != 200-st.Opened || st.Expired != 0 || st.ServerClosedIdle != 0 {
			t.Errorf("stats opened=%d reused=%d expired=%d server-closed=%d, want %d, %d, 0, 0", st.Opened, st.Reused, st.Expired, st.ServerClosedIdle, s.accepted.Load(), 200-s.accepted.Load())
		}
		if st.Active != 0 || st.Idle != 1 || st.InFlight != 0 {
			t.Errorf("stats active=%d idle=%d inflight=%d, want 0, 1, 0", st.Active, st.Idle, st.InFlight)
		}
	})
}

func TestConcurrentRequestsOpenAtMostConcurrency(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s := newServer(t, m, okHandler)
		p := newPool(t, s, nil)
		const conc, n = 32, 2000
		var wg sync.WaitGroup
		var next atomic.Int64
		for range conc {
			wg.Go(func() {
				for next.Add(1) <= n {
					resp, err := post(t, t.Context(), p, "x")
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		// Never more connections than the concurrency, and none closed
		// (see the test above).
		if st := p.Stats()[0]; st.Open > conc || s.accepted.Load() > conc || st.Closed != 0 || st.Expired != 0 || st.ServerClosedIdle != 0 {
			t.Errorf("server accepted %d connections for concurrency %d; pool stats %+v", s.accepted.Load(), conc, st)
		}
		// On HTTP/2 one connection carries them all: no handshake storm
		// when the first requests arrive together.
		if got := s.accepted.Load(); m == h2 && got != 1 {
			t.Errorf("HTTP/2: server accepted %d connections, want 1", got)
		}
		if st := p.Stats()[0]; st.Opened != s.accepted.Load() || st.OpenedH1+st.OpenedH2 != st.Opened || st.Reused != n-st.Opened {
			t.Errorf("pool stats disagree with the server's %d connections: %+v", s.accepted.Load(), st)
		}
	})
}

func TestRetryOnStatusThenSuccess(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var calls atomic.Int64
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if calls.Add(1) <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintf(w, "ok %s", b)
		})
		p := newPool(t, s, func(c *Config) { c.Retry.Base = time.Millisecond; c.Retry.Max = 2 * time.Millisecond })
		resp, err := post(t, t.Context(), p, "payload")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok payload" {
			t.Fatalf("body = %q: the body was not replayed", b)
		}
		if got := p.Stats()[0].Retries["status_5xx"]; got != 2 {
			t.Errorf("status_5xx retries = %d, want 2", got)
		}
	})
}

func TestNoRetryOnClientError(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var calls atomic.Int64
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			http.Error(w, `{"error":{"message":"bad"}}`, http.StatusBadRequest)
		})
		p := newPool(t, s, nil)
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || calls.Load() != 1 {
			t.Errorf("status %d after %d calls, want 400 after 1", resp.StatusCode, calls.Load())
		}
	})
}

func TestLastStatusPassesThroughWhenAttemptsRunOut(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, "slow down")
		})
		p := newPool(t, s, func(c *Config) { c.Retry.Base = time.Millisecond })
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 429 || string(b) != "slow down" {
			t.Errorf("got %d %q, want the upstream's 429 unchanged", resp.StatusCode, b)
		}
		if got := p.Stats()[0].Retries["status_429"]; got != 2 {
			t.Errorf("status_429 retries = %d, want 2", got)
		}
	})
}

func TestRetryAfterLongerThanDeadlineFailsAtOnce(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var calls atomic.Int64
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		})
		p := newPool(t, s, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start := time.Now()
		resp, err := post(t, ctx, p, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 || calls.Load() != 1 {
			t.Errorf("status %d after %d calls, want 429 after 1", resp.StatusCode, calls.Load())
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v: it should not wait for a Retry-After past the deadline", d)
		}
	})
}

func TestDialErrorFailsOverToNextUpstream(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s := newServer(t, m, okHandler)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		dead := "http://" + ln.Addr().String()
		ln.Close()
		p, err := New([]Config{
			{Name: "dead", BaseURL: dead, Priority: 0},
			{Name: "live", BaseURL: s.URL, Priority: 1, TLS: s.clientTLS()},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := ServedBy(resp); got != "live" {
			t.Errorf("served by %q, want live", got)
		}
		if got := p.Stats()[0].Retries["connect"]; got != 1 {
			t.Errorf("connect retries on dead = %d, want 1", got)
		}
	})
}

func TestDialErrorIsTyped(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	p, err := New([]Config{{Name: "dead", BaseURL: dead, Retry: RetryPolicy{Attempts: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = post(t, t.Context(), p, "x")
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindDial || ue.Upstream != "dead" {
		t.Fatalf("err = %v, want a KindDial *Error", err)
	}
}

// TestPoolExhaustionFailsAfterPoolWait: with MaxConns busy, a request waits
// PoolWait (on the bubble's clock) for a connection, then fails; over
// HTTP/2, with every connection at the server's stream limit.
func TestPoolExhaustionFailsAfterPoolWait(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		release := make(chan struct{})
		ln := newMemListener()
		// On HTTP/2 MaxConns caps connections, not streams: a server that
		// takes one stream per connection makes two slow requests fill the
		// pool there too.
		s := startServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, ln, ln.DialContext, func(hs *http.Server) { hs.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 1} })
		p := newPool(t, s, func(c *Config) {
			c.MaxConns = 2
			c.Timeouts.PoolWait = 200 * time.Millisecond
			c.Retry.Attempts = 1
		})
		var bodies []io.Closer
		for range 2 {
			resp, err := post(t, t.Context(), p, "slow")
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, resp.Body)
			if m == h2 && resp.ProtoMajor != 2 {
				t.Fatalf("proto = %s, want HTTP/2", resp.Proto)
			}
		}
		if got := s.accepted.Load(); got != 2 {
			t.Fatalf("server accepted %d connections, want MaxConns (2), each carrying one slow request", got)
		}
		start := time.Now()
		_, err := post(t, t.Context(), p, "third")
		waited := time.Since(start)
		close(release)
		for _, b := range bodies {
			b.Close()
		}
		if !errors.Is(err, ErrPoolExhausted) {
			t.Fatalf("third request: err = %v, want ErrPoolExhausted", err)
		}
		if waited != 200*time.Millisecond {
			t.Errorf("failed after %v, want the pool wait of 200ms", waited)
		}
		if got := p.Stats()[0].PoolExhausted; got != 1 {
			t.Errorf("pool_exhausted = %d, want 1", got)
		}
	})
}

func TestStreamIdleCutsSilentBody(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: 1\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		// Generous: a loaded CI box must not cut before the first event.
		p := newPool(t, s, func(c *Config) { c.Timeouts.StreamIdle = 500 * time.Millisecond })
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if !errors.Is(err, ErrStreamIdle) {
			t.Fatalf("read err = %v, want ErrStreamIdle", err)
		}
		if string(b) != "data: 1\n\n" {
			t.Errorf("got %q before the cut", b)
		}
	})
}

func TestFirstByteTimeout(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // an h1 server notices a gone client only after the body
			<-r.Context().Done()
		})
		p := newPool(t, s, func(c *Config) { c.Timeouts.FirstByte = 100 * time.Millisecond; c.Retry.Attempts = 1 })
		start := time.Now()
		resp, err := post(t, t.Context(), p, "x")
		if !errors.Is(err, ErrHeaderTimeout) {
			if resp != nil {
				info, _ := AttemptOf(resp)
				resp.Body.Close()
				t.Fatalf("after %v: status %d (%+v), want ErrHeaderTimeout", time.Since(start), resp.StatusCode, info)
			}
			t.Fatalf("err = %v, want ErrHeaderTimeout", err)
		}
	})
}

func TestCallerCancelIsNotRetried(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var calls atomic.Int64
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		})
		p := newPool(t, s, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := post(t, ctx, p, "x")
		var ue *Error
		if !errors.As(err, &ue) || ue.Kind != KindCanceled {
			t.Fatalf("err = %v, want KindCanceled", err)
		}
		if calls.Load() != 1 {
			t.Errorf("%d calls, want 1", calls.Load())
		}
	})
}

func TestAbsoluteURLFromSDK(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s := newServer(t, m, okHandler)
		p := newPool(t, s, nil)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/v1/embeddings?x=1", io.NopCloser(strings.NewReader("abc")))
		resp, err := p.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "POST /v1/embeddings abc" {
			t.Errorf("body = %q", b)
		}
	})
}

// TestEscapedPathStaysEscaped: a relative path with escapes (a model name
// holding a slash, path-escaped by the caller) reaches the upstream as the
// caller escaped it, under the base path, with its query.
func TestEscapedPathStaysEscaped(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s?%s", r.URL.EscapedPath(), r.URL.RawQuery)
		})
		p := newPool(t, s, nil)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader("{}"))
		req.URL.Path, req.URL.RawPath = "/models/a/../b:streamGenerateContent", "/models/a%2F..%2Fb:streamGenerateContent"
		req.URL.RawQuery = "alt=sse"
		resp, err := p.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := "/v1/models/a%2F..%2Fb:streamGenerateContent?alt=sse"; string(b) != want {
			t.Errorf("upstream got %q, want %q", b, want)
		}
	})
}

// TestPickPrefersTheLessLoadedOfTwo: with two upstreams of equal weight and
// one busy, power of two choices must always pick the idle one: its two
// candidates are distinct. Drawn with replacement, both draws land on the
// busy one a quarter of the time.
func TestPickPrefersTheLessLoadedOfTwo(t *testing.T) {
	p, err := New([]Config{{Name: "busy", BaseURL: "http://127.0.0.1:9"}, {Name: "idle", BaseURL: "http://127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	busy, idle := p.ups[0], p.ups[1]
	busy.inflight.Store(3)
	picked := map[string]int{}
	for range 2000 {
		picked[p.pick(nil, nil).Name()]++
	}
	if picked[idle.Name()] != 2000 {
		t.Errorf("picks %v: want every pick on the idle upstream", picked)
	}
}

// TestP2CDrawsTwoDistinctWeighted drives p2c with scripted random numbers:
// the second draw never repeats the first, and both are weighted.
func TestP2CDrawsTwoDistinctWeighted(t *testing.T) {
	mk := func(name string, weight int, inflight int64) *Upstream {
		u := &Upstream{cfg: Config{Name: name, Weight: weight}}
		u.inflight.Store(inflight)
		return u
	}
	tests := []struct {
		name  string
		ups   []*Upstream
		draws []int // what intn returns, in order
		want  string
		// totals are the n each intn call must get: the total weight of
		// the candidates left.
		totals []int
	}{
		{"always 0: the second draw is the other one", []*Upstream{mk("a", 1, 2), mk("b", 1, 0)}, []int{0, 0}, "b", []int{2, 1}},
		{"the first is busier", []*Upstream{mk("a", 1, 0), mk("b", 1, 5)}, []int{1, 0}, "a", []int{2, 1}},
		{"weights: the heavy one drawn first, then the light", []*Upstream{mk("a", 1, 1), mk("b", 3, 1), mk("c", 1, 9)}, []int{2, 0}, "b", []int{5, 2}},
		{"weights: score is per weight", []*Upstream{mk("a", 1, 2), mk("b", 4, 4)}, []int{0, 0}, "b", []int{5, 4}},
		{"last candidate by the second draw", []*Upstream{mk("a", 1, 3), mk("b", 1, 3), mk("c", 1, 0)}, []int{0, 1}, "c", []int{3, 2}},
		{"a tie keeps the first draw", []*Upstream{mk("a", 1, 0), mk("b", 1, 0)}, []int{1, 0}, "b", []int{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := 0
			intn := func(n int) int {
				if i >= len(tt.draws) {
					t.Fatalf("more than %d draws", len(tt.draws))
				}
				if n != tt.totals[i] {
					t.Errorf("draw %d over %d, want over %d", i, n, tt.totals[i])
				}
				i++
				return tt.draws[i-1]
			}
			if got := p2c(tt.ups, intn).Name(); got != tt.want {
				t.Errorf("p2c = %s, want %s", got, tt.want)
			}
			if i != 2 {
				t.Errorf("%d draws, want 2", i)
			}
		})
	}
}

// TestPrepareRunsOnEveryAttempt: the Prepare hook sees each attempt's own
// request (URL and headers set, the caller's request untouched) and an
// error from it fails the request without sending it.
func TestPrepareRunsOnEveryAttempt(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var calls atomic.Int64
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintf(w, "%s %s %s", r.URL.Path, r.Header.Get("X-Default"), r.Header.Get("X-Attempt"))
		})
		var prepared atomic.Int64
		p := newPool(t, s, func(c *Config) {
			c.Retry.Base, c.Retry.Max = time.Millisecond, 2*time.Millisecond
			c.Prepare = func(req *http.Request) error {
				n := prepared.Add(1)
				if req.Header.Get("X-Default") == "" {
					req.Header.Set("X-Default", "set")
				}
				req.Header.Set("X-Attempt", strconv.FormatInt(n, 10))
				if !strings.HasSuffix(req.URL.Path, "/v1/chat/completions") {
					return fmt.Errorf("URL %s lacks the base path", req.URL)
				}
				return nil
			}
		})
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "/chat/completions", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "/v1/chat/completions set 2" || prepared.Load() != 2 {
			t.Errorf("answer %q after %d Prepare calls, want \"/v1/chat/completions set 2\" after 2", b, prepared.Load())
		}
		if req.Header.Get("X-Default") != "" || req.Header.Get("X-Attempt") != "" {
			t.Errorf("Prepare changed the caller's request: %v", req.Header)
		}

		bad := newPool(t, s, func(c *Config) { c.Prepare = func(*http.Request) error { return errors.New("no credentials") } })
		before := calls.Load()
		_, err = post(t, t.Context(), bad, "x")
		var ue *Error
		if !errors.As(err, &ue) || ue.Kind != KindUnknown || !strings.Contains(err.Error(), "no credentials") {
			t.Errorf("error %v, want the hook's, as KindUnknown", err)
		}
		if calls.Load() != before {
			t.Error("a request whose Prepare failed was sent")
		}
	})
}
