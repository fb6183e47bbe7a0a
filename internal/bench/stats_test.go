// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestSinceTakesOutTheFetchesOwnConnection(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	before := &mockStats{ConnectionsAccepted: n(3), TLSHandshakes: n(3)}
	after := &mockStats{ConnectionsAccepted: n(12), TLSHandshakes: n(12)}
	if got := after.since(before, "https://h/mock/stats"); got.ConnectionsAccepted != 8 || got.TLSHandshakes != 8 {
		t.Errorf("https: %+v, want 8 and 8", got)
	}
	after = &mockStats{ConnectionsAccepted: n(12), TLSHandshakes: n(3)}
	if got := after.since(before, "http://h/mock/stats"); got.ConnectionsAccepted != 8 || got.TLSHandshakes != 0 {
		t.Errorf("http: %+v, want 8 and 0", got)
	}
}

func TestServerStatsOnlyFromTheMock(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
		status            int
	}{
		{"404", "application/json", `{"error":{}}`, 404},
		{"html", "text/html", "<html>", 200},
		{"other json", "application/json", `{"requests":1}`, 200},
		{"garbage", "application/json", `{`, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/mock/stats" {
					w.Header().Set("Content-Type", tc.ctype)
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, tc.body)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, "{}")
			}))
			defer srv.Close()
			r := run(t, Options{Target: srv.URL + "/v1", Requests: 3, Concurrency: 1})
			if r.OK != 3 || r.Server != nil {
				t.Errorf("ok %d, server %+v; want 3, nil", r.OK, r.Server)
			}
		})
	}
	t.Run("another URL", func(t *testing.T) {
		m := startMock(t, mock.Options{})
		target := startMock(t, mock.Options{})
		r := run(t, Options{Target: target.URL() + "/v1", Requests: 3, Concurrency: 1, StatsURL: m.URL() + "/mock/stats"})
		if r.Server == nil || r.Server.ConnectionsAccepted != 0 || r.Server.URL != m.URL()+"/mock/stats" {
			t.Errorf("server %+v, want 0 connections at the other mock", r.Server)
		}
	})
	t.Run("off", func(t *testing.T) {
		m := startMock(t, mock.Options{})
		before := m.Stats().ConnectionsAccepted
		r := run(t, Options{Target: m.URL() + "/v1", Requests: 3, Concurrency: 1, NoServerStats: true})
		if r.Server != nil || m.Stats().ConnectionsAccepted-before != 1 {
			t.Errorf("server %+v, mock accepted %d; want nil, 1", r.Server, m.Stats().ConnectionsAccepted-before)
		}
	})
}
