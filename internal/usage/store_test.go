// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLedgerSchema(t *testing.T) {
	l, dir := openLedger(t, Options{})
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v, %v; want mode 0700", fi.Mode(), err)
	}
	var mode string
	var version int
	if err := l.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q, %v; want wal", mode, err)
	}
	if err := l.r.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != schemaVersion {
		t.Errorf("user_version %d, %v; want %d", version, err, schemaVersion)
	}
	var plan string
	rows, err := l.r.db.Query("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM usage WHERE key_name = 'a' AND time_ms >= 0")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail
	}
	rows.Close()
	if !strings.Contains(plan, "usage_key_time") {
		t.Errorf("a key and time query does not use the index: %s", plan)
	}
	// Opening again does not migrate again.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLedgerRefusesANewerSchema(t *testing.T) {
	dir := fixtureDir(t, nil)
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for name, open := range map[string]func() error{
		"Open": func() error {
			l, err := Open(dir, Options{})
			if err == nil {
				l.Close()
			}
			return err
		},
		"OpenReadOnly": func() error {
			r, err := OpenReadOnly(dir)
			if err == nil {
				r.Close()
			}
			return err
		},
	} {
		if err := open(); err == nil || !strings.Contains(err.Error(), "schema version 99") || !strings.Contains(err.Error(), "upgrade warmgate") {
			t.Errorf("%s: %v, want an error about schema version 99", name, err)
		}
	}
}

func TestLedgerReadOnlyOpen(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := OpenReadOnly(dir)
		if !errors.Is(err, ErrNoUsage) {
			t.Fatalf("error %v, want ErrNoUsage", err)
		}
		want := "no usage recorded in " + dir + " yet: the gateway writes " + filepath.Join(dir, "usage.db") + " (config key data_dir)"
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("OpenReadOnly created %s", dir)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenReadOnly(dir); !errors.Is(err, ErrNoUsage) {
			t.Fatalf("error %v, want ErrNoUsage", err)
		}
	})
	t.Run("while a ledger writes", func(t *testing.T) {
		l, dir := openLedger(t, Options{FlushInterval: 5 * time.Millisecond})
		r, err := OpenReadOnly(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for i := range 50 {
			l.Record(Record{Model: "m"})
			rows, err := r.Summary(t.Context(), Query{})
			if err != nil {
				t.Fatalf("summary %d while writing: %v", i, err)
			}
			if n := Totals(rows).Requests; n > int64(i+1) {
				t.Fatalf("%d requests after %d records", n, i+1)
			}
			time.Sleep(time.Millisecond)
		}
		waitFor(t, "all written", func() bool { return l.Stats().Written == 50 })
		rows, err := r.Summary(t.Context(), Query{})
		if err != nil || Totals(rows).Requests != 50 {
			t.Errorf("summary %+v, %v; want 50 requests", rows, err)
		}
		if _, err := r.db.Exec("DELETE FROM usage"); err == nil {
			t.Error("a read-only reader could delete")
		}
	})
	t.Run("after a clean close", func(t *testing.T) {
		dir := fixtureDir(t, fixture)
		for _, f := range []string{"usage.db-wal", "usage.db-shm"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Logf("%s remains after Close", f)
			}
		}
		r, err := OpenReadOnly(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rows, err := r.Summary(t.Context(), Query{})
		if err != nil || Totals(rows).Requests != int64(len(fixture)) {
			t.Errorf("summary %+v, %v", rows, err)
		}
	})
}

func TestLedgerFileURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/data/usage.db", "file:/data/usage.db?q"},
		{"/odd?dir#1%/usage.db", "file:/odd%3fdir%231%25/usage.db?q"},
		{"rel/usage.db", "file:rel/usage.db?q"},
	}
	for _, tt := range tests {
		if got := fileURI(tt.in, "q"); got != tt.want {
			t.Errorf("fileURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// And SQLite reads it back: a directory with those characters works.
	dir := filepath.Join(t.TempDir(), "odd?dir#1%")
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Record(Record{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dir); n != 1 {
		t.Errorf("%d rows, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Error(err)
	}
}
