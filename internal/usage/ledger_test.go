// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// openLedger opens a ledger in a fresh directory, closed at cleanup.
func openLedger(t testing.TB, opts Options) (*Ledger, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, dir
}

// count returns the number of rows in dir/usage.db.
func count(t testing.TB, dir string) int {
	t.Helper()
	r, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n int
	if err := r.db.QueryRow("SELECT COUNT(*) FROM usage").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond until it holds, or fails after 10s (a loaded CI
// machine, fsync per batch).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lockDB takes the write lock on dir/usage.db from another connection, as
// another process would, until the returned function is called.
func lockDB(t testing.TB, dir string) (unlock func()) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unlock = func() {
		once.Do(func() {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
			_ = conn.Close()
			_ = db.Close()
		})
	}
	t.Cleanup(unlock)
	return unlock
}

func checkInvariant(t testing.TB, s Stats) {
	t.Helper()
	if s.Recorded != s.Written+uint64(s.Pending)+s.Dropped {
		t.Errorf("stats %+v: recorded != written + pending + dropped", s)
	}
}

func TestLedgerWritesAllConcurrentRecords(t *testing.T) {
	l, dir := openLedger(t, Options{})
	const goroutines, each = 8, 1250
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				l.Record(Record{RequestID: fmt.Sprintf("%d-%d", g, i), Key: "k", Model: "m", PromptTokens: 1})
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	if s.Recorded != goroutines*each || s.Written != goroutines*each || s.Pending != 0 || s.Dropped != 0 || s.FlushErrors != 0 {
		t.Errorf("stats %+v, want all %d written", s, goroutines*each)
	}
	if n := count(t, dir); n != goroutines*each {
		t.Errorf("%d rows in the database, want %d", n, goroutines*each)
	}
}

// While a flush waits for a lock held by another connection, Record still
// returns at once; when the lock goes, everything lands.
func TestRecordDoesNotBlockWhileDatabaseIsLocked(t *testing.T) {
	l, dir := openLedger(t, Options{FlushInterval: 10 * time.Millisecond, BatchSize: 64})
	unlock := lockDB(t, dir)
	l.Record(Record{Model: "first"})
	waitFor(t, "a flush to start and wait for the lock", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.inFlight > 0
	})

	const goroutines, each = 4, 2500
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		slowest time.Duration
	)
	start := time.Now()
	for range goroutines {
		wg.Go(func() {
			var worst time.Duration
			for range each {
				t0 := time.Now()
				l.Record(Record{Model: "m"})
				worst = max(worst, time.Since(t0))
			}
			mu.Lock()
			slowest = max(slowest, worst)
			mu.Unlock()
		})
	}
	wg.Wait()
	took := time.Since(start)
	s := l.Stats()
	t.Logf("%d Record calls during a blocked flush took %v, the slowest %v; stats %+v", goroutines*each, took, slowest, s)
	if s.Written != 0 {
		t.Fatalf("%d records written while the database was locked", s.Written)
	}
	// Generous bounds for a loaded 2-core machine under -race: the point is
	// that Record does not wait for the flush (blocked for seconds).
	if slowest > 200*time.Millisecond {
		t.Errorf("slowest Record call took %v while the flush was blocked", slowest)
	}
	const want = goroutines*each + 1
	if s.Pending != want {
		t.Errorf("pending %d, want %d", s.Pending, want)
	}
	unlock()
	waitFor(t, "all records written", func() bool { return l.Stats().Written == want })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, l.Stats())
	if n := count(t, dir); n != want {
		t.Errorf("%d rows, want %d", n, want)
	}
}

// A failed flush keeps its records, is logged, counted, and retried.
func TestLedgerKeepsRecordsWhenAFlushFails(t *testing.T) {
	var logs syncBuffer
	l, dir := openLedger(t, Options{
		FlushInterval: 10 * time.Millisecond,
		BusyTimeout:   20 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	})
	unlock := lockDB(t, dir)
	for i := range 100 {
		l.Record(Record{RequestID: fmt.Sprint(i)})
	}
	waitFor(t, "two failed flushes", func() bool { return l.Stats().FlushErrors >= 2 })
	s := l.Stats()
	if s.Written != 0 || s.Pending != 100 || s.LastFlushError == "" {
		t.Errorf("while locked: stats %+v, want 100 pending, none written, an error", s)
	}
	unlock()
	waitFor(t, "the records to be written", func() bool { return l.Stats().Written == 100 })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checkInvariant(t, l.Stats())
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for _, want := range []string{"keeping them in memory and retrying", "writing usage records again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, logs.String())
		}
	}
	// In order, none twice.
	r, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Recent(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 {
		t.Fatalf("%d records, want 100", len(got))
	}
	for i, rec := range got {
		if want := fmt.Sprint(99 - i); rec.RequestID != want {
			t.Fatalf("record %d has id %s, want %s", i, rec.RequestID, want)
		}
	}
}

func TestLedgerDropsBeyondMaxPending(t *testing.T) {
	l, dir := openLedger(t, Options{FlushInterval: 10 * time.Millisecond, BatchSize: 10, MaxPending: 50, BusyTimeout: 20 * time.Millisecond})
	unlock := lockDB(t, dir)
	for range 80 {
		l.Record(Record{})
	}
	s := l.Stats()
	if s.Recorded != 80 || s.Pending != 50 || s.Dropped != 30 {
		t.Errorf("stats %+v, want 80 recorded, 50 pending, 30 dropped", s)
	}
	unlock()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s = l.Stats()
	checkInvariant(t, s)
	if s.Written != 50 || count(t, dir) != 50 {
		t.Errorf("stats %+v, want 50 written", s)
	}
}

// Close on a database that cannot be written reports the lost records.
func TestLedgerCloseReportsLostRecords(t *testing.T) {
	l, dir := openLedger(t, Options{FlushInterval: time.Hour, BusyTimeout: 20 * time.Millisecond})
	unlock := lockDB(t, dir)
	defer unlock()
	for range 5 {
		l.Record(Record{})
	}
	err := l.Close()
	if err == nil || !strings.Contains(err.Error(), "5 usage records could not be written") {
		t.Fatalf("Close: %v, want an error counting 5 lost records", err)
	}
	l.Record(Record{}) // after Close: dropped, not a panic
	s := l.Stats()
	checkInvariant(t, s)
	if s.Dropped != 6 || s.Written != 0 {
		t.Errorf("stats %+v, want 6 dropped", s)
	}
}

// BatchSize pending records start a flush without waiting for the interval.
func TestLedgerFlushesAFullBatchEarly(t *testing.T) {
	l, _ := openLedger(t, Options{FlushInterval: time.Hour, BatchSize: 10})
	for range 25 {
		l.Record(Record{})
	}
	waitFor(t, "fewer than a batch pending", func() bool { return l.Stats().Pending < 10 })
	if s := l.Stats(); s.Written < 16 {
		t.Errorf("stats %+v, want at least 16 written", s)
	}
}

func TestLedgerRecordRoundTrip(t *testing.T) {
	l, dir := openLedger(t, Options{})
	at := time.Date(2026, 11, 1, 15, 4, 5, 678_000_000, time.UTC)
	want := Record{Time: at, RequestID: "req-1", Key: "team-a", Model: "gpt-4o-mini", Upstream: "openai",
		PromptTokens: 1234, CompletionTokens: 56, Cost: 0.001234, Status: 200, Latency: 812500 * time.Microsecond, Stream: true}
	l.Record(want)
	before := time.Now()
	l.Record(Record{Model: "no time"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Recent(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d records, want 2", len(got))
	}
	if got[1] != want {
		t.Errorf("read back\n%+v\nwant\n%+v", got[1], want)
	}
	if d := got[0].Time.Sub(before); d < -time.Millisecond || d > 5*time.Second {
		t.Errorf("a zero Time was stored as %v, want about %v", got[0].Time, before)
	}
}

// TestLedgerCutsLongStrings: a record's strings are stored cut to
// MaxField bytes, at a character boundary, whatever the caller gives.
func TestLedgerCutsLongStrings(t *testing.T) {
	l, dir := openLedger(t, Options{})
	huge := strings.Repeat("é", 1<<20) // 2 MiB, 2 bytes a character
	l.Record(Record{RequestID: "r" + huge, Key: "k" + huge, Model: "m" + huge, Upstream: "u" + huge, Status: 403})
	l.Record(Record{RequestID: "req-2", Model: strings.Repeat("x", MaxField)})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Recent(t.Context(), 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("Recent: %d records, %v", len(got), err)
	}
	long := got[1]
	for name, v := range map[string]string{"request_id": long.RequestID, "key": long.Key, "model": long.Model, "upstream": long.Upstream} {
		if len(v) != MaxField-1 || !utf8.ValidString(v) || !strings.HasPrefix(v[1:], "éé") {
			t.Errorf("%s stored as %d bytes (%.20q…), want the first %d (a whole character fewer)", name, len(v), v, MaxField-1)
		}
	}
	if got[0].Model != strings.Repeat("x", MaxField) {
		t.Errorf("a model of exactly MaxField bytes was changed: %d bytes", len(got[0].Model))
	}
	fi, err := os.Stat(filepath.Join(dir, "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 1<<20 {
		t.Errorf("usage.db is %d bytes for two records", fi.Size())
	}
}

func TestLedgerOptionsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Options
		want Options
	}{
		{"zero", Options{}, Options{FlushInterval: 200 * time.Millisecond, BatchSize: 512, MaxPending: 1_000_000, BusyTimeout: 5 * time.Second}},
		{"negative", Options{FlushInterval: -1, BatchSize: -1, MaxPending: -1, BusyTimeout: -1},
			Options{FlushInterval: 200 * time.Millisecond, BatchSize: 512, MaxPending: 1_000_000, BusyTimeout: 5 * time.Second}},
		{"set", Options{FlushInterval: time.Second, BatchSize: 10, MaxPending: 100, BusyTimeout: time.Second},
			Options{FlushInterval: time.Second, BatchSize: 10, MaxPending: 100, BusyTimeout: time.Second}},
		{"max pending below a batch", Options{BatchSize: 100, MaxPending: 10},
			Options{FlushInterval: 200 * time.Millisecond, BatchSize: 100, MaxPending: 100, BusyTimeout: 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			got.applyDefaults()
			if got.Logger == nil {
				t.Error("nil Logger")
			}
			got.Logger = nil
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLedgerOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	notDB := t.TempDir()
	if err := os.WriteFile(filepath.Join(notDB, FileName), bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		want []string
	}{
		{"empty", "", []string{"data_dir"}},
		{"under a file", filepath.Join(file, "data"), []string{"cannot create the data directory", file, "data_dir"}},
		{"not a database", notDB, []string{notDB, "usage.db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Open(tt.dir, Options{})
			if err == nil {
				_ = l.Close()
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
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

// BenchmarkRecord measures what Record adds to a request. The ledger has
// no flusher: the benchmark empties the batch every 4096 records, as the
// flusher's swap would (a real flusher cannot keep up with a loop that
// does nothing but Record, and the records beyond MaxPending would be
// dropped, a cheaper path).
func BenchmarkRecord(b *testing.B) {
	r := Record{Time: time.Now(), RequestID: "req-0123456789", Key: "team-a", Model: "gpt-4o-mini", Upstream: "openai",
		PromptTokens: 1000, CompletionTokens: 200, Cost: 0.0012, Status: 200, Latency: 800 * time.Millisecond}
	const swapEvery = 4096
	bare := func() *Ledger {
		opts := Options{}
		opts.applyDefaults()
		return &Ledger{opts: opts, kick: make(chan struct{}, 1), pending: make([]Record, 0, opts.BatchSize)}
	}
	swap := func(l *Ledger) {
		l.mu.Lock()
		l.pending = l.pending[:0]
		l.mu.Unlock()
	}
	b.Run("serial", func(b *testing.B) {
		l := bare()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			l.Record(r)
			if i++; i%swapEvery == 0 {
				swap(l)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		l := bare()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				l.Record(r)
				if i++; i%swapEvery == 0 {
					swap(l)
				}
			}
		})
	})
}

// BenchmarkRecordWritten measures the flusher: b.N records recorded, then
// Close, so ns/op is the cost of getting one record onto the disk.
func BenchmarkRecordWritten(b *testing.B) {
	r := Record{Time: time.Now(), RequestID: "req-0123456789", Key: "team-a", Model: "gpt-4o-mini", Upstream: "openai",
		PromptTokens: 1000, CompletionTokens: 200, Cost: 0.0012, Status: 200, Latency: 800 * time.Millisecond}
	l, _ := openLedger(b, Options{MaxPending: max(b.N, 1)})
	b.ResetTimer()
	for range b.N {
		l.Record(r)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if s := l.Stats(); s.Written != uint64(b.N) {
		b.Fatalf("stats %+v, want %d written", s, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
