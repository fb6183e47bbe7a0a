// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// BenchmarkRelay measures one non-streamed chat request through the
// gateway to the mock, both in this process over loopback, against the
// same request sent to the mock directly.
//
//	go test -run '^$' -bench BenchmarkRelay -benchmem ./internal/gateway/
func BenchmarkRelay(b *testing.B) {
	b.Setenv("OPENAI_API_KEY", "")
	m, err := mock.Start(mock.Options{Tokens: 16}, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	g := startGatewayB(b, m)
	body := []byte(chatBody("gpt-4.1-mini", false))
	for _, target := range []struct{ name, url string }{
		{"direct", m.URL() + "/v1/chat/completions"},
		{"gateway", g + "/v1/chat/completions"},
	} {
		b.Run(target.name, func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Post(target.url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// startGatewayB serves a gateway in front of m, the no-config way.
func startGatewayB(b *testing.B, m *mock.Server) string {
	b.Setenv("OPENAI_BASE_URL", m.URL()+"/v1")
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	cfg.DataDir = b.TempDir()
	s, err := gateway.NewServer(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	s.Start()
	b.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return "http://" + s.Addr()
}

// BenchmarkPaths measures one request on each path of a gateway whose
// upstreams are the mock in its dialects (kind openai for gpt-*, kind
// anthropic for claude-*, kind gemini for gemini-*, kind bedrock for
// anthropic.* (signed; the mock does not check signatures here, so that
// its own work stays out of the numbers)): today's OpenAI relay,
// path a (an Anthropic client to an anthropic upstream, relayed byte for
// byte), path b (an OpenAI client to an anthropic upstream), path c (an
// Anthropic client to an OpenAI upstream), d and e (an OpenAI and an
// Anthropic client to a gemini upstream), f and g (to a bedrock upstream:
// Converse, and ConverseStream's event stream), plain and streamed; and, for the
// gateway's own share, the same requests sent to the mock directly
// (direct-openai, direct-anthropic). Path a's cost against the OpenAI
// relay is the ratio of their overheads over direct, in one run.
//
//	go test -run '^$' -bench BenchmarkPaths -benchmem ./internal/gateway/
func BenchmarkPaths(b *testing.B) {
	m, err := mock.Start(mock.Options{Tokens: 16}, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	yaml := "upstreams:\n" +
		"  - {name: oa, base_url: " + m.URL() + "/v1, models: [\"gpt-*\"]}\n" +
		"  - {name: an, kind: anthropic, base_url: " + m.URL() + ", models: [\"claude-*\"]}\n" +
		"  - {name: ge, kind: gemini, base_url: " + m.URL() + ", models: [\"gemini-*\"]}\n" +
		"  - {name: br, kind: bedrock, region: us-east-1, base_url: " + m.URL() + ", models: [\"anthropic.*\"]}\n" +
		"data_dir: " + b.TempDir() + "\n"
	bedrockEnv(b, awsKeyID, awsSecret)
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	s, err := gateway.NewServer(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer func() { _ = s.Shutdown(context.Background()) }()
	g := "http://" + s.Addr()
	messages := func(model string, stream bool) string {
		if stream {
			return `{"model":"` + model + `","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Say something."}]}`
		}
		return `{"model":"` + model + `","max_tokens":64,"messages":[{"role":"user","content":"Say something."}]}`
	}
	for _, stream := range []bool{false, true} {
		mode := "plain"
		if stream {
			mode = "stream"
		}
		for _, p := range []struct{ name, path, body string }{
			{"direct-openai", "direct/v1/chat/completions", chatBody("gpt-4.1-mini", stream)},
			{"direct-anthropic", "direct/v1/messages", messages("claude-sonnet-4-5", stream)},
			{"openai-relay", "/v1/chat/completions", chatBody("gpt-4.1-mini", stream)},
			{"a-anthropic-relay", "/v1/messages", messages("claude-sonnet-4-5", stream)},
			{"b-openai-to-anthropic", "/v1/chat/completions", chatBody("claude-sonnet-4-5", stream)},
			{"c-anthropic-to-openai", "/v1/messages", messages("gpt-4.1-mini", stream)},
			{"d-openai-to-gemini", "/v1/chat/completions", chatBody("gemini-2.5-flash", stream)},
			{"e-anthropic-to-gemini", "/v1/messages", messages("gemini-2.5-flash", stream)},
			{"f-openai-to-bedrock", "/v1/chat/completions", chatBody(bedrockModel, stream)},
			{"g-anthropic-to-bedrock", "/v1/messages", messages(bedrockModel, stream)},
		} {
			b.Run(mode+"/"+p.name, func(b *testing.B) {
				tr := &http.Transport{MaxIdleConnsPerHost: 64}
				defer tr.CloseIdleConnections()
				c := &http.Client{Transport: tr}
				body := []byte(p.body)
				target := g + p.path
				if rest, ok := strings.CutPrefix(p.path, "direct"); ok {
					target = m.URL() + rest
				}
				b.ReportAllocs()
				for b.Loop() {
					req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Anthropic-Version", "2023-06-01")
					resp, err := c.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		}
	}
}
