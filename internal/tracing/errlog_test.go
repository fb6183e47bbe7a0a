// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, s := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(s), &v) == nil {
			out = append(out, v)
		}
	}
	return out
}

// TestLogErrorsTo: the SDK's errors reach the last logger given, at warn,
// one line per errorLogEvery at most, which counts the ones not logged.
func TestLogErrorsTo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var first, buf lockedBuf
		LogErrorsTo(slog.New(slog.NewJSONHandler(&first, nil)))
		LogErrorsTo(slog.New(slog.NewJSONHandler(&buf, nil))) // the last one wins
		errorsTo.last.Store(0)
		errorsTo.skipped.Store(0)
		for range 10 {
			otel.Handle(errors.New("traces export: connection refused"))
		}
		time.Sleep(errorLogEvery)
		otel.Handle(errors.New("traces export: connection refused"))
		lines := buf.lines()
		if len(lines) != 2 || len(first.lines()) != 0 {
			t.Fatalf("%d lines (and %d to the first logger), want 2: %v", len(lines), len(first.lines()), lines)
		}
		for _, l := range lines {
			if l["level"] != "WARN" || !strings.Contains(l["error"].(string), "connection refused") {
				t.Errorf("line %v, want a warning with the error", l)
			}
		}
		if lines[1]["errors_not_logged"] != float64(9) {
			t.Errorf("second line %v, want errors_not_logged 9", lines[1])
		}
	})
}
