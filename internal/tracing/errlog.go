// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
)

// errorLogEvery bounds the lines about the SDK's own errors: a collector
// that is down fails every export the same way.
const errorLogEvery = 5 * time.Second

// sdkErrors is the OpenTelemetry error handler that LogErrorsTo installs.
type sdkErrors struct {
	log     atomic.Pointer[slog.Logger]
	last    atomic.Int64 // unix ns of the last line
	skipped atomic.Int64 // errors since then
}

var (
	errorsOnce sync.Once
	errorsTo   sdkErrors
)

// LogErrorsTo sends the OpenTelemetry SDK's own errors (an export that
// failed because the collector cannot be reached, spans dropped) to log,
// at warn, at most one line every 5 seconds, which counts the errors
// skipped since the last one. Without it the SDK prints them with the
// standard library's log package, a plain-text line on stderr in the
// middle of a JSON log.
//
// The SDK has one error handler for the whole process (otel.SetErrorHandler):
// the last logger given here gets the errors of every Tracer.
func LogErrorsTo(log *slog.Logger) {
	if log == nil {
		return
	}
	errorsTo.log.Store(log)
	errorsOnce.Do(func() { otel.SetErrorHandler(&errorsTo) })
}

// Handle implements otel.ErrorHandler.
func (e *sdkErrors) Handle(err error) {
	if err == nil {
		return
	}
	now := time.Now().UnixNano()
	last := e.last.Load()
	if now-last < int64(errorLogEvery) || !e.last.CompareAndSwap(last, now) {
		e.skipped.Add(1)
		return
	}
	args := []any{"error", err.Error()}
	if n := e.skipped.Swap(0); n > 0 {
		args = append(args, "errors_not_logged", n)
	}
	e.log.Load().Log(context.Background(), slog.LevelWarn, "tracing: the OpenTelemetry SDK reports an error", args...)
}
