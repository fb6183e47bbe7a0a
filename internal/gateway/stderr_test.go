// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// With JSON logs, everything the gateway process writes to stderr is a JSON
// line, including what the libraries it uses have to say: the OpenTelemetry
// SDK about a collector it cannot reach, go-redis about a Redis that is
// down. Both print plain text with the standard library's log package
// unless given a logger, and they can only be seen from outside the
// process, so the gateway runs as a child process (this test binary
// again).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// sdkErrorMsg is the message of the log line that carries an error of the
// OpenTelemetry SDK.
const sdkErrorMsg = "tracing: the OpenTelemetry SDK reports an error"

// TestStderrIsJSON: a gateway with JSON logs that traces to a closed
// loopback port (the collector refuses) and keeps its limits in a Redis on
// another closed port writes only JSON lines to stderr, among them the
// exporter's failure and go-redis's failed dial.
func TestStderrIsJSON(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestStderrChildGateway$")
	cmd.Env = append(os.Environ(),
		"WARMGATE_STDERR_CHILD="+closedAddr(t)+","+closedAddr(t),
		// Export within 100ms of a span (the SDK's batch processor reads
		// it), so that the failure comes soon.
		"OTEL_BSP_SCHEDULE_DELAY=100",
		"OTEL_EXPORTER_OTLP_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	var sdk, redis bool
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("a stderr line that is not JSON: %q", line)
			continue
		}
		sdk = sdk || v["msg"] == sdkErrorMsg
		redis = redis || v["msg"] == "redis client"
	}
	if !sdk || !redis {
		t.Errorf("no JSON line from the OpenTelemetry SDK (%t) or from go-redis (%t):\n%s", sdk, redis, stderr.String())
	}
}

// TestStderrChildGateway is the gateway process of TestStderrIsJSON; it
// runs only as that test's child.
func TestStderrChildGateway(t *testing.T) {
	env := os.Getenv("WARMGATE_STDERR_CHILD")
	if env == "" {
		t.Skip("runs as the child process of TestStderrIsJSON")
	}
	collector, redisAddr, _ := strings.Cut(env, ",")
	m, err := mock.Start(mock.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	yaml := fmt.Sprintf("data_dir: %q\nupstreams:\n  - {name: mock, base_url: %q}\n", t.TempDir(), m.URL()+"/v1") +
		fmt.Sprintf("tracing: {otlp_endpoint: %q, sample_ratio: 1}\n", "http://"+collector+"/v1/traces") +
		fmt.Sprintf("redis: {url: %q, timeout: 100ms}\n", "redis://"+redisAddr+"/0") +
		"keys:\n  - {name: team, key_env: K, rpm: 100}\n"
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "sk-team-0123456789" })
	if err != nil {
		t.Fatal(err)
	}
	w := &watchWriter{w: os.Stderr, want: []byte(sdkErrorMsg), seen: make(chan struct{})}
	s, err := gateway.NewServer(cfg, slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s.Start()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.After(20 * time.Second)
	for done := false; !done; {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4.1-mini", false)))
		req.Header.Set("Authorization", "Bearer sk-team-0123456789")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		select {
		case <-w.seen:
			done = true
		case <-deadline:
			done = true // the parent sees what is missing
		case <-time.After(100 * time.Millisecond):
		}
	}
	client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
}

// watchWriter passes writes through and closes seen once one contains
// want.
type watchWriter struct {
	w    *os.File
	want []byte
	once sync.Once
	seen chan struct{}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return w.w.Write(p)
}
