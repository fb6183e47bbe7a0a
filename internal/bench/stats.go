// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// statsTimeout bounds a /mock/stats fetch: the mock answers at once, and a
// target without the endpoint must not delay the run.
const statsTimeout = 5 * time.Second

// maxStatsBody bounds what is read of a stats answer: the mock's is tiny,
// and a target without the endpoint may answer with a large page.
const maxStatsBody = 64 << 10

// mockStats is the part of GET /mock/stats that Run uses. The pointers
// tell a missing field (not the mock) from a zero.
type mockStats struct {
	ConnectionsAccepted *int64 `json:"connections_accepted"`
	TLSHandshakes       *int64 `json:"tls_handshakes"`
}

// fetchStats gets o.StatsURL on a connection of its own that it closes
// (the run's connection counts stay the run's), with the run's TLS trust
// but never its key or headers: StatsURL may be another host. It returns
// nil when the answer is not the mock's JSON.
func fetchStats(ctx context.Context, o Options) *mockStats {
	ctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	tr := &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     &tls.Config{RootCAs: o.RootCAs},
		TLSHandshakeTimeout: tlsHandshakeTimeout,
		DisableKeepAlives:   true, // see since: exactly one new connection per fetch
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.StatsURL, nil)
	if err != nil {
		return nil
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return nil
	}
	var s mockStats
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStatsBody)).Decode(&s); err != nil ||
		s.ConnectionsAccepted == nil || s.TLSHandshakes == nil {
		return nil
	}
	return &s
}

// since is the server's count over the run. The server counts a
// connection when it accepts it, before it answers, so the "after" fetch's
// own connection (and, over TLS, its handshake) is in "after": take it
// out. The "before" fetch's is in both.
func (after *mockStats) since(before *mockStats, url string) *ServerStats {
	s := &ServerStats{
		URL:                 url,
		ConnectionsAccepted: *after.ConnectionsAccepted - *before.ConnectionsAccepted - 1,
		TLSHandshakes:       *after.TLSHandshakes - *before.TLSHandshakes,
	}
	if strings.HasPrefix(url, "https:") {
		s.TLSHandshakes--
	}
	s.ConnectionsAccepted = max(s.ConnectionsAccepted, 0)
	s.TLSHandshakes = max(s.TLSHandshakes, 0)
	return s
}
