// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy is a forward HTTP proxy: it tunnels CONNECT (an https upstream)
// and forwards absolute-form requests (an http upstream).
type proxy struct {
	*httptest.Server
	tunnels, forwarded atomic.Int64
	wg                 sync.WaitGroup
}

func newProxy(t *testing.T) *proxy {
	t.Helper()
	p := &proxy{}
	fwd := &http.Transport{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			p.tunnels.Add(1)
			up, err := net.Dial("tcp", r.Host)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				up.Close()
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			p.wg.Go(func() { p.pipe(up, c, brw.Reader) })
			return
		}
		p.forwarded.Add(1)
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := fwd.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(func() {
		p.Close()
		fwd.CloseIdleConnections()
		p.wg.Wait()
	})
	return p
}

// pipe copies between the client and the upstream until either ends.
func (p *proxy) pipe(up, c net.Conn, buffered *bufio.Reader) {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, buffered) // client -> upstream
		up.Close()
		close(done)
	}()
	_, _ = io.Copy(c, up) // upstream -> client
	c.Close()
	<-done
}

// TestProxyIsUsed: with a proxy (HTTPS_PROXY and the like, from the
// environment by default), the pool's connections go through it: one
// CONNECT tunnel carries an https upstream's requests, TLS and ALPN
// included; an http upstream's requests go to the proxy in absolute form.
func TestProxyIsUsed(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s := newServer(t, m, okHandler)
		px := newProxy(t)
		pu, _ := url.Parse(px.URL)
		p := newPool(t, s, func(c *Config) { c.proxy = http.ProxyURL(pu) })
		const n = 5
		for i := range n {
			resp, err := post(t, t.Context(), p, fmt.Sprint(i))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("POST /v1/chat/completions %d", i); string(b) != want {
				t.Fatalf("body = %q, want %q", b, want)
			}
			if m == h2 && resp.ProtoMajor != 2 {
				t.Fatalf("proto = %s, want HTTP/2 through the tunnel", resp.Proto)
			}
		}
		st := p.Stats()[0]
		switch {
		case m == h1 && (px.forwarded.Load() != n || px.tunnels.Load() != 0):
			t.Errorf("the proxy forwarded %d requests and tunneled %d connections; want %d and 0", px.forwarded.Load(), px.tunnels.Load(), n)
		case m != h1 && (px.tunnels.Load() != 1 || px.forwarded.Load() != 0):
			t.Errorf("the proxy tunneled %d connections and forwarded %d requests; want 1 and 0", px.tunnels.Load(), px.forwarded.Load())
		case st.Opened != 1 || st.Reused != n-1:
			t.Errorf("pool opened %d connections and reused %d; want 1 and %d", st.Opened, st.Reused, n-1)
		}
	})
}
