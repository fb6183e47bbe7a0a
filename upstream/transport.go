// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Traffic classes. Generations (chat, completions, responses; streamed or
// not) hold a connection for seconds to minutes; everything else
// (embeddings, models, moderations, files) for milliseconds. Each class has
// its own connections, so a pool full of streams never makes a short call
// wait, and short calls never take the connections streams need.
const (
	classLong = iota
	classShort
	numClasses
)

// class is one traffic class of an upstream: its own connections (see
// conn.go) and what it learned of them.
type class struct {
	u          *Upstream
	own        *ownPool     // the class's connections and the requests waiting for one
	maxStreams int64        // MaxStreamsPerConn
	maxConns   int          // the class's connection cap; 0: none
	open       atomic.Int64 // connections open in this class
	// firstByteAvg is the usual time to response headers, in nanoseconds
	// (see observeFirstByte); 0 until an attempt was answered.
	firstByteAvg atomic.Int64
	// proto is what the class's connections speak, learned from the first
	// TLS handshake: protoUnknown, protoH1 or protoH2.
	proto atomic.Int32
}

const (
	protoUnknown int32 = iota
	protoH1
	protoH2
)

// h2HoldMax bounds how long a new HTTP/2 connection carries only the
// request that dialed it while its server's SETTINGS are late (see settle).
const h2HoldMax = 100 * time.Millisecond

// negotiated records the protocol of a new TLS connection: once HTTP/2 is
// known, one connection carries many requests (see mayDialLocked).
func (cl *class) negotiated(h2 bool) {
	p := protoH1
	if h2 {
		p = protoH2
	}
	cl.proto.Store(p)
}

// classOf picks the traffic class from the request path.
func classOf(rel string) int {
	for _, suffix := range [...]string{"/chat/completions", "/completions", "/responses", "/messages",
		"/converse", "/converse-stream", "/invoke", "/invoke-with-response-stream"} { // the last four: Bedrock's /model/{id}/...
		if strings.HasSuffix(rel, suffix) {
			return classLong
		}
	}
	if strings.Contains(rel, "/responses/") {
		return classLong
	}
	return classShort
}

// shortConns is the connection cap of the short class when MaxConns is set:
// a reserve of an eighth of it, at least 2.
func shortConns(maxConns int) int {
	if maxConns <= 0 {
		return 0
	}
	return max(2, maxConns/8)
}

func newClass(u *Upstream, maxConns int) *class {
	cl := &class{u: u, own: newOwnPool(&u.cfg, u.base.Hostname()), maxStreams: int64(u.cfg.MaxStreamsPerConn), maxConns: maxConns}
	if u.base.Scheme != "https" || u.cfg.DisableHTTP2 {
		cl.proto.Store(protoH1)
	}
	return cl
}

// close stops the class: waiting requests fail, idle connections close.
func (cl *class) close() { cl.closeOwn() }

// proxyFunc is the proxy the upstream's connections go through: the
// environment's (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), unless a test set one.
func proxyFunc(c *Config) func(*http.Request) (*url.URL, error) {
	if c.proxy != nil {
		return c.proxy
	}
	return http.ProxyFromEnvironment
}

// dialer returns the function that opens a connection: Config.DialContext
// bounded by Timeouts.Connect, or a TCP dial with keep-alive probes.
func dialer(c *Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial := c.DialContext; dial != nil {
		timeout := c.Timeouts.Connect
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return dial(ctx, network, addr)
		}
	}
	d := &net.Dialer{
		Timeout: c.Timeouts.Connect,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable:   true,
			Idle:     c.Timeouts.KeepAlive,
			Interval: c.Timeouts.KeepAlive / 2,
			Count:    4, // a dead peer is noticed within Idle + 2*Idle
		},
	}
	return d.DialContext
}
