// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Groupings for Query.By.
const (
	ByModel    = "model"    // the model the client asked for
	ByKey      = "key"      // the client key's name ("" without keys)
	ByDay      = "day"      // the UTC day of arrival, 2006-01-02
	ByUpstream = "upstream" // the upstream that answered ("" if none)
)

// groupExpr maps each grouping to its SQL expression; only these strings
// ever reach the query text.
var groupExpr = map[string]string{
	ByModel:    "model",
	ByKey:      "key_name",
	ByDay:      "strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch')",
	ByUpstream: "upstream",
}

// Query selects and groups records for Summary.
type Query struct {
	// Since and Until bound the arrival time: Since <= t < Until. A zero
	// value leaves that side open.
	Since, Until time.Time
	// Key keeps only this client key's records; "" keeps all.
	Key string
	// Model keeps only this model's records; "" keeps all.
	Model string
	// By groups the rows: ByModel, ByKey, ByDay or ByUpstream. "" means
	// ByModel.
	By string
}

// validate reports a query Summary cannot run, in words for a user.
func (q *Query) validate() error {
	if q.By == "" {
		q.By = ByModel
	}
	if _, ok := groupExpr[q.By]; !ok {
		return fmt.Errorf("unknown grouping %q: use model, key, day or upstream", q.By)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return fmt.Errorf("until (%s) is not after since (%s)", q.Until.UTC().Format(time.RFC3339), q.Since.UTC().Format(time.RFC3339))
	}
	return nil
}

// Row totals the records of one group.
type Row struct {
	// Group is the model, key name, upstream or day (2006-01-02, UTC) the
	// row totals, depending on Query.By. "" is the empty key or upstream.
	Group string
	// Requests counts records; Errors those with status 0 or >= 400.
	Requests, Errors int64
	// PromptTokens and CompletionTokens are sums.
	PromptTokens, CompletionTokens int64
	// Cost is the sum in US dollars.
	Cost float64
	// AvgLatency is the mean latency.
	AvgLatency time.Duration
}

// Totals sums rows into one row with Group "" (its AvgLatency is the mean
// over all requests).
func Totals(rows []Row) Row {
	var t Row
	var lat float64
	for _, r := range rows {
		t.Requests += r.Requests
		t.Errors += r.Errors
		t.PromptTokens += r.PromptTokens
		t.CompletionTokens += r.CompletionTokens
		t.Cost += r.Cost
		lat += float64(r.AvgLatency) * float64(r.Requests)
	}
	if t.Requests > 0 {
		t.AvgLatency = time.Duration(math.Round(lat / float64(t.Requests)))
	}
	return t
}

// Summary totals the committed records matching q, one Row per group:
// days in ascending order, other groupings by cost, then requests, in
// descending order. It reads only flushed records (at most one
// FlushInterval behind).
func (r *Reader) Summary(ctx context.Context, q Query) ([]Row, error) {
	if err := q.validate(); err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	var (
		where []string
		args  []any
	)
	if !q.Since.IsZero() {
		where, args = append(where, "time_ms >= ?"), append(args, q.Since.UnixMilli())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time_ms < ?"), append(args, q.Until.UnixMilli())
	}
	if q.Key != "" {
		where, args = append(where, "key_name = ?"), append(args, q.Key)
	}
	if q.Model != "" {
		where, args = append(where, "model = ?"), append(args, q.Model)
	}
	query := "SELECT " + groupExpr[q.By] + ` AS g, COUNT(*),
		SUM(status >= 400 OR status = 0), SUM(prompt_tokens), SUM(completion_tokens),
		SUM(cost), AVG(latency_ms) FROM usage`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " GROUP BY g"
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("usage: querying %s: %w", r.path, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var (
			row Row
			lat float64
		)
		if err := rows.Scan(&row.Group, &row.Requests, &row.Errors, &row.PromptTokens, &row.CompletionTokens, &row.Cost, &lat); err != nil {
			return nil, fmt.Errorf("usage: reading %s: %w", r.path, err)
		}
		row.AvgLatency = time.Duration(math.Round(lat * float64(time.Millisecond)))
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage: reading %s: %w", r.path, err)
	}
	if q.By == ByDay {
		slices.SortFunc(out, func(a, b Row) int { return strings.Compare(a.Group, b.Group) })
	} else {
		slices.SortFunc(out, func(a, b Row) int {
			return cmp.Or(cmp.Compare(b.Cost, a.Cost), cmp.Compare(b.Requests, a.Requests), strings.Compare(a.Group, b.Group))
		})
	}
	return out, nil
}

// maxRecent caps Recent's n.
const maxRecent = 10_000

// Recent returns the n (at most 10,000) most recently arrived committed
// records, newest first.
func (r *Reader) Recent(ctx context.Context, n int) ([]Record, error) {
	n = min(n, maxRecent)
	if n <= 0 {
		return nil, nil
	}
	rows, err := r.db.QueryContext(ctx, `SELECT time_ms, request_id, key_name, model, upstream,
		prompt_tokens, completion_tokens, cost, status, latency_ms, stream
		FROM usage ORDER BY time_ms DESC, id DESC LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("usage: querying %s: %w", r.path, err)
	}
	defer rows.Close()
	out := make([]Record, 0, n)
	for rows.Next() {
		var (
			rec Record
			ms  int64
			lat float64
		)
		if err := rows.Scan(&ms, &rec.RequestID, &rec.Key, &rec.Model, &rec.Upstream, &rec.PromptTokens,
			&rec.CompletionTokens, &rec.Cost, &rec.Status, &lat, &rec.Stream); err != nil {
			return nil, fmt.Errorf("usage: reading %s: %w", r.path, err)
		}
		rec.Time = time.UnixMilli(ms).UTC()
		rec.Latency = time.Duration(math.Round(lat * float64(time.Millisecond)))
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage: reading %s: %w", r.path, err)
	}
	return out, nil
}

// Summary is Reader.Summary on the ledger's file.
func (l *Ledger) Summary(ctx context.Context, q Query) ([]Row, error) { return l.r.Summary(ctx, q) }

// Recent is Reader.Recent on the ledger's file.
func (l *Ledger) Recent(ctx context.Context, n int) ([]Record, error) { return l.r.Recent(ctx, n) }

var daysRE = regexp.MustCompile(`^(\d+)d(.*)$`)

// ParseTime reads a point in time as a user writes it, relative to now:
//
//	24h, 90m, 1h30m   a Go duration ago
//	7d, 30d, 1d12h    days (24h each), optionally plus a duration, ago
//	2026-11-01        midnight UTC of that date
//	2026-11-01T15:04:05Z (RFC 3339)
//	now
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseAgo(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q: use a duration ago (90m, 24h, 7d), a date (2026-11-01, UTC) or an RFC 3339 time (2026-11-01T15:04:05Z)", s)
	}
	return now.Add(-d), nil
}

// parseAgo parses a positive Go duration, optionally led by whole days.
func parseAgo(s string) (time.Duration, error) {
	var days time.Duration
	if m := daysRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100_000 {
			return 0, errors.New("too many days")
		}
		days, s = time.Duration(n)*24*time.Hour, m[2]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, errors.New("negative")
	}
	return days + d, nil
}
