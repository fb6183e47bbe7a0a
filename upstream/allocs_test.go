// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !race

package upstream

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestAllocsPerRequest bounds what the pool allocates per request beyond
// a bare tuned http.Transport, one request at a time on a warm connection
// to the TLS mock, over HTTP/1.1 and HTTP/2. Both counts hold the mock's
// allocations (it runs in this process) and the caller's; the difference
// is the pool's: its attempt (context, trace hooks, timer, response body)
// and, on HTTP/2, what net/http's http.ClientConn adds to its transport's
// own path. BenchmarkTransport measures the same with times. Not under
// the race detector, whose instrumentation changes the counts.
func TestAllocsPerRequest(t *testing.T) {
	for _, tc := range []struct {
		proto string
		extra float64 // allocations per request over the bare transport's, at most
	}{
		{"h1", 0},
		{"h2", 12},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			m, err := mock.Start(mock.Options{TLS: true, NoH2: tc.proto == "h1", Tokens: 1}, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			tlsConf := &tls.Config{RootCAs: m.CertPool()}
			url := m.URL() + "/v1/chat/completions"
			body := []byte(`{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`)
			one := func(do func(*http.Request) (*http.Response, error)) func() {
				return func() {
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := do(req)
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			bare := &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64}
			defer bare.CloseIdleConnections()
			p, err := New([]Config{{Name: "mock", BaseURL: m.URL() + "/v1", TLS: tlsConf}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			one(bare.RoundTrip)() // warm: the first connection is not what is counted
			one(p.Do)()
			bareN := testing.AllocsPerRun(200, one(bare.RoundTrip))
			poolN := testing.AllocsPerRun(200, one(p.Do))
			t.Logf("allocations per request: pool %.0f, bare transport %.0f", poolN, bareN)
			if poolN > bareN+tc.extra {
				t.Errorf("the pool allocates %.0f times per %s request, the bare transport %.0f: more than %.0f over", poolN, tc.proto, bareN, tc.extra)
			}
		})
	}
}
