// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warmgate/warmgate/internal/tracing"
	"github.com/warmgate/warmgate/internal/usage"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/upstream"
)

// accessLog collects what one request's log line says.
type accessLog struct {
	start    time.Time
	id       string
	idv      []string // id as a header value (call.id); nil: made when needed
	route    string
	key      string
	model    string
	routed   string // the model sent upstream, when not the requested one
	stream   bool
	upstream string
	attempt  upstream.AttemptInfo // the attempt that answered, when one did
	events   int
	err      error
	// aborted is, for an answer cut after its status line went out (an
	// error event, then an aborted response), the status of the error it
	// was cut with: what the client got, as logs, metrics, traces and the
	// ledger report it. 0 when the answer was not cut.
	aborted  int
	fellBack bool         // a fallback model answered: the gateway tried more than one
	api      bool         // an API request (relay): recorded in the usage ledger
	unrouted bool         // refused because of its model (not allowed, not served)
	usage    openai.Usage // the answer's, when known
	cost     float64      // of usage, at the config's prices

	// translated says the answer came from an upstream of the other
	// dialect, translated both ways (translation.go).
	translated bool
}

// logAccess writes one line per request. It never logs headers, so keys
// and Authorization cannot leak.
func (g *Gateway) logAccess(r *http.Request, sw *respWriter, rec *accessLog) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	gone := r.Context().Err() != nil
	if gone && sw.bytes == 0 {
		status = statusClientClosed
	}
	if rec.aborted != 0 {
		status = rec.aborted
	}
	if gone && errors.Is(rec.err, context.Canceled) {
		// The client left and its upstream request was cut for it: the
		// status says so, and nothing failed.
		rec.err = nil
	}
	level := slog.LevelInfo
	if rec.err != nil {
		level = slog.LevelWarn
	} else if status < 400 && quietPath(r.URL.Path) {
		level = slog.LevelDebug // the dashboard's own polling, every second
	}
	if g.metrics != nil {
		d := time.Since(rec.start)
		g.metrics.Request(rec.route, status, d)
		if rec.api {
			g.metrics.ModelRequest(cmp.Or(rec.routed, rec.model), rec.key, status, d)
		}
	}
	// The model is the client's string, of any length: what is written
	// down of it is cut (clip).
	model, routed := clip(rec.model, maxLogged), clip(rec.routed, maxLogged)
	if g.dash != nil && rec.api {
		g.dash.Answered(status)
	}
	// The same facts on the request span, when tracing is on.
	if !g.untraced {
		tracing.Annotate(r.Context(), tracing.Request{ID: rec.id, Status: status, Key: rec.key,
			Model: model, Upstream: rec.upstream, Err: rec.err})
	}
	if g.ledger != nil && rec.api {
		recorded := cmp.Or(routed, model)
		if rec.unrouted {
			recorded = unroutedModel
		}
		g.ledger.Record(usage.Record{Time: rec.start, RequestID: rec.id, Key: rec.key, Model: recorded,
			Upstream: rec.upstream, PromptTokens: rec.usage.PromptTokens, CompletionTokens: rec.usage.CompletionTokens,
			Cost: rec.cost, Status: status, Latency: time.Since(rec.start), Stream: rec.stream})
	}
	if !g.log.Enabled(r.Context(), level) {
		return // no line to write: skip building it
	}
	// The record is made here rather than by Logger.LogAttrs, which
	// would also look up the caller's PC (never logged: no AddSource).
	line := slog.NewRecord(time.Now(), level, "request", 0)
	line.AddAttrs(
		slog.String("request_id", rec.id),
		slog.String("method", clip(r.Method, maxLoggedMethod)),
		slog.String("route", rec.route),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(rec.start)),
		slog.Int64("bytes", sw.bytes))
	if rec.key != "" {
		line.AddAttrs(slog.String("key", rec.key))
	}
	if rec.model != "" {
		line.AddAttrs(slog.String("model", model), slog.Bool("stream", rec.stream))
		if rec.routed != "" && rec.routed != rec.model {
			line.AddAttrs(slog.String("routed_model", routed))
		}
	}
	if rec.upstream != "" {
		line.AddAttrs(slog.String("upstream", rec.upstream))
	}
	if rec.translated {
		line.AddAttrs(slog.Bool("translated", true))
	}
	if a := rec.attempt; a.Upstream != "" {
		line.AddAttrs(
			slog.Duration("first_byte", a.FirstByte),
			slog.Int("retries", a.Attempt-1),
			slog.Bool("conn_reused", a.Reused),
			slog.String("proto", a.Proto))
		if a.PoolWait > time.Millisecond {
			line.AddAttrs(slog.Duration("pool_wait", a.PoolWait))
		}
	}
	if u := rec.usage; u.TotalTokens > 0 {
		line.AddAttrs(slog.Int("prompt_tokens", u.PromptTokens), slog.Int("completion_tokens", u.CompletionTokens))
	}
	if rec.events > 0 {
		line.AddAttrs(slog.Int("events", rec.events))
	}
	if rec.err != nil {
		line.AddAttrs(slog.String("error", clip(rec.err.Error(), maxLoggedError)))
	}
	if rec.aborted != 0 {
		line.AddAttrs(slog.Bool("aborted", true))
	}
	_ = g.log.Handler().Handle(r.Context(), line)
}

// Bounds on what a request writes down (the access log, the usage ledger,
// span attributes) of strings the client chose. Model names are a few
// dozen bytes; a request's body, hence its model, may be 32 MiB.
const (
	maxLogged       = 256  // a model name
	maxLoggedMethod = 32   // the HTTP method: any token net/http accepts
	maxLoggedError  = 1024 // an error's text
)

// unroutedModel is the usage ledger's model for a request refused because
// of its model (not allowed for its key, or served by no upstream): the
// name is the client's, anything at all, so the ledger keeps none of it
// (the access log has its start).
const unroutedModel = "(unrouted)"

// clip returns s if it is at most n bytes long, else its start, cut at a
// character boundary, and its length, in n bytes at most:
// "gpt-mmmm…(31457284 bytes)".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	tail := "…(" + strconv.Itoa(len(s)) + " bytes)"
	i := max(n-len(tail), 0)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + tail
}

// quietPath reports whether a successful request to p is logged at debug
// rather than info: what an open dashboard page asks for every second or
// so (its data, its assets), which would otherwise bury the API traffic.
func quietPath(p string) bool {
	return p == "/api/pools" || p == "/api/usage" || p == "/dashboard" || strings.HasPrefix(p, "/dashboard/")
}

// retried reports whether the gateway sent the request more than once:
// retries, failover or a fallback model.
func (rec *accessLog) retried() bool { return rec.attempt.Attempt > 1 || rec.fellBack }

// routeLabel bounds the route names used in logs and metrics: the
// endpoint table's (endpoint.label), and the operational endpoints'.
func routeLabel(p string) string {
	switch p {
	case "/healthz", "/readyz", "/metrics", "/api/pools":
		return p
	}
	if e := endpointFor(p, http.MethodPost); e != nil {
		return e.label(p)
	}
	return "other"
}

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return strconv.Quote(s)
}

func itoa(n int) string { return strconv.Itoa(n) }

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
