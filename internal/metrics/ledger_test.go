// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/usage"
)

// TestWatchLedger: the scrape reports the ledger's own counters.
func TestWatchLedger(t *testing.T) {
	l, err := usage.Open(t.TempDir(), usage.Options{FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := New()
	m.WatchLedger(l)
	f := scrape(t, m)
	wantValue(t, f, 0, "warmgate_usage_records_written_total")
	wantValue(t, f, 0, "warmgate_usage_flush_errors_total")
	for range 3 {
		l.Record(usage.Record{Model: "gpt-4.1-mini"})
	}
	for deadline := time.Now().Add(10 * time.Second); l.Stats().Written < 3 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
	}
	f = scrape(t, m)
	wantValue(t, f, 3, "warmgate_usage_records_written_total")
	wantValue(t, f, 0, "warmgate_usage_records_dropped_total")
	wantValue(t, f, 0, "warmgate_usage_records_pending")
	wantValue(t, f, 0, "warmgate_usage_flush_errors_total")
}
