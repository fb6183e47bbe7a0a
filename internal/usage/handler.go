// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/warmgate/warmgate/openai"
)

// defaultSince is the window /api/usage and "warmgate usage" show when
// none is asked for: one day, what a dashboard glance means.
const defaultSince = "24h"

// Report is a Summary as JSON: what GET /api/usage answers and "warmgate
// usage --json" prints.
type Report struct {
	Since  string      `json:"since"` // RFC 3339, UTC; "" when unbounded
	Until  string      `json:"until"` // the given until, or the time of the query
	By     string      `json:"by"`
	Key    string      `json:"key,omitempty"`
	Model  string      `json:"model,omitempty"`
	Rows   []ReportRow `json:"rows"` // never null
	Totals Counts      `json:"totals"`
}

// ReportRow is one group of a Report.
type ReportRow struct {
	Group string `json:"group"`
	Counts
}

// Counts are a Row's numbers as JSON.
type Counts struct {
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	Cost             float64 `json:"cost"`           // US dollars, to the nano-dollar
	AvgLatencyMs     float64 `json:"avg_latency_ms"` // to the microsecond
}

func counts(r Row) Counts {
	return Counts{
		Requests: r.Requests, Errors: r.Errors,
		PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
		Cost:         math.Round(r.Cost*1e9) / 1e9, // sums of float costs end in noise (…60000000002)
		AvgLatencyMs: math.Round(float64(r.AvgLatency)/float64(time.Microsecond)) / 1000,
	}
}

// NewReport builds the Report of rows, the result of Summary(q) run at
// now.
func NewReport(q Query, now time.Time, rows []Row) Report {
	rep := Report{
		Until: now.UTC().Format(time.RFC3339),
		By:    cmp.Or(q.By, ByModel), Key: q.Key, Model: q.Model,
		Rows:   make([]ReportRow, 0, len(rows)),
		Totals: counts(Totals(rows)),
	}
	if !q.Since.IsZero() {
		rep.Since = q.Since.UTC().Format(time.RFC3339)
	}
	if !q.Until.IsZero() {
		rep.Until = q.Until.UTC().Format(time.RFC3339)
	}
	for _, row := range rows {
		rep.Rows = append(rep.Rows, ReportRow{Group: row.Group, Counts: counts(row)})
	}
	return rep
}

// Handler serves GET /api/usage: Summary as JSON for the dashboard. The
// caller mounts it behind its admin authentication. Query parameters, all
// optional:
//
//	since  start of the window, as ParseTime reads it (default 24h)
//	until  end of the window (default: none, i.e. now)
//	by     model (default), key, day or upstream
//	key    only this client key name
//	model  only this model
//
// The answer:
//
//	{"since":"2026-11-01T00:00:00Z","until":"2026-11-02T00:00:00Z","by":"model",
//	 "rows":[{"group":"gpt-4o-mini","requests":120,"errors":2,"prompt_tokens":51234,
//	          "completion_tokens":20480,"cost":0.0198,"avg_latency_ms":812.5}],
//	 "totals":{"requests":120,...}}
//
// It shows committed records only, at most one FlushInterval behind. A bad
// or unknown parameter gets 400 with an OpenAI-style error body.
func (r *Reader) Handler() http.Handler {
	return http.HandlerFunc(r.serveUsage)
}

// Handler is Reader.Handler on the ledger's file.
func (l *Ledger) Handler() http.Handler { return l.r.Handler() }

func (r *Reader) serveUsage(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		openai.WriteError(w, http.StatusMethodNotAllowed, openai.TypeInvalidRequest, "method_not_allowed",
			fmt.Sprintf("%s is not allowed on %s: use GET", req.Method, req.URL.Path), 0)
		return
	}
	q, now, code, err := parseQuery(req)
	if err != nil {
		openai.WriteError(w, http.StatusBadRequest, openai.TypeInvalidRequest, code, err.Error(), 0)
		return
	}
	rows, err := r.Summary(req.Context(), q)
	if err != nil {
		openai.WriteError(w, http.StatusInternalServerError, openai.TypeServer, "usage_unavailable", err.Error(), 0)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(NewReport(q, now, rows))
}

// parseQuery reads /api/usage's parameters. On error it also returns the
// error code for the client.
func parseQuery(req *http.Request) (q Query, now time.Time, code string, err error) {
	now = time.Now()
	v := req.URL.Query()
	for name := range v {
		switch name {
		case "since", "until", "by", "key", "model":
		default:
			return q, now, "unknown_parameter", fmt.Errorf("unknown query parameter %q: use since, until, by, key or model", name)
		}
	}
	since := v.Get("since")
	if since == "" {
		since = defaultSince
	}
	if q.Since, err = ParseTime(since, now); err != nil {
		return q, now, "invalid_since", fmt.Errorf("since: %w", err)
	}
	if s := v.Get("until"); s != "" {
		if q.Until, err = ParseTime(s, now); err != nil {
			return q, now, "invalid_until", fmt.Errorf("until: %w", err)
		}
	}
	q.By, q.Key, q.Model = v.Get("by"), v.Get("key"), v.Get("model")
	if err := q.validate(); err != nil {
		if _, ok := groupExpr[q.By]; !ok {
			return q, now, "invalid_by", fmt.Errorf("by: %w", err)
		}
		return q, now, "invalid_until", fmt.Errorf("until: %w", err)
	}
	return q, now, "", nil
}
