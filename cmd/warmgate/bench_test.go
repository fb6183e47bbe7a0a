// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// runBench runs "warmgate bench ARGS" through the root command and returns
// its stdout and stderr.
func runBench(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"bench"}, args...))
	err := root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func benchMock(t *testing.T, o mock.Options) *mock.Server {
	t.Helper()
	m, err := mock.Start(o, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestBenchCmdJSON(t *testing.T) {
	m := benchMock(t, mock.Options{TLS: true})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, m.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WARMGATE_BENCH_TARGET", m.URL()+"/v1") // the env twin
	t.Setenv("BENCH_TEST_KEY", "sk-bench-secret")
	out, stderr, err := runBench(t, "--requests", "30", "--concurrency", "3", "--stream", "--ca", ca,
		"--key-env", "BENCH_TEST_KEY", "--json")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr is not a terminal, yet: %q", stderr)
	}
	if strings.Contains(out, "sk-bench-secret") {
		t.Error("the output shows the API key")
	}
	var j struct {
		Target               string             `json:"target"`
		Requests             int                `json:"requests"`
		Errors               int                `json:"errors"`
		Status               map[string]int     `json:"status"`
		Latency              map[string]float64 `json:"latency_ms"`
		FirstChunk           map[string]float64 `json:"first_chunk_ms"`
		ClientNewConnections int                `json:"client_new_connections"`
		Server               *struct {
			ConnectionsAccepted int `json:"connections_accepted"`
			TLSHandshakes       int `json:"tls_handshakes"`
		} `json:"server"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if j.Target != m.URL()+"/v1/chat/completions" || j.Requests != 30 || j.Errors != 0 || j.Status["200"] != 30 {
		t.Errorf("target %s requests %d errors %d status %v", j.Target, j.Requests, j.Errors, j.Status)
	}
	if j.Latency["p99"] <= 0 || j.FirstChunk["p50"] <= 0 {
		t.Errorf("latency %v first chunk %v", j.Latency, j.FirstChunk)
	}
	if j.Server == nil || j.Server.ConnectionsAccepted != j.ClientNewConnections || j.ClientNewConnections < 1 || j.ClientNewConnections > 3 {
		t.Errorf("client connections %d, server %+v", j.ClientNewConnections, j.Server)
	}
}

func TestBenchCmdTable(t *testing.T) {
	m := benchMock(t, mock.Options{})
	body := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(body, []byte(`{"model":"m","input":"hi"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runBench(t, "--target", m.URL()+"/v1", "--path", "/embeddings", "--body", body,
		"--rate", "200", "--duration", "200ms", "-H", "X-Mock-Fault: status=503,times=5")
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	for _, want := range []string{
		"POST " + m.URL() + "/v1/embeddings", "open loop: 200 req/s", "40 in ", "35 ok, 5 non-2xx, 0 errors",
		"200: 35, 503: 5", "p99.9", "latency", " dialed, 0 TLS handshakes", " accepted, 0 TLS handshakes (from " + m.URL() + "/mock/stats)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchCmdErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"both loops", []string{"--rate", "10", "--concurrency", "2"}, "concurrency"},
		{"key env unset", []string{"--key-env", "BENCH_TEST_UNSET_VAR"}, "not set or empty"},
		{"missing body", []string{"--body", "/nonexistent/body.json"}, "--body"},
		{"model with body", []string{"--body", "bench_test.go", "--model", "m"}, "default body"},
		{"bad header", []string{"-H", "no colon"}, "Name: value"},
		{"bad CA", []string{"--ca", "bench_test.go"}, "no PEM certificate"},
		{"bad target", []string{"--target", "127.0.0.1:8080"}, "http:// or https://"},
		{"args", []string{"http://x"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runBench(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestBenchCmdNothingSucceeded: a run in which no request succeeded exits
// non-zero with its dominant failure and what to check, after printing
// its report; one success is enough for a zero exit.
func TestBenchCmdNothingSucceeded(t *testing.T) {
	m := benchMock(t, mock.Options{})
	for _, tc := range []struct {
		name string
		args []string
		want []string // in the error; none: no error
	}{
		{"all 401", []string{"--target", m.URL() + "/v1", "-H", "X-Mock-Fault: status=401"},
			[]string{"no request succeeded", "20 of 20 answered 401 Unauthorized", `"Mock fault: 401 Unauthorized."`, "--key-env"}},
		{"all 404", []string{"--target", m.URL(), "--stats-url", "none"},
			[]string{"20 of 20 answered 404 Not Found", "Invalid URL", "usually ends in /v1"}},
		{"refused", []string{"--target", "http://" + closedAddr(t) + "/v1", "--stats-url", "none"},
			[]string{"20 of 20 failed with connect_refused", "is the target running"}},
		{"one success", []string{"--target", m.URL() + "/v1", "-H", "X-Mock-Fault: status=401,times=19", "--concurrency", "1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runBench(t, append([]string{"--requests", "20", "--concurrency", "2"}, tc.args...)...)
			if !strings.Contains(out, "20 in ") {
				t.Errorf("the report is missing:\n%s", out)
			}
			if tc.want == nil {
				if err != nil {
					t.Errorf("bench with a success: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("bench exited 0 although no request succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
