// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/warmgate/warmgate/openai"
)

// An open gateway (no client keys) answers whoever reaches it, which is
// safe only as long as "whoever" is a program the operator runs. A web
// page in the operator's browser can reach a loopback gateway too, in two
// ways that edge closes:
//
//   - cross-site requests: a page on another site POSTs a chat request
//     (a form, or fetch with a text/plain body needs no CORS preflight),
//     spending the operator's upstream key. Refused by the Origin and
//     Sec-Fetch-Site headers browsers send, and by refusing the content
//     types a page can send without a preflight on the JSON routes.
//   - DNS rebinding: the page's own name is made to resolve to 127.0.0.1,
//     so that its scripts read the gateway's answers as same-origin. The
//     request then carries the page's name in Host: refused unless the
//     name is loopback, the listen address's host, or in allowed_hosts.
//
// With client keys a page has no key to send, so none of this applies.

// edgeHosts is what edge accepts in Host and Origin, built by New.
type edgeHosts struct {
	names   map[string]bool // lower case, without port or brackets
	anyHost bool            // allowed_hosts: ["*"]
}

func newEdgeHosts(listen string, allowed []string) edgeHosts {
	e := edgeHosts{names: map[string]bool{}}
	if h, _, err := net.SplitHostPort(listen); err == nil && !unspecified(h) {
		e.names[strings.ToLower(h)] = true
	}
	for _, h := range allowed {
		if h == "*" {
			e.anyHost = true
			continue
		}
		e.names[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	return e
}

// unspecified reports whether a listen host means every interface: it
// names no host a client would use.
func unspecified(h string) bool {
	if h == "" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsUnspecified()
}

// allows reports whether host (a Host header or an Origin's host, with or
// without a port) is one of the gateway's own names: loopback, or listed.
func (e *edgeHosts) allows(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.Trim(host, "[]") // "[::1]" without a port
	}
	host = strings.ToLower(host)
	if host == "localhost" || e.names[host] {
		return true
	}
	ip, err := netip.ParseAddr(host) // unlike net.ParseIP, no allocation
	return err == nil && ip.IsLoopback()
}

// simpleContentType reports whether ct is one of the three content types
// a web page may send to another site without a CORS preflight: on the
// JSON routes only such a page would send them.
func simpleContentType(ct string) bool {
	return mediaType(ct, "text/plain") || mediaType(ct, "application/x-www-form-urlencoded") ||
		mediaType(ct, "multipart/form-data")
}

// edge refuses, on an open gateway, requests a web page could have made on
// another site's behalf (see the comment above edgeHosts). p is the clean
// request path, ep its endpoint (nil outside the API). The static dashboard page and the probes are exempt: they
// hold nothing a page could use, and orchestrators probe by IP address.
func (g *Gateway) edge(r *http.Request, p string, ep *endpoint) *apiError {
	if len(g.keys) > 0 || p == "/healthz" || p == "/readyz" || p == "/dashboard" || strings.HasPrefix(p, "/dashboard/") {
		return nil
	}
	if !g.hosts.anyHost && !g.hosts.allows(r.Host) {
		return &apiError{status: http.StatusForbidden, typ: openai.TypePermission, code: "host_not_allowed",
			message: "this gateway has no client keys, so it answers only requests addressed to loopback (localhost, 127.0.0.1, [::1]) " +
				"or its listen address, not to " + quote(r.Host) + ": add the name clients use to allowed_hosts in the config, or configure client keys"}
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host == "" || !g.hosts.allows(u.Host) && !strings.EqualFold(u.Host, r.Host) {
			return &apiError{status: http.StatusForbidden, typ: openai.TypePermission, code: "cross_site_request",
				message: "refused a request from the web page at " + quote(o) + ": a gateway without client keys answers only pages on " +
					"loopback or its own address; list the page's host in allowed_hosts, or configure client keys"}
		}
	} else if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return &apiError{status: http.StatusForbidden, typ: openai.TypePermission, code: "cross_site_request",
			message: "refused a cross-site request (Sec-Fetch-Site: cross-site): a gateway without client keys answers only its own pages and programs; configure client keys to serve other sites"}
	}
	if ep != nil && ep.routed && r.Method == http.MethodPost && simpleContentType(r.Header.Get("Content-Type")) {
		return &apiError{status: http.StatusUnsupportedMediaType, typ: openai.TypeInvalidRequest, code: "unsupported_media_type",
			message: "this route takes a JSON body: send it with \"Content-Type: application/json\", not " + quote(r.Header.Get("Content-Type"))}
	}
	return nil
}
