// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start runs a mock on a free loopback port for the test's lifetime.
func start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Start(o, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// call sends one request and reads the whole answer. hdr is name, value pairs.
func call(t *testing.T, c *http.Client, method, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	resp, err := send(t.Context(), c, method, url, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, b
}

func send(ctx context.Context, c *http.Client, method, url, body string, hdr ...string) (*http.Response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.Do(req)
}

const chatBody = `{"model":"gpt-4.1","messages":[{"role":"user","content":"Say hello to the mock upstream."}]}`

func streamBody(includeUsage bool) string {
	if includeUsage {
		return `{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	}
	return `{"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":"hi"}]}`
}

// sseEvent is one "data:" payload and when it arrived, since the request.
type sseEvent struct {
	data string
	at   time.Duration
}

// readEvents reads data events until the body ends; err is nil only for a
// clean end.
func readEvents(body io.Reader, t0 time.Time) ([]sseEvent, error) {
	br := bufio.NewReader(body)
	var evs []sseEvent
	for {
		line, err := br.ReadString('\n')
		if data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: "); ok && err == nil {
			evs = append(evs, sseEvent{data: data, at: time.Since(t0)})
		}
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
	}
}

// eventually polls cond for up to 5s (generous: CI machines are loaded).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func statsOver(t *testing.T, c *http.Client, s *Server) Stats {
	t.Helper()
	resp, b := call(t, c, http.MethodGet, s.URL()+"/mock/stats", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/mock/stats: %d %s", resp.StatusCode, b)
	}
	var st Stats
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("/mock/stats: %v: %s", err, b)
	}
	return st
}

func TestStatsKeepAliveOneConnection(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	c := s.Client()
	for range 5 {
		resp, b := call(t, c, http.MethodPost, s.URL()+"/v1/chat/completions", chatBody)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		if got := resp.Header.Get("X-Mock-Conn-Id"); got != "1" {
			t.Errorf("X-Mock-Conn-Id = %q, want 1 (one kept-alive connection)", got)
		}
	}
	want := Stats{ConnectionsAccepted: 1, Requests: 5, ActiveConnections: 1}
	if got := statsOver(t, c, s); got != want {
		t.Errorf("/mock/stats = %+v, want %+v", got, want)
	}
	if got := s.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestStatsJSONShape(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	_, b := call(t, s.Client(), http.MethodGet, s.URL()+"/mock/stats", "")
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"connections_accepted", "tls_handshakes", "requests", "active_connections"} {
		if _, ok := m[k].(float64); !ok {
			t.Errorf("stats JSON lacks number %q: %s", k, b)
		}
	}
	if len(m) != 4 {
		t.Errorf("stats JSON has %d keys, want 4: %s", len(m), b)
	}
	resp, _ := call(t, s.Client(), http.MethodPost, s.URL()+"/mock/stats", "{}")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /mock/stats = %d, want 405", resp.StatusCode)
	}
}

func TestProtocols(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		opts      Options
		wantProto string
		wantTLS   int64
	}{
		{"h1", Options{}, "HTTP/1.1", 0},
		{"h2c", Options{H2C: true}, "HTTP/2.0", 0},
		{"tls-h2", Options{TLS: true}, "HTTP/2.0", 1},
		{"tls-no-h2", Options{TLS: true, NoH2: true}, "HTTP/1.1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			c := s.Client()
			for range 3 {
				resp, b := call(t, c, http.MethodPost, s.URL()+"/v1/chat/completions", chatBody)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, b)
				}
				if resp.Proto != tc.wantProto {
					t.Errorf("Proto = %s, want %s", resp.Proto, tc.wantProto)
				}
			}
			want := Stats{ConnectionsAccepted: 1, TLSHandshakes: tc.wantTLS, Requests: 3, ActiveConnections: 1}
			got := statsOver(t, c, s)
			if tc.opts.H2C && got.ConnectionsAccepted == 2 && got.ActiveConnections == 2 {
				// net/http's prior-knowledge HTTP/2 client now and then opens
				// a second connection on a loaded machine (once in a few
				// hundred runs of the whole suite); what this test checks is
				// the protocol and the mock's counting, which still agree.
				want.ConnectionsAccepted, want.ActiveConnections = 2, 2
			}
			if got != want {
				t.Errorf("stats = %+v, want %+v", got, want)
			}
		})
	}
}

func TestHandshakeCountedWithoutRequest(t *testing.T) {
	t.Parallel()
	s := start(t, Options{TLS: true})
	d := tls.Dialer{Config: &tls.Config{RootCAs: s.CertPool(), NextProtos: []string{"h2"}}}
	nc, err := d.DialContext(t.Context(), "tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	eventually(t, "the handshake to be counted", func() bool { return s.Stats().TLSHandshakes == 1 })
	if got := s.Stats(); got.ConnectionsAccepted != 1 || got.Requests != 0 {
		t.Errorf("stats = %+v, want 1 connection and no request", got)
	}
}

func TestFailedHandshakeNotCounted(t *testing.T) {
	t.Parallel()
	s := start(t, Options{TLS: true})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}} // does not trust the mock's CA
	t.Cleanup(tr.CloseIdleConnections)
	_, err := send(t.Context(), &http.Client{Transport: tr}, http.MethodGet, s.URL()+"/v1/models", "")
	if err == nil {
		t.Fatal("request without the CA succeeded")
	}
	eventually(t, "the connection to close", func() bool { return s.Stats().ActiveConnections == 0 })
	if got := s.Stats(); got.ConnectionsAccepted != 1 || got.TLSHandshakes != 0 {
		t.Errorf("stats = %+v, want 1 connection and 0 handshakes", got)
	}
}

func TestHandshakeDelay(t *testing.T) {
	t.Parallel()
	const delay = 200 * time.Millisecond
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"h1", Options{HandshakeDelay: delay}},
		{"tls-h2", Options{HandshakeDelay: delay, TLS: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			c := s.Client()
			t0 := time.Now()
			call(t, c, http.MethodGet, s.URL()+"/v1/models", "")
			if d := time.Since(t0); d < delay {
				t.Errorf("first request on a new connection took %v, want >= %v", d, delay)
			}
			t0 = time.Now()
			call(t, c, http.MethodGet, s.URL()+"/v1/models", "")
			if d := time.Since(t0); d >= delay {
				t.Errorf("request on a reused connection took %v, want < %v", d, delay)
			}
			if got := s.Stats().ConnectionsAccepted; got != 1 {
				t.Errorf("connections_accepted = %d, want 1", got)
			}
		})
	}
}

func TestHandshakeDelayDoesNotBlockAccept(t *testing.T) {
	t.Parallel()
	s := start(t, Options{HandshakeDelay: time.Second})
	// A silent connection sits in its delay; others are accepted meanwhile.
	silent, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	eventually(t, "the first connection", func() bool { return s.Stats().ConnectionsAccepted == 1 })
	other, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	eventually(t, "the second connection while the first waits", func() bool { return s.Stats().ConnectionsAccepted == 2 })
}

func TestIdleTimeoutClosesConnections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"h1", Options{IdleTimeout: 100 * time.Millisecond}},
		{"tls-h2", Options{IdleTimeout: 100 * time.Millisecond, TLS: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			c := s.Client()
			call(t, c, http.MethodGet, s.URL()+"/v1/models", "")
			eventually(t, "the idle connection to close", func() bool { return s.Stats().ActiveConnections == 0 })

			var reused bool
			ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
				GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
			})
			resp, err := send(ctx, c, http.MethodGet, s.URL()+"/v1/models", "")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if reused {
				t.Error("request after the idle timeout reused a connection")
			}
			if got := s.Stats().ConnectionsAccepted; got != 2 {
				t.Errorf("connections_accepted = %d, want 2", got)
			}
		})
	}
}

func TestAdvertiseKeepAlive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"h1", Options{IdleTimeout: 3 * time.Second, AdvertiseKeepAlive: true}, "timeout=3"},
		{"h1-rounds-down", Options{IdleTimeout: 2500 * time.Millisecond, AdvertiseKeepAlive: true}, "timeout=2"},
		{"h1-off", Options{IdleTimeout: 3 * time.Second}, ""},
		{"h2-never", Options{IdleTimeout: 3 * time.Second, AdvertiseKeepAlive: true, TLS: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			resp, _ := call(t, s.Client(), http.MethodGet, s.URL()+"/v1/models", "")
			if got := resp.Header.Get("Keep-Alive"); got != tc.want {
				t.Errorf("Keep-Alive = %q, want %q (proto %s)", got, tc.want, resp.Proto)
			}
		})
	}
}

func TestClientCancelEndsHandler(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"h1-ttft", Options{TTFT: time.Minute}},
		{"h2-tokens", Options{TLS: true, TokenInterval: time.Minute}},
		{"h2-latency", Options{TLS: true, Latency: time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			ctx, cancel := context.WithCancel(t.Context())
			body := streamBody(false)
			if tc.opts.Latency > 0 {
				body = chatBody
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				resp, err := send(ctx, s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", body)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			eventually(t, "the request to arrive", func() bool { return s.inflight.Load() == 1 })
			cancel()
			<-done
			eventually(t, "the handler to end", func() bool { return s.inflight.Load() == 0 })
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"negative latency", Options{Latency: -1}, "Latency"},
		{"negative ttft", Options{TTFT: -1}, "TTFT"},
		{"negative interval", Options{TokenInterval: -1}, "TokenInterval"},
		{"negative idle", Options{IdleTimeout: -1}, "IdleTimeout"},
		{"negative handshake", Options{HandshakeDelay: -1}, "HandshakeDelay"},
		{"negative tokens", Options{Tokens: -1}, "Tokens"},
		{"advertise without idle", Options{AdvertiseKeepAlive: true}, "IdleTimeout"},
		{"h2c with tls", Options{H2C: true, TLS: true}, "H2C"},
		{"bad fault", Options{Fault: "status=503,bogus=1"}, `"bogus=1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestServeAndClose(t *testing.T) {
	t.Parallel()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.URL() != "" || s.Addr() != "" {
		t.Errorf("before Serve: URL %q, Addr %q, want empty", s.URL(), s.Addr())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	if want := "http://" + ln.Addr().String(); s.URL() != want {
		// Serve may not have run yet; Addr is set on its first line.
		eventually(t, "URL", func() bool { return s.URL() == want })
	}
	c := s.Client()
	call(t, c, http.MethodGet, s.URL()+"/v1/models", "")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve = %v, want http.ErrServerClosed", err)
	}
	eventually(t, "connections to close", func() bool { return s.Stats().ActiveConnections == 0 })
}

func TestShutdownLetsStreamFinish(t *testing.T) {
	t.Parallel()
	s, err := Start(Options{Tokens: 5, TokenInterval: 20 * time.Millisecond}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := send(t.Context(), s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", streamBody(false))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(t.Context()) }()
	evs, err := readEvents(resp.Body, time.Now())
	if err != nil {
		t.Fatalf("stream during Shutdown: %v", err)
	}
	if last := evs[len(evs)-1].data; last != "[DONE]" {
		t.Errorf("last event %q, want [DONE]", last)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestURLForUnspecifiedAddress(t *testing.T) {
	t.Parallel()
	s, err := New(Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	s.setAddr(&net.TCPAddr{IP: net.IPv4zero, Port: 18080})
	if got, want := s.URL(), "https://127.0.0.1:18080"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}
