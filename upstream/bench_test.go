// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// BenchmarkTransport compares, against the TLS mock in one run: no
// keep-alive, the stdlib's default transport settings, a bare tuned
// http.Transport, and the upstream Pool; HTTP/1.1 and HTTP/2; sequential
// and with 32 concurrent callers. newconns/1k is counted by the mock;
// cpu-µs/op is the process's CPU time (mock and client) per request, and
// the h1/exchange-* and h1/held-* sub-benchmarks compare the two ways of
// speaking HTTP/1.1 on one connection (see benchH1Exchange, benchH1Held).
//
//	go test -run '^$' -bench BenchmarkTransport -benchmem ./upstream/
func BenchmarkTransport(b *testing.B) {
	for _, proto := range []string{"h1", "h2"} {
		m, err := mock.Start(mock.Options{TLS: true, NoH2: proto == "h1", Tokens: 1}, "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		tlsConf := &tls.Config{RootCAs: m.CertPool()}
		url := m.URL() + "/v1/chat/completions"
		body := []byte(`{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`)

		clients := []struct {
			name string
			make func() (do func(*http.Request) (*http.Response, error), close func())
		}{
			{"nokeepalive", func() (func(*http.Request) (*http.Response, error), func()) {
				t := &http.Transport{DisableKeepAlives: true, TLSClientConfig: tlsConf, ForceAttemptHTTP2: true}
				return t.RoundTrip, t.CloseIdleConnections
			}},
			{"stdlib-default", func() (func(*http.Request) (*http.Response, error), func()) {
				t := http.DefaultTransport.(*http.Transport).Clone()
				t.TLSClientConfig = tlsConf
				return t.RoundTrip, t.CloseIdleConnections
			}},
			{"bare-tuned", func() (func(*http.Request) (*http.Response, error), func()) {
				t := &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64}
				return t.RoundTrip, t.CloseIdleConnections
			}},
			{"upstream", func() (func(*http.Request) (*http.Response, error), func()) {
				p, err := New([]Config{{Name: "mock", BaseURL: m.URL() + "/v1", TLS: tlsConf}})
				if err != nil {
					b.Fatal(err)
				}
				return p.Do, func() { p.Close() }
			}},
		}
		for _, c := range clients {
			for _, par := range []int{1, 32} {
				name := proto + "/" + c.name + "/seq"
				if par > 1 {
					name = proto + "/" + c.name + "/conc32"
				}
				b.Run(name, func(b *testing.B) {
					do, closeFn := c.make()
					defer closeFn()
					one := func() {
						req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
						resp, err := do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					one() // warm: the first connection is not what is measured
					before := m.Stats().ConnectionsAccepted
					b.ReportAllocs()
					b.ResetTimer()
					cpu := cpuTime()
					if par == 1 {
						for b.Loop() {
							one()
						}
					} else {
						b.SetParallelism(par / max(1, testingProcs()))
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								one()
							}
						})
					}
					b.StopTimer()
					reportCPU(b, cpu)
					opened := m.Stats().ConnectionsAccepted - before
					b.ReportMetric(float64(opened)*1000/float64(b.N), "newconns/1k")
				})
			}
		}
		if proto == "h1" {
			benchH1Exchange(b, m, tlsConf, url, body)
		}
		m.Close()
	}
	benchH1Held(b)
}

// h1Exchange is one HTTP/1.1 connection to addr over TLS, either way the
// pool could speak on it: net/http's http.ClientConn (a writer and a
// reader goroutine per connection, requests and answers handed between
// them), or an h1conn (the exchange in the caller's goroutine).
type h1Exchange struct {
	name string
	dial func(b *testing.B, addr string, tlsConf *tls.Config) (rt func(*http.Request) (*http.Response, error), close func())
}

var h1Exchanges = []h1Exchange{
	{"clientconn", func(b *testing.B, addr string, tlsConf *tls.Config) (func(*http.Request) (*http.Response, error), func()) {
		protos := new(http.Protocols)
		protos.SetHTTP1(true)
		t := &http.Transport{TLSClientConfig: tlsConf, Protocols: protos}
		cc, err := t.NewClientConn(b.Context(), "https", addr)
		if err != nil {
			b.Fatal(err)
		}
		return cc.RoundTrip, func() { cc.Close() }
	}},
	{"direct", func(b *testing.B, addr string, tlsConf *tls.Config) (func(*http.Request) (*http.Response, error), func()) {
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conf := tlsConf.Clone()
		conf.ServerName, conf.NextProtos = "127.0.0.1", []string{"http/1.1"}
		tc := tls.Client(raw, conf)
		if err := tc.HandshakeContext(b.Context()); err != nil {
			b.Fatal(err)
		}
		c := newH1conn(tc, raw, nil)
		return c.roundTrip, c.close
	}},
}

// benchH1Exchange measures one HTTP/1.1 exchange on one warm connection,
// without the pool: what the pool's choice between http.ClientConn and
// an h1conn costs per request (h1/exchange-*/seq).
func benchH1Exchange(b *testing.B, m *mock.Server, tlsConf *tls.Config, url string, body []byte) {
	for _, x := range h1Exchanges {
		b.Run("h1/exchange-"+x.name+"/seq", func(b *testing.B) {
			rt, closeFn := x.dial(b, m.Addr(), tlsConf)
			defer closeFn()
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := rt(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			reportCPU(b, cpu)
		})
	}
}

// reportCPU reports the process's CPU time per operation since since: the
// mock's (in the same process) and the client's. On a shared machine it
// is steadier than ns/op, which counts the time other processes held the
// CPUs.
func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpuTime()-since)/float64(b.N)/1e3, "cpu-µs/op")
}

// benchH1Held measures what a held stream costs on each kind of HTTP/1.1
// connection: each iteration opens a connection to an HTTP/1.1 TLS server
// whose handler sends a first chunk and then holds the stream, and keeps
// it; once all are open, the process's heap and stacks in use (and its
// goroutines) per held stream are reported. The server is the same for
// both, in the same process: the difference between the two is the
// client's.
//
//	go test -run '^$' -bench 'BenchmarkTransport/h1/held' -benchtime 500x ./upstream/
func benchH1Held(b *testing.B) {
	release := make(chan struct{})
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	defer s.Close()
	defer close(release)
	tlsConf := s.Client().Transport.(*http.Transport).TLSClientConfig
	for _, x := range h1Exchanges {
		b.Run("h1/held-"+x.name, func(b *testing.B) {
			var closers []func()
			var bodies []io.ReadCloser
			defer func() {
				for _, c := range closers {
					c()
				}
			}()
			before := memInUse()
			goroutines := runtime.NumGoroutine()
			for b.Loop() {
				rt, closeFn := x.dial(b, s.Listener.Addr().String(), tlsConf)
				closers = append(closers, closeFn)
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/chat/completions", strings.NewReader(`{"stream":true}`))
				resp, err := rt(req)
				if err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, 64)
				if _, err := resp.Body.Read(buf); err != nil {
					b.Fatal(err)
				}
				bodies = append(bodies, resp.Body)
			}
			b.StopTimer()
			after := memInUse()
			b.ReportMetric(float64(after-before)/float64(b.N), "B/stream")
			b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/float64(b.N), "goroutines/stream")
			runtime.KeepAlive(bodies)
		})
	}
}

// memInUse is the heap and goroutine stacks in use, after a collection.
func memInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

func testingProcs() int { return runtimeGOMAXPROCS() }

// BenchmarkIdleCheck is the cost of looking at an idle HTTP/1.1
// connection before reuse (h1conn.alive): on a loopback TCP socket, one
// non-blocking recv(MSG_PEEK); on a net.Pipe (a connection that is not a
// socket), a read bounded by peekWait.
//
//	go test -run '^$' -bench BenchmarkIdleCheck -benchmem ./upstream/
func BenchmarkIdleCheck(b *testing.B) {
	b.Run("socket", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
			}
		}()
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		c := newH1conn(nc, nc, nil)
		defer c.close()
		b.ReportAllocs()
		for b.Loop() {
			if !c.alive() {
				b.Fatal("an open idle connection was found closed")
			}
		}
	})
	b.Run("pipe", func(b *testing.B) {
		nc, other := net.Pipe()
		defer other.Close()
		c := newH1conn(nc, nc, nil)
		defer c.close()
		b.ReportAllocs()
		for b.Loop() {
			if !c.alive() {
				b.Fatal("an open idle connection was found closed")
			}
		}
	})
}
