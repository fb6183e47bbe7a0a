// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// Transport settings that are not per-run options, each with its reason.
const (
	// tcpKeepAlive is the stdlib default: it finds dead peers on idle
	// pooled connections without costing anything measurable.
	tcpKeepAlive = 30 * time.Second
	// idleConnTimeout is the stdlib default; a run reuses its connections
	// far more often than this.
	idleConnTimeout = 90 * time.Second
	// tlsHandshakeTimeout is the stdlib default.
	tlsHandshakeTimeout = 10 * time.Second
)

// client is one run's HTTP client: a single tuned *http.Transport shared
// by every request, with counters for the connections it opens.
type client struct {
	tr    *http.Transport
	hc    *http.Client
	trace *httptrace.ClientTrace

	dials      atomic.Int64 // TCP connections opened by our dialer
	handshakes atomic.Int64 // TLS handshakes completed (httptrace)
}

// newClient builds the transport for o (defaults applied). conns is the
// most requests the run has in flight: the closed loop's concurrency, or
// the open loop's in-flight cap.
func newClient(o Options, conns int) *client {
	c := &client{}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: tcpKeepAlive}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(!o.HTTP1) // over TLS, when the server offers h2 by ALPN
	c.tr = &http.Transport{
		// A benchmark measures the target, never an environment proxy.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err == nil {
				c.dials.Add(1)
			}
			return conn, err
		},
		TLSClientConfig:     &tls.Config{RootCAs: o.RootCAs},
		TLSHandshakeTimeout: tlsHandshakeTimeout,
		DisableKeepAlives:   o.DisableKeepAlives,
		// The stdlib's default of 2 idle connections per host would make a
		// closed loop of 8 open a new connection for most requests.
		MaxIdleConnsPerHost: conns,
		// A finished request's connection goes back to the pool a moment
		// after its body's EOF, on the transport's own goroutine; without a
		// cap, the worker's next request often dials in that moment. With
		// it, the request waits the moment instead, and a closed loop of C
		// workers opens at most C connections, as a real client pool of C
		// would.
		MaxConnsPerHost: conns,
		IdleConnTimeout: idleConnTimeout,
		// No gzip: the client's own decompression would be measured as the
		// target's latency, and a proxy benchmark compares raw bytes.
		DisableCompression: true,
		Protocols:          &protos,
	}
	c.trace = &httptrace.ClientTrace{
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				c.handshakes.Add(1)
			}
		},
	}
	c.hc = &http.Client{
		Transport: c.tr,
		// A redirect is an answer to report, not a request to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// No Client.Timeout: each request has its own deadline in its ctx.
	}
	return c
}

// close closes the idle connections; the run's requests are all done.
func (c *client) close() { c.tr.CloseIdleConnections() }
