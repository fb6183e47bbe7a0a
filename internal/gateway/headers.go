// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/upstream"
)

// forwardable are the client headers copyRequestHeader drops unless every
// upstream the request may go to takes them (config.ForwardableHeaders).
var forwardable = func() map[string]bool {
	m := map[string]bool{}
	for _, h := range config.ForwardableHeaders() {
		m[h] = true
	}
	return m
}()

// billingHeaders choose the account an upstream bills. They go with the
// client's own key when the gateway passes it through (passAuth): the
// account is then the client's anyway.
var billingHeaders = map[string]bool{"Openai-Organization": true, "Openai-Project": true, "X-Goog-User-Project": true}

// forwardHeaders returns, per upstream name, the forwardable client headers
// it gets: those in its forward_headers, plus the billing selectors when the
// client's own Authorization goes to it.
func forwardHeaders(cfg *config.Config, passAuth map[string]bool) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(cfg.Upstreams))
	for _, u := range cfg.Upstreams {
		m := map[string]bool{}
		for _, h := range u.ForwardHeaders {
			m[http.CanonicalHeaderKey(h)] = true
		}
		if passAuth[u.Name] {
			for h := range billingHeaders {
				m[h] = true
			}
		}
		out[u.Name] = m
	}
	return out
}

// forwards reports whether the client's header k (canonical) may go to
// the request's upstreams ups: only if every one of them takes it, since
// the pool picks among them after the request is built.
func (g *Gateway) forwards(ups []*upstream.Upstream, k string) bool {
	for _, u := range ups {
		if !g.forward[u.Name()][k] {
			return false
		}
	}
	return len(ups) > 0
}

// relayLocation returns what the client gets for the upstream's Location
// (or Content-Location) header v: a URL inside the upstream's base URL
// becomes the same path under the gateway's /v1; anything else, an address
// the client cannot or must not use (another host, the upstream's internal
// name), is dropped (""). reqPath is the client's request path, against
// which the upstream resolved a relative reference.
func (g *Gateway) relayLocation(v, upstreamName, reqPath string) string {
	u := findUpstream(g.cfg, upstreamName)
	if u == nil {
		return ""
	}
	base, err := url.Parse(u.BaseURL)
	if err != nil {
		return ""
	}
	loc, err := url.Parse(v)
	if err != nil {
		return ""
	}
	basePath := strings.TrimSuffix(base.EscapedPath(), "/")
	sent := *base // the URL the upstream was asked for
	sent.User, sent.RawPath = nil, ""
	sent.Path = strings.TrimSuffix(base.Path, "/") + strings.TrimPrefix(reqPath, "/v1")
	abs := sent.ResolveReference(loc)
	p := abs.EscapedPath()
	if abs.Scheme != base.Scheme || !strings.EqualFold(abs.Host, base.Host) || abs.User != nil ||
		p != basePath && !strings.HasPrefix(p, basePath+"/") {
		return ""
	}
	out := "/v1" + p[len(basePath):]
	if abs.RawQuery != "" {
		out += "?" + abs.RawQuery
	}
	if abs.Fragment != "" {
		out += "#" + abs.EscapedFragment()
	}
	return out
}

// hopHeaders are connection-level headers that a proxy must not forward
// (RFC 9110 section 7.6.1), in canonical form.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// routingHeaders name another host or path for the request than its own
// URL; some front proxies and frameworks route by them (IIS and Symfony by
// X-Original-URL, nginx setups by X-Forwarded-Host or Forwarded). A client
// must not choose where an upstream's infrastructure sends the request, so
// they are never forwarded.
var routingHeaders = map[string]bool{
	"X-Original-Url": true, "X-Rewrite-Url": true, "X-Forwarded-Host": true, "X-Forwarded-Prefix": true,
	"X-Host": true, "Forwarded": true,
}

// copyRequestHeader forwards the client's headers minus hop-by-hop ones,
// routing ones, the client's credentials (the upstream's own are set per
// attempt), Accept-Encoding (the transport negotiates compression itself)
// and the forwardable ones (billing selectors, client-address claims) that
// pass does not let through.
func copyRequestHeader(dst, src http.Header, pass func(canonicalName string) bool) {
	for k, vv := range src {
		switch {
		case hopHeaders[k], routingHeaders[k]:
		case forwardable[k] && !pass(k):
		case k == "Authorization", k == "X-Api-Key", k == "Api-Key", k == "X-Goog-Api-Key", k == "Content-Length", k == "Accept-Encoding", k == "Host", k == "Cookie":
		default:
			dst[k] = vv
		}
	}
	if c := src.Get("Connection"); c != "" { // and headers named by Connection
		for _, f := range strings.Split(c, ",") {
			dst.Del(strings.TrimSpace(f))
		}
	}
}
