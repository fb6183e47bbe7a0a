package gateway

import (
	"bufio"
	"cmp"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/tracing"
	"github.com/warmgate/warmgate/internal/usage"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/upstream"
)

// accessLog collects what one request's log line says.
type accessLog struct {
	start    time.Time
	id       string
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
	usage    openai.Usage // the answer's, when known
	cost     float64      // of usage, at the config's prices
}

// logAccess writes one line per request. It never logs headers, so keys
// and Authorization cannot leak.
func (g *Gateway) logAccess(r *http.Request, sw *statusWriter, rec *accessLog) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	if r.Context().Err() != nil && sw.bytes == 0 {
		status = statusClientClosed
	}
	if rec.aborted != 0 {
		status = rec.aborted
	}
	level := slog.LevelInfo
	if rec.err != nil {
		level = slog.LevelWarn
	} else if status < 400 && quietPath(r.URL.Path) {
		level = slog.LevelDebug // the dashboard's own polling, every second
	}
	if g.metrics != nil {
		g.metrics.Request(rec.route, status, time.Since(rec.start))
	}
	if g.dash != nil && rec.api {
		g.dash.Answered(status)
	}
	// The same facts on the request span, when tracing is on.
	tracing.Annotate(r.Context(), tracing.Request{ID: rec.id, Status: status, Key: rec.key,
		Model: rec.model, Upstream: rec.upstream, Err: rec.err})
	if g.ledger != nil && rec.api {
		g.ledger.Record(usage.Record{Time: rec.start, RequestID: rec.id, Key: rec.key, Model: cmp.Or(rec.routed, rec.model),
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
		slog.String("method", r.Method),
		slog.String("route", rec.route),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(rec.start)),
		slog.Int64("bytes", sw.bytes))
	if rec.key != "" {
		line.AddAttrs(slog.String("key", rec.key))
	}
	if rec.model != "" {
		line.AddAttrs(slog.String("model", rec.model), slog.Bool("stream", rec.stream))
		if rec.routed != "" && rec.routed != rec.model {
			line.AddAttrs(slog.String("routed_model", rec.routed))
		}
	}
	if rec.upstream != "" {
		line.AddAttrs(slog.String("upstream", rec.upstream))
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
		line.AddAttrs(slog.String("error", rec.err.Error()))
	}
	if rec.aborted != 0 {
		line.AddAttrs(slog.Bool("aborted", true))
	}
	_ = g.log.Handler().Handle(r.Context(), line)
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

// routeLabel bounds the route names used in logs and metrics.
func routeLabel(p string) string {
	switch p {
	case "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/models",
		"/healthz", "/readyz", "/metrics", "/api/pools":
		return p
	}
	if len(p) > 4 && p[:4] == "/v1/" {
		return "/v1/*"
	}
	return "other"
}

// statusWriter remembers the status and size of an answer. It passes
// Flush, Hijack and the ResponseController's Unwrap through.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack implements http.Hijacker where the real writer does.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
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
