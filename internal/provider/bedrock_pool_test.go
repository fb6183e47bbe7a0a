// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/internal/translate/bedrock"
	"github.com/warmgate/warmgate/upstream"
)

const poolModel = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"

// bedrockPool builds an upstream.Pool for a kind bedrock upstream at m, as
// the gateway does: the endpoint's base URL and Prepare, its Check first.
func bedrockPool(t *testing.T, m *mock.Server) *upstream.Pool {
	t.Helper()
	ep, err := New(Settings{Kind: Bedrock, Region: "us-east-1", BaseURL: m.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	p, err := upstream.New([]upstream.Config{{Name: "bedrock", BaseURL: ep.BaseURL, Header: ep.Header, Prepare: ep.Prepare,
		TLS: &tls.Config{RootCAs: m.CertPool()}, Retry: upstream.RetryPolicy{Base: 1e6, Max: 2e6}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func converse(t *testing.T, p *upstream.Pool, stream bool, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, BedrockPath(poolModel, stream),
		strings.NewReader(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":16}}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := p.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestBedrockPoolAgainstMock: a pool for a kind bedrock upstream passes
// the mock's signature check on every kind of request it sends, over
// HTTP/1.1 and HTTP/2: the warm-up (GET /models mapped to
// ListAsyncInvokes), Converse to an ARN (its ":" and "/" escaped),
// ConverseStream read to its metadata, and a throttled request retried
// (signed again over the same body); a wrong secret key gets Bedrock's
// 403, not retried. The secret is in no log line, error or stats.
func TestBedrockPoolAgainstMock(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			awsEnv(t, testAccessKey, testSecretKey, "")
			var logs bytes.Buffer
			var mu sync.Mutex
			m, err := mock.Start(mock.Options{TLS: true, NoH2: !h2, AWSAccessKeyID: testAccessKey, AWSSecretAccessKey: testSecretKey,
				Logger: slog.New(slog.NewTextHandler(&lockedBuffer{b: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))}, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Close() })
			p := bedrockPool(t, m)

			p.Warm(t.Context())
			if st := p.Stats()[0].WarmStatus; st != http.StatusOK {
				t.Errorf("warm-up status %d, want 200 (a signed ListAsyncInvokes)", st)
			}
			warm := m.Stats().ConnectionsAccepted

			resp, b := converse(t, p, false)
			if got := m.Stats().ConnectionsAccepted; warm == 0 || got != warm {
				t.Errorf("Converse after the warm-up: %d connections, then %d; want the warm one reused", warm, got)
			}
			var out bedrock.Response
			if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || out.StopReason != bedrock.StopEndTurn || out.Usage.OutputTokens != 16 {
				t.Fatalf("Converse: status %d: %s", resp.StatusCode, b)
			}
			if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
				t.Errorf("answered over HTTP/%d, want HTTP/%d", resp.ProtoMajor, want)
			}

			resp, b = converse(t, p, true)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
				t.Fatalf("ConverseStream: status %d, %s: %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			rd := bedrock.NewReader(bytes.NewReader(b), 0)
			var last string
			for range 100 {
				ev, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				last = ev.Name
			}
			if last != bedrock.EventMetadata {
				t.Errorf("the stream ended with %q, want metadata", last)
			}

			// Throttled once: retried, signed again, then answered.
			before := p.Stats()[0].Retries["status_429"]
			resp, b = converse(t, p, false, mock.FaultHeader, "status=429,times=1")
			if resp.StatusCode != 200 {
				t.Fatalf("after a throttle: status %d: %s", resp.StatusCode, b)
			}
			if got := p.Stats()[0].Retries["status_429"] - before; got != 1 {
				t.Errorf("status_429 retries = %d, want 1", got)
			}

			// The wrong secret: Bedrock's 403 reaches the caller.
			t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
			bad := bedrockPool(t, m)
			resp, b = converse(t, bad, false)
			if resp.StatusCode != 403 || bedrock.ErrorType(resp.Header.Get(bedrock.ErrorTypeHeader), b) != bedrock.ErrInvalidSignature {
				t.Errorf("a wrong secret: status %d, %s: %s; want 403 InvalidSignatureException", resp.StatusCode, resp.Header.Get(bedrock.ErrorTypeHeader), b)
			}
			for kind, n := range bad.Stats()[0].Retries {
				if n != 0 {
					t.Errorf("a signature refused was retried (%s: %d)", kind, n)
				}
			}

			stats, _ := json.Marshal(p.Stats())
			mu.Lock()
			logged := logs.String()
			mu.Unlock()
			if strings.Contains(logged, testSecretKey) || strings.Contains(string(stats), testSecretKey) {
				t.Error("the secret key appears in the mock's debug log or the pool's stats")
			}
			if !strings.Contains(logged, "mock: request") {
				t.Error("the mock logged nothing: the log check checks nothing")
			}
		})
	}
}

// TestBedrockPoolDeadUpstream: a failed attempt's error shows no
// credential.
func TestBedrockPoolDeadUpstream(t *testing.T) {
	awsEnv(t, testAccessKey, testSecretKey, "")
	m, err := mock.Start(mock.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := bedrockPool(t, m)
	_ = m.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, BedrockPath("m", false), strings.NewReader(`{}`))
	_, err = p.Do(req)
	if _, ok := errors.AsType[*upstream.Error](err); !ok || strings.Contains(err.Error(), testSecretKey) || strings.Contains(err.Error(), testAccessKey) {
		t.Errorf("error %v: want an *upstream.Error without the credentials", err)
	}
}

type lockedBuffer struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
