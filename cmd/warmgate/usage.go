// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/usage"
)

// usageGroupings are the values of --by.
var usageGroupings = []string{usage.ByModel, usage.ByKey, usage.ByDay, usage.ByUpstream}

func newUsageCmd() *cobra.Command {
	var (
		dataDir, cfgFile, since, until, key, model, by string
		asJSON, asCSV                                  bool
	)
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show recorded usage: requests, tokens, cost and latency",
		Long: `Show the usage the gateway recorded in its ledger (data_dir/usage.db):
requests, errors (status 0 or >= 400), prompt and completion tokens, cost and
mean latency, grouped by model, client key, day (UTC) or upstream.

It reads the file while the gateway runs. Records reach the file in batches
at most 200ms after their request ends. See docs/usage.md.

The data directory is --data-dir, or data_dir from the --config file (only
data_dir is read: the secrets the file names need not be in the
environment), else ./warmgate-data. A relative data_dir is relative to the
current directory, as it is for serve.

--since and --until take a duration ago (90m, 24h, 7d, 1d12h), a date
(2026-11-01, midnight UTC) or an RFC 3339 time (2026-11-01T15:04:05Z).
--since defaults to 24h; --until defaults to now.`,
		Example: `  warmgate usage                            # the last 24 hours, by model
  warmgate usage --since 7d --by key        # a week, per client key
  warmgate usage --since 30d --by day --key team-a
  warmgate usage --since 2026-11-01 --until 2026-12-01 --by upstream
  warmgate usage --config warmgate.yaml --json
  warmgate usage --data-dir /var/lib/warmgate --csv > usage.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			q := usage.Query{Key: key, Model: model, By: by}
			if !slices.Contains(usageGroupings, by) {
				return fmt.Errorf("--by %q: use model, key, day or upstream", by)
			}
			var err error
			if q.Since, err = usage.ParseTime(since, now); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if until != "" {
				if q.Until, err = usage.ParseTime(until, now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
				if !q.Until.After(q.Since) {
					return fmt.Errorf("--until %s is not after --since %s", until, since)
				}
			}
			dir, err := usageDataDir(dataDir, cfgFile)
			if err != nil {
				return err
			}
			r, err := usage.OpenReadOnly(dir)
			if err != nil {
				if errors.Is(err, usage.ErrNoUsage) && dataDir == "" && cfgFile == "" {
					return fmt.Errorf("%w; if the gateway runs elsewhere, pass --data-dir or --config", err)
				}
				return err
			}
			defer r.Close()
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background() // run without Execute, as in tests
			}
			rows, err := r.Summary(ctx, q)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case asJSON:
				return writeJSON(out, usage.NewReport(q, now, rows))
			case asCSV:
				return writeUsageCSV(out, usage.NewReport(q, now, rows))
			default:
				return writeUsageTable(out, q, r.Path(), rows)
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "", "directory holding usage.db (default: data_dir from --config, else "+config.DefaultDataDir+")")
	f.StringVarP(&cfgFile, "config", "c", "", "the gateway's YAML config file, to read data_dir from")
	f.StringVar(&since, "since", "24h", "start of the window: a duration ago (24h, 7d), a date (2026-11-01) or an RFC 3339 time")
	f.StringVar(&until, "until", "", "end of the window, in the same forms (default now)")
	f.StringVar(&key, "key", "", "only this client key (its name in the config's keys:)")
	f.StringVar(&model, "model", "", "only this model")
	f.StringVar(&by, "by", usage.ByModel, "group rows by model, key, day (UTC) or upstream")
	f.BoolVar(&asJSON, "json", false, "print JSON, as GET /api/usage answers")
	f.BoolVar(&asCSV, "csv", false, "print CSV with a header line and no totals line")
	cmd.MarkFlagsMutuallyExclusive("data-dir", "config")
	cmd.MarkFlagsMutuallyExclusive("json", "csv")
	return cmd
}

// usageDataDir is --data-dir, else data_dir from the --config file, else
// the default.
func usageDataDir(dataDir, cfgFile string) (string, error) {
	switch {
	case dataDir != "":
		return dataDir, nil
	case cfgFile != "":
		// Only data_dir: the secrets the file names need not be set here.
		dir, err := config.LoadDataDir(cfgFile)
		if err != nil {
			return "", fmt.Errorf("reading data_dir from --config %s (or pass --data-dir instead):\n%w", cfgFile, err)
		}
		return dir, nil
	default:
		return config.DefaultDataDir, nil
	}
}

// usageGroupName shows an empty group for people.
func usageGroupName(by, g string) string {
	if g != "" {
		return g
	}
	switch by {
	case usage.ByKey:
		return "(no key)"
	case usage.ByUpstream:
		return "(none)"
	default:
		return "(unknown)"
	}
}

// writeUsageTable prints a title line, then rows with the group left
// aligned and numbers right aligned, then a totals line.
func writeUsageTable(w io.Writer, q usage.Query, path string, rows []usage.Row) error {
	window := "since " + q.Since.UTC().Format("2006-01-02 15:04 UTC")
	if !q.Until.IsZero() {
		window += " until " + q.Until.UTC().Format("2006-01-02 15:04 UTC")
	}
	var filters []string
	if q.Key != "" {
		filters = append(filters, "key "+q.Key)
	}
	if q.Model != "" {
		filters = append(filters, "model "+q.Model)
	}
	if len(filters) > 0 {
		window += ", " + strings.Join(filters, ", ")
	}
	bw := &errWriter{w: w}
	if len(rows) == 0 {
		fmt.Fprintf(bw, "No requests recorded %s in %s.\n", window, path)
		return bw.err
	}
	fmt.Fprintf(bw, "Usage %s, by %s (%s)\n\n", window, q.By, path)

	table := [][]string{{strings.ToUpper(q.By), "REQUESTS", "ERRORS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST", "AVG LATENCY"}}
	line := func(group string, r usage.Row) []string {
		return []string{group, thousands(r.Requests), thousands(r.Errors), thousands(r.PromptTokens),
			thousands(r.CompletionTokens), fmt.Sprintf("$%.4f", r.Cost), r.AvgLatency.Round(time.Millisecond).String()}
	}
	for _, r := range rows {
		table = append(table, line(usageGroupName(q.By, r.Group), r))
	}
	table = append(table, line("TOTAL", usage.Totals(rows)))
	widths := make([]int, len(table[0]))
	for _, cells := range table {
		for i, c := range cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, cells := range table {
		var b strings.Builder
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(bw, b.String())
	}
	return bw.err
}

// writeUsageCSV prints one line per row, with the numbers of the JSON
// report, and no totals line (a spreadsheet's SUM would count it twice).
func writeUsageCSV(w io.Writer, rep usage.Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{rep.By, "requests", "errors", "prompt_tokens", "completion_tokens", "cost", "avg_latency_ms"})
	for _, r := range rep.Rows {
		_ = cw.Write([]string{r.Group, strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Errors, 10),
			strconv.FormatInt(r.PromptTokens, 10), strconv.FormatInt(r.CompletionTokens, 10),
			strconv.FormatFloat(r.Cost, 'f', -1, 64), strconv.FormatFloat(r.AvgLatencyMs, 'f', -1, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// errWriter keeps the first write error, so a run of Fprintf calls needs
// one check.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
