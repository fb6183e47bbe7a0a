// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody caps how much of an answer is read. Reading to the end is what
// lets HTTP/1 reuse the connection; a /models list is a few KB.
const maxBody = 8 << 20

// client is one dedicated transport: at most one connection, never expired
// by the client itself, and a dial hook that numbers every connection.
type client struct {
	hc    *http.Client
	tr    *http.Transport
	dials atomic.Int64
}

// newClient makes a client; cache, if not nil, lets TLS sessions resume
// across clients that share it.
func (p *prober) newClient(cache tls.ClientSessionCache, http1 bool) *client {
	c := &client{}
	d := &net.Dialer{Timeout: p.o.DialTimeout, Resolver: p.o.Resolver}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(!http1 && !p.o.HTTP1)
	c.tr = &http.Transport{
		Proxy: nil, // measure the endpoint, not a proxy (see the package doc)
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c.dials.Add(1)
			return &trackedConn{Conn: nc, id: p.connIDs.Add(1)}, nil
		},
		TLSClientConfig:     &tls.Config{RootCAs: p.o.RootCAs, ClientSessionCache: cache},
		TLSHandshakeTimeout: p.o.TLSHandshakeTimeout,
		Protocols:           &protos,
		// One connection, so "reused" can only mean that one, and no
		// second connection is dialled behind our back.
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		// 0: the client never closes an idle connection; only the server
		// (or the network) can, which is what the idle search measures.
		IdleConnTimeout: 0,
	}
	c.hc = &http.Client{
		Transport: c.tr,
		// A redirect would measure another URL (and maybe another host).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// close closes the client's connections.
func (c *client) close() { c.tr.CloseIdleConnections() }

// trackedConn numbers a connection, so that httptrace's GotConn says which
// one a request used.
type trackedConn struct {
	net.Conn
	id int64
}

// connID is the number of the trackedConn under c (under TLS too), or 0.
func connID(c net.Conn) int64 {
	for c != nil {
		if tc, ok := c.(*trackedConn); ok {
			return tc.id
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return 0
		}
		c = u.NetConn()
	}
	return 0
}

// sample is one traced request. Durations of phases that did not happen
// (DNS for an IP literal, everything but Wait on a reused connection) are 0.
type sample struct {
	DNS, Connect, TLS time.Duration
	Wait              time.Duration // request written → first response byte
	TTFB              time.Duration // start → first response byte
	Total             time.Duration // start → end of the body

	Reused bool  // GotConn: the connection had served a request before
	ConnID int64 // which connection (trackedConn.id)
	Dials  int64 // connections the client dialled during the request

	Status   int
	Proto    string // "h2" or "http/1.1"
	TLSState *tls.ConnectionState
	Header   http.Header
	Close    bool   // the server said it closes the connection after this answer
	Remote   string // the address connected to
}

// tracer collects httptrace events. The transport may call them from
// several goroutines (happy eyeballs, a retry on a new connection).
type tracer struct {
	mu                      sync.Mutex
	start                   time.Time
	dnsStart, connStart     time.Time
	tlsStart                time.Time
	dns, connect, handshake time.Duration
	wrote, firstByte        time.Time
	reused                  bool
	connID                  int64
	remote                  string
	last                    Phase // the phase entered last, to classify an untyped error
}

func (t *tracer) set(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f()
}

func (t *tracer) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) {
			t.set(func() { t.dnsStart, t.last = time.Now(), PhaseDNS })
		},
		DNSDone: func(httptrace.DNSDoneInfo) {
			t.set(func() { t.dns = time.Since(t.dnsStart) })
		},
		ConnectStart: func(string, string) {
			t.set(func() {
				if t.connStart.IsZero() {
					t.connStart = time.Now()
				}
				t.last = PhaseConnect
			})
		},
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				t.set(func() { t.connect = time.Since(t.connStart) })
			}
		},
		TLSHandshakeStart: func() {
			t.set(func() { t.tlsStart, t.last = time.Now(), PhaseTLS })
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				t.set(func() { t.handshake = time.Since(t.tlsStart) })
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			t.set(func() {
				t.reused, t.connID, t.last = info.Reused, connID(info.Conn), PhaseHTTP
				if a := info.Conn.RemoteAddr(); a != nil {
					t.remote = a.String()
				}
			})
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			t.set(func() { t.wrote = time.Now() })
		},
		GotFirstResponseByte: func() {
			t.set(func() { t.firstByte = time.Now() })
		},
	}
}

// do sends one GET on c and reads the answer to the end. An error is an
// *Error naming the phase that failed, or ctx's error.
func (p *prober) do(parent context.Context, c *client) (sample, error) {
	ctx, cancel := context.WithTimeout(parent, p.o.RequestTimeout)
	defer cancel()
	t := &tracer{start: time.Now()}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, t.clientTrace()), http.MethodGet, p.target, nil)
	if err != nil {
		return sample{}, err
	}
	req.Header.Set("User-Agent", "warmgate-probe")
	if p.o.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.o.APIKey)
	}
	for k, v := range p.o.Header {
		req.Header[k] = v
	}
	if p.o.Prepare != nil {
		if err := p.o.Prepare(req); err != nil {
			return sample{}, err
		}
	}
	dials := c.dials.Load()
	resp, err := c.hc.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
	}
	end := time.Now()

	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if perr := parent.Err(); perr != nil {
			return sample{}, perr // the caller gave up; not the endpoint's fault
		}
		return sample{}, classify(err, p.hostPort, t.last)
	}
	s := sample{
		DNS: t.dns, Connect: t.connect, TLS: t.handshake,
		Total:  end.Sub(t.start),
		Reused: t.reused, ConnID: t.connID, Dials: c.dials.Load() - dials,
		Status: resp.StatusCode, Proto: "http/1.1", TLSState: resp.TLS,
		Header: resp.Header, Close: resp.Close, Remote: t.remote,
	}
	if resp.ProtoMajor == 2 {
		s.Proto = "h2"
	}
	if !t.firstByte.IsZero() {
		s.TTFB = t.firstByte.Sub(t.start)
		if !t.wrote.IsZero() {
			s.Wait = t.firstByte.Sub(t.wrote)
		}
	}
	return s, nil
}
