// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// An open gateway (no client keys) must not answer web pages: a page on
// another site could spend the operator's upstream key with a cross-site
// POST, and through DNS rebinding (its own name resolving to 127.0.0.1)
// read answers, metrics and usage. The tests send what a browser would:
// a foreign Host, an Origin, Sec-Fetch-Site, a text/plain or form body.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/upstream"
)

// doHost is g.do with the request addressed to host (the Host header)
// while the connection still goes to the gateway's own address: what a
// browser does after DNS rebinding. host "" keeps the gateway's address.
func (g *gw) doHost(t *testing.T, host, method, path, body string, hdr ...string) answer {
	t.Helper()
	return doWith(t, g.hc, g.base, host, method, path, body, hdr...)
}

// doWith sends one request to base through hc, with Host host (unless
// empty) and the header pairs hdr; Content-Type is application/json
// unless hdr sets it ("" removes it).
func doWith(t *testing.T, hc *http.Client, base, host, method, path, body string, hdr ...string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, path, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestOpenGatewayRefusesOtherSites(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	port := g.Addr()[strings.LastIndexByte(g.Addr(), ':')+1:]
	chat := chatBody("gpt-4.1-mini", false)
	const (
		chatPath = "/v1/chat/completions"
		refused  = "refused"
	)
	tests := []struct {
		name   string
		host   string // "" = the gateway's own 127.0.0.1:port
		method string
		path   string
		body   string
		hdr    []string
		status int
		code   string // the error code of a refusal
	}{
		// What programs on the operator's machine send: served.
		{name: "loopback address", method: "POST", path: chatPath, body: chat, status: 200},
		{name: "localhost", host: "localhost:" + port, method: "POST", path: chatPath, body: chat, status: 200},
		{name: "IPv6 loopback", host: "[::1]:" + port, method: "POST", path: chatPath, body: chat, status: 200},
		{name: "another 127/8 address, no port", host: "127.0.0.2", method: "POST", path: chatPath, body: chat, status: 200},
		{name: "no Content-Type", method: "POST", path: chatPath, body: chat, hdr: []string{"Content-Type", ""}, status: 200},
		{name: "JSON with a charset", method: "POST", path: chatPath, body: chat, hdr: []string{"Content-Type", "application/json; charset=utf-8"}, status: 200},
		{name: "same-origin page", method: "POST", path: chatPath, body: chat, status: 200,
			hdr: []string{"Origin", "http://127.0.0.1:" + port, "Sec-Fetch-Site", "same-origin"}},
		{name: "page on localhost, another port", method: "POST", path: chatPath, body: chat, status: 200,
			hdr: []string{"Origin", "http://localhost:3000", "Sec-Fetch-Site", "same-site"}},
		{name: "typed into the address bar", method: "GET", path: "/metrics", status: 200, hdr: []string{"Sec-Fetch-Site", "none"}},

		// A foreign or rebound Host: refused whatever the route.
		{name: "foreign Host", host: "evil.example", method: "POST", path: chatPath, body: chat, status: 403, code: "host_not_allowed"},
		{name: "rebound Host, chat", host: "evil.example:" + port, method: "POST", path: chatPath, body: chat, status: 403, code: "host_not_allowed"},
		{name: "rebound Host, metrics", host: "evil.example:8080", method: "GET", path: "/metrics", status: 403, code: "host_not_allowed"},
		{name: "rebound Host, usage", host: "evil.example:8080", method: "GET", path: "/api/usage", status: 403, code: "host_not_allowed"},
		{name: "rebound Host, pools", host: "evil.example:8080", method: "GET", path: "/api/pools", status: 403, code: "host_not_allowed"},
		{name: "rebound Host, models", host: "evil.example:8080", method: "GET", path: "/v1/models", status: 403, code: "host_not_allowed"},
		{name: "rebound Host, reload", host: "evil.example:8080", method: "POST", path: "/admin/reload", status: 403, code: "host_not_allowed"},
		{name: "a name that ends like localhost", host: "localhost.evil.example:" + port, method: "GET", path: "/metrics", status: 403, code: "host_not_allowed"},
		{name: "an address that is not loopback", host: "10.1.2.3:" + port, method: "GET", path: "/metrics", status: 403, code: "host_not_allowed"},

		// Pages on other sites: refused.
		{name: "cross-site Origin", method: "POST", path: chatPath, body: chat, status: 403, code: "cross_site_request",
			hdr: []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{name: "cross-site Origin without Sec-Fetch-Site", method: "POST", path: chatPath, body: chat, status: 403, code: "cross_site_request",
			hdr: []string{"Origin", "https://evil.example"}},
		{name: "opaque Origin (sandboxed page)", method: "POST", path: chatPath, body: chat, status: 403, code: "cross_site_request",
			hdr: []string{"Origin", "null"}},
		{name: "Sec-Fetch-Site cross-site, no Origin", method: "GET", path: "/metrics", status: 403, code: "cross_site_request",
			hdr: []string{"Sec-Fetch-Site", "cross-site"}},
		{name: "Sec-Fetch-Site cross-site on a chat", method: "POST", path: chatPath, body: chat, status: 403, code: "cross_site_request",
			hdr: []string{"Sec-Fetch-Site", "cross-site"}},

		// The bodies a page can send without a CORS preflight, on the JSON
		// routes: refused even from the gateway's own address.
		{name: "text/plain chat", method: "POST", path: chatPath, body: chat, status: 415, code: "unsupported_media_type",
			hdr: []string{"Content-Type", "text/plain;charset=UTF-8"}},
		{name: "form chat", method: "POST", path: chatPath, body: chat, status: 415, code: "unsupported_media_type",
			hdr: []string{"Content-Type", "application/x-www-form-urlencoded"}},
		{name: "multipart chat", method: "POST", path: chatPath, body: chat, status: 415, code: "unsupported_media_type",
			hdr: []string{"Content-Type", "multipart/form-data; boundary=x"}},
		{name: "text/plain embeddings", method: "POST", path: "/v1/embeddings", body: `{"model":"text-embedding-3-small","input":"hi"}`,
			status: 415, code: "unsupported_media_type", hdr: []string{"Content-Type", "text/plain"}},

		// Exempt: the probes (orchestrators use the pod's address) and the
		// static dashboard page (a link from another site opens it).
		{name: "healthz by address", host: "10.1.2.3:8080", method: "GET", path: "/healthz", status: 200},
		{name: "readyz by address", host: "10.1.2.3:8080", method: "GET", path: "/readyz", status: 200},
		{name: "dashboard from a link", method: "GET", path: "/dashboard", status: 200,
			hdr: []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := m.Stats().Requests
			a := g.doHost(t, tt.host, tt.method, tt.path, tt.body, tt.hdr...)
			if tt.code == "" {
				if a.status != tt.status {
					t.Fatalf("status = %d, want %d; body: %s", a.status, tt.status, a.body)
				}
				return
			}
			msg := checkError(t, a, tt.status, tt.code)
			if tt.code != "unsupported_media_type" && !strings.Contains(msg, "allowed_hosts") && !strings.Contains(msg, "client keys") {
				t.Errorf("message %q does not say how to fix it (allowed_hosts, client keys)", msg)
			}
			if n := m.Stats().Requests - before; n != 0 {
				t.Errorf("the upstream got %d requests for a refused one", n)
			}
		})
	}
}

// TestOpenGatewayAllowedHosts: allowed_hosts adds names an open gateway
// answers to (Host) and pages it answers (Origin); "*" accepts any Host but
// still no other site's page; the listen address's host is allowed; with
// client keys none of these checks apply.
func TestOpenGatewayAllowedHosts(t *testing.T) {
	m := startMock(t, mock.Options{})
	chat := chatBody("gpt-4.1-mini", false)
	const chatPath = "/v1/chat/completions"

	t.Run("listed names", func(t *testing.T) {
		g := startGateway(t, defaultYAML(t, m)+"allowed_hosts: [Gateway.Internal, \"10.1.2.3\", \"[fd00::1]\"]\n", nil)
		for _, host := range []string{"gateway.internal", "gateway.internal:8080", "GATEWAY.INTERNAL:80", "10.1.2.3:8080", "[fd00::1]:8080"} {
			if a := g.doHost(t, host, "POST", chatPath, chat); a.status != 200 {
				t.Errorf("Host %s: %d %s", host, a.status, a.body)
			}
		}
		if a := g.doHost(t, "gateway.internal:8080", "POST", chatPath, chat, "Origin", "http://gateway.internal:8080"); a.status != 200 {
			t.Errorf("a page served under a listed name: %d %s", a.status, a.body)
		}
		checkError(t, g.doHost(t, "other.internal", "GET", "/metrics", ""), 403, "host_not_allowed")
		checkError(t, g.doHost(t, "", "POST", chatPath, chat, "Origin", "http://other.internal"), 403, "cross_site_request")
	})
	t.Run("any host", func(t *testing.T) {
		g := startGateway(t, defaultYAML(t, m)+"allowed_hosts: [\"*\"]\n", nil)
		if a := g.doHost(t, "whatever.example:8080", "GET", "/metrics", ""); a.status != 200 {
			t.Errorf("Host whatever.example with allowed_hosts [*]: %d %s", a.status, a.body)
		}
		if a := g.doHost(t, "whatever.example:8080", "POST", chatPath, chat, "Origin", "http://whatever.example:8080"); a.status != 200 {
			t.Errorf("same-origin page: %d %s", a.status, a.body)
		}
		checkError(t, g.doHost(t, "whatever.example:8080", "POST", chatPath, chat, "Origin", "https://evil.example"), 403, "cross_site_request")
		checkError(t, g.doHost(t, "whatever.example:8080", "POST", chatPath, chat, "Content-Type", "text/plain"), 415, "unsupported_media_type")
	})
	t.Run("listen address", func(t *testing.T) {
		// A gateway told to listen on 10.1.2.3 answers to that name; it is
		// served here over a loopback test server.
		cfg, err := config.Parse([]byte("listen: 10.1.2.3:8080\nserver: {allow_open: true}\n"+defaultYAML(t, m)), nil)
		if err != nil {
			t.Fatal(err)
		}
		ucs, err := gateway.UpstreamConfigs(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		pool, err := upstream.New(ucs)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		srv := httptest.NewServer(gateway.New(cfg, pool, nil))
		defer srv.Close()
		defer srv.Client().Transport.(*http.Transport).CloseIdleConnections()
		if a := doWith(t, srv.Client(), srv.URL, "10.1.2.3:8080", "POST", chatPath, chat); a.status != 200 {
			t.Errorf("Host 10.1.2.3:8080: %d %s", a.status, a.body)
		}
		checkError(t, doWith(t, srv.Client(), srv.URL, "10.1.2.4:8080", "POST", chatPath, chat), 403, "host_not_allowed")
	})
	t.Run("client keys", func(t *testing.T) {
		env := map[string]string{"K": "sk-client-0123456789"}
		g := startGateway(t, defaultYAML(t, m)+"keys: [{name: k, key_env: K}]\n", env)
		auth := []string{"Authorization", "Bearer " + env["K"]}
		for _, tt := range []struct {
			name string
			host string
			hdr  []string
		}{
			{"any Host", "gateway.example.com", nil},
			{"a page on another site", "", []string{"Origin", "https://app.example.com", "Sec-Fetch-Site", "cross-site"}},
			{"text/plain", "", []string{"Content-Type", "text/plain"}},
		} {
			if a := g.doHost(t, tt.host, "POST", chatPath, chat, append(auth, tt.hdr...)...); a.status != 200 {
				t.Errorf("%s, with a client key: %d %s", tt.name, a.status, a.body)
			}
		}
		checkError(t, g.doHost(t, "gateway.example.com", "POST", chatPath, chat), 401, "missing_api_key")
	})
}

// TestAdminKeyGuardsOpenGateway: a configured admin key is required on the
// operational endpoints even when the gateway has no client keys (an
// open gateway allowed beyond loopback would otherwise serve them to
// anyone); without one, an open gateway serves them as before.
func TestAdminKeyGuardsOpenGateway(t *testing.T) {
	m := startMock(t, mock.Options{})
	env := map[string]string{"ADMIN_KEY": "admin-secret-0123456789"}
	g := startGateway(t, defaultYAML(t, m)+"admin: {key_env: ADMIN_KEY, pprof: true}\n", env)
	admin := []string{"Authorization", "Bearer " + env["ADMIN_KEY"]}
	for _, tt := range []struct{ method, path string }{
		{"GET", "/metrics"},
		{"GET", "/api/pools"},
		{"GET", "/api/usage"},
		{"GET", "/debug/pprof/cmdline"},
		{"POST", "/admin/reload"},
	} {
		checkError(t, g.do(t, tt.method, tt.path, ""), http.StatusUnauthorized, "invalid_admin_key", "admin key")
		checkError(t, g.do(t, tt.method, tt.path, "", "Authorization", "Bearer wrong"), http.StatusUnauthorized, "invalid_admin_key")
		a := g.do(t, tt.method, tt.path, "", admin...)
		// /admin/reload has no file to reread here (404 reload_off): what
		// matters is that the key got it past the check.
		if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
			t.Errorf("%s %s with the admin key: %d %s", tt.method, tt.path, a.status, a.body)
		}
	}
	if a := g.do(t, "GET", "/metrics", "", admin...); a.status != 200 || !strings.Contains(string(a.body), "warmgate_") {
		t.Errorf("GET /metrics with the admin key: %d %.200s", a.status, a.body)
	}
	// The API itself needs no key on an open gateway.
	if a := g.do(t, "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != 200 {
		t.Errorf("chat on the open gateway: %d %s", a.status, a.body)
	}

	// Without an admin key an open (loopback) gateway serves them.
	open := startGateway(t, defaultYAML(t, m), nil)
	if a := open.do(t, "GET", "/metrics", ""); a.status != 200 {
		t.Errorf("GET /metrics, open gateway without admin key: %d %s", a.status, a.body)
	}
}
