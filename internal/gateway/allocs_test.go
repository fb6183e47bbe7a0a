// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// maxRelayAllocs bounds the heap allocations the gateway adds to one
// relayed chat completion (OpenAI to an OpenAI upstream, HTTP/1.1 on both
// legs, no access log, metrics on): both net/http stacks' (the server
// reading the client's request and writing the answer, the pool's client
// writing the upstream request and reading its answer) and the gateway's
// own. 85 when it was set (one of margin); 93 before the request's
// state was allocated at once (one object for its log record, writer,
// exchange, charge, model list and request id value). Of the 85, about
// 17 are the gateway's own code's; the rest are net/http's and the
// pool's.
const maxRelayAllocs = 86

// TestRelayAllocs bounds what the gateway allocates per relayed request:
// the allocations of a request sent through it, less those of the same
// request sent to the upstream directly (the client's and the upstream's
// own, counted in both). The whole process's count is what
// testing.AllocsPerRun measures, so the gateway runs with nothing in the
// background that allocates per request: its usage ledger, which writes
// its records in batches of varying size, is off.
func TestRelayAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops pooled buffers at random: allocation counts vary")
	}
	if testing.Short() {
		t.Skip("sends 1,200 requests")
	}
	t.Setenv("OPENAI_API_KEY", "")
	m, err := mock.Start(mock.Options{Tokens: 16}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	yaml := "upstreams:\n  - {name: mock, base_url: " + m.URL() + "/v1, models: [\"gpt-*\"]}\n" +
		"usage: {disable: true}\ndata_dir: " + t.TempDir() + "\n"
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, err := gateway.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		_ = s.Close()
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })

	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	body := []byte(chatBody("gpt-4.1-mini", false))
	post := func(url string) func() {
		return func() {
			resp, err := c.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST %s: %s", url, resp.Status)
			}
		}
	}
	direct, through := post(m.URL()+"/v1/chat/completions"), post("http://"+s.Addr()+"/v1/chat/completions")
	for range 100 { // warm: connections made, pools and caches filled
		direct()
		through()
	}
	d := testing.AllocsPerRun(500, direct)
	g := testing.AllocsPerRun(500, through)
	t.Logf("allocations per request: direct %.1f, through the gateway %.1f: the gateway's %.1f (bound %d)", d, g, g-d, maxRelayAllocs)
	if g-d > maxRelayAllocs {
		t.Errorf("the gateway allocates %.1f times per relayed request, more than %d: profile BenchmarkRelay/gateway "+
			"(-memprofile, -memprofilerate=1) and look under Gateway.ServeHTTP", g-d, maxRelayAllocs)
	}
}
