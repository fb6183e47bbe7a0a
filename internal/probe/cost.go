// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"context"
	"crypto/tls"
	"fmt"
)

// cost measures requests on new connections and on one reused connection,
// TLS session resumption, and the Keep-Alive header. The first request is
// the one that finds an endpoint unreachable.
func (p *prober) cost(ctx context.Context, r *Report) error {
	n := p.o.Samples
	total := int64(2*n + 1)
	if p.https {
		total += 2
	}
	var done int64
	step := func(phase, detail string) {
		done++
		p.progress(Progress{Phase: phase, Detail: detail, Done: done, Total: total})
	}

	// New connections: a fresh client each time, so no idle connection and
	// no TLS session to resume: the full price a client without a pool (or
	// with a stale one) pays.
	cold := make([]sample, 0, n)
	for i := range n {
		c := p.newClient(nil, false)
		s, err := p.do(ctx, c)
		c.close()
		if err != nil {
			return err
		}
		if i == 0 {
			r.describe(s)
		}
		cold = append(cold, s)
		step("cold", fmt.Sprintf("new connection %d/%d", i+1, n))
	}
	r.Cold = summarize(cold)

	// TLS session resumption: two new connections sharing a session cache.
	// TLS 1.3 tickets arrive after the handshake; reading the first answer
	// to its end has processed them.
	if p.https {
		cache := tls.NewLRUClientSessionCache(4)
		var pair [2]sample
		for i := range pair {
			c := p.newClient(cache, false)
			s, err := p.do(ctx, c)
			c.close()
			if err != nil {
				return err
			}
			pair[i] = s
			step("resumption", "TLS session resumption")
		}
		if st := pair[1].TLSState; st != nil && r.TLS != nil {
			r.TLS.ResumptionChecked = true
			r.TLS.Resumption = st.DidResume
			if st.DidResume {
				r.TLS.ResumedHandshake = pair[1].TLS
			}
		}
	}

	// One reused connection: the first request opens it and is not counted.
	c := p.newClient(nil, false)
	defer c.close()
	first, err := p.do(ctx, c)
	if err != nil {
		return err
	}
	step("warm", "opening the reused connection")
	r.KeepAliveHeader = first.Header.Get("Keep-Alive")
	warm := make([]sample, 0, n)
	reused := 0
	for i := range n {
		s, err := p.do(ctx, c)
		if err != nil {
			return err
		}
		if s.Reused && s.Dials == 0 {
			reused++
		}
		if r.KeepAliveHeader == "" {
			r.KeepAliveHeader = s.Header.Get("Keep-Alive")
		}
		warm = append(warm, s)
		step("warm", fmt.Sprintf("reused connection %d/%d", i+1, n))
	}
	r.Warm = summarize(warm)
	r.Warm.Reused = reused
	r.KeepAlive = reused > 0

	// HTTP/2 has no Keep-Alive header; HTTP/1.1 clients (httpx, Node's
	// https) may still get one. Ask once; a server that refuses HTTP/1.1
	// just has no header to report.
	if r.Protocol == "h2" && r.KeepAliveHeader == "" {
		c1 := p.newClient(nil, true)
		s, err := p.do(ctx, c1)
		c1.close()
		if err == nil {
			r.KeepAliveHeader = s.Header.Get("Keep-Alive")
			r.KeepAliveHeaderHTTP1 = r.KeepAliveHeader != ""
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// describe fills in what the first answer tells about the endpoint.
func (r *Report) describe(s sample) {
	r.Status = s.Status
	r.Server = s.Header.Get("Server")
	r.RemoteAddr = s.Remote
	r.Protocol = s.Proto
	if st := s.TLSState; st != nil {
		r.TLS = &TLSInfo{
			Version:     tls.VersionName(st.Version),
			CipherSuite: tls.CipherSuiteName(st.CipherSuite),
			ALPN:        st.NegotiatedProtocol,
		}
	}
}
