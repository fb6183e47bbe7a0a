// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/warmgate/warmgate/ratelimit"
)

// TestNewClientFailsAtOnce: with a Redis that refuses connections, a call
// through NewClient's client fails with the refusal itself, after one
// dial, not after go-redis's dial retries have eaten the call's whole
// timeout (they take 400ms, more than the gateway's default 250ms). Its
// log line about the failed dial goes to the logger LogTo gave, as JSON.
func TestNewClientFailsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused from here on
	c, err := NewClient("redis://"+addr+"/0", 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var buf syncBuffer
	LogTo(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer redis.SetLogger(quiet{})

	l := New(c, func(string) ratelimit.Limit { return ratelimit.Limit{PerMinute: 10} }, Options{Timeout: 250 * time.Millisecond})
	_, err = l.Allow(t.Context(), "k", 1)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Allow with Redis refusing connections: %v, want the refusal (not a timeout after dial retries)", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for _, line := range lines {
		if line == "" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("go-redis logged a line that is not JSON: %q", line)
		}
	}
	if !strings.Contains(buf.String(), "failed to dial") {
		t.Errorf("go-redis's line about the failed dial is not in the log: %q", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
