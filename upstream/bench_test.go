// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// BenchmarkTransport compares, against the TLS mock in one run: no
// keep-alive, the stdlib's default transport settings, a bare tuned
// http.Transport, and the upstream Pool; HTTP/1.1 and HTTP/2; sequential
// and with 32 concurrent callers. newconns/1k is counted by the mock.
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
					opened := m.Stats().ConnectionsAccepted - before
					b.ReportMetric(float64(opened)*1000/float64(b.N), "newconns/1k")
				})
			}
		}
		m.Close()
	}
}

func testingProcs() int { return runtimeGOMAXPROCS() }
