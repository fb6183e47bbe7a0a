// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver: pure Go, no cgo
)

// FileName is the name of the database file in the data directory.
const FileName = "usage.db"

// migrations[i] takes the schema from version i to i+1 (PRAGMA
// user_version). Append to it; never edit a released step. The CREATE text,
// comments included, is what ".schema" shows in the sqlite3 shell.
var migrations = [][]string{
	{ // 1: the usage table
		`CREATE TABLE usage (
	id                INTEGER PRIMARY KEY,
	time_ms           INTEGER NOT NULL,            -- request arrival, Unix milliseconds (UTC)
	request_id        TEXT    NOT NULL DEFAULT '', -- X-Request-Id
	key_name          TEXT    NOT NULL DEFAULT '', -- client key name; '' = no keys configured
	model             TEXT    NOT NULL DEFAULT '', -- as asked by the client
	upstream          TEXT    NOT NULL DEFAULT '', -- that answered; '' = none reached
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	cost              REAL    NOT NULL DEFAULT 0,  -- US dollars
	status            INTEGER NOT NULL DEFAULT 0,  -- HTTP status sent to the client; 0 = none
	latency_ms        REAL    NOT NULL DEFAULT 0,  -- arrival to last byte
	stream            INTEGER NOT NULL DEFAULT 0   -- 1 = streamed (SSE)
)`,
		`CREATE INDEX usage_time ON usage (time_ms)`,
		`CREATE INDEX usage_key_time ON usage (key_name, time_ms)`,
	},
}

// schemaVersion is the version this build writes and reads.
var schemaVersion = len(migrations)

// insertCols is the number of columns an insert sets; insertRows the rows
// one multi-row INSERT writes: fewer statements write a batch 1.5x faster
// than row by row (2x under the race detector).
const (
	insertCols = 11
	insertRows = 64
)

// insertSQLRows is an INSERT of n rows.
func insertSQLRows(n int) string {
	return `INSERT INTO usage (time_ms, request_id, key_name, model, upstream,
	prompt_tokens, completion_tokens, cost, status, latency_ms, stream) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ")
}

// fileURI is the driver's "file:" URI for path with the query q. SQLite
// decodes %XX in the path, and '?' and '#' would end it.
func fileURI(path, q string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(filepath.ToSlash(path)) + "?" + q
}

// openWriter creates dir and dir/usage.db, brings the schema up to date
// and returns a one-connection pool for the flusher.
func openWriter(dir string, busy time.Duration) (*sql.DB, string, error) {
	if dir == "" {
		return nil, "", errors.New("usage: no data directory given: set data_dir in the config (default ./warmgate-data)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("usage: cannot create the data directory %s: %w; create it or set the config key data_dir to a writable directory", dir, err)
	}
	path := filepath.Join(dir, FileName)
	// WAL: readers (the CLI, the dashboard) never block the writer.
	// synchronous=FULL: a committed batch survives power loss too; it costs
	// one fsync per batch, off the request path. _txlock=immediate: take
	// the write lock at BEGIN, where busy_timeout applies.
	db, err := sql.Open("sqlite", fileURI(path, fmt.Sprintf(
		"_pragma=busy_timeout(%d)&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate", busy.Milliseconds())))
	if err != nil {
		return nil, "", fmt.Errorf("usage: opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer: SQLite allows no more, and the flusher is sequential
	db.SetConnMaxIdleTime(0)
	if err := migrate(db); err != nil {
		_ = db.Close()
		if werr := writable(path); werr != nil {
			return nil, "", fmt.Errorf("usage: cannot write %s: %w; make it and its directory writable by this user, or set the config key data_dir to a writable directory", path, werr)
		}
		return nil, "", fmt.Errorf("usage: preparing %s: %w", path, err)
	}
	return db, path, nil
}

// writable tells a permission problem from other failures to open path,
// whose SQLite errors do not name the cause.
func writable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// migrate applies the missing migrations in one transaction, so two
// processes opening a new file at once cannot both create the table.
func migrate(db *sql.DB) error {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil) // immediate: holds the write lock
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return newerError(v)
	}
	for ; v < schemaVersion; v++ {
		for _, stmt := range migrations[v] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("schema version %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func newerError(v int) error {
	return fmt.Errorf("usage database has schema version %d, newer than this warmgate understands (%d): upgrade warmgate, or set the config key data_dir to another directory", v, schemaVersion)
}

// ErrNoUsage is wrapped by OpenReadOnly's error when the data directory
// holds no usage database yet.
var ErrNoUsage = errors.New("no usage database")

type noUsageError struct{ dir string }

func (e *noUsageError) Error() string {
	return fmt.Sprintf("no usage recorded in %s yet: the gateway writes %s (config key data_dir)", e.dir, filepath.Join(e.dir, FileName))
}

func (e *noUsageError) Unwrap() error { return ErrNoUsage }

// Reader queries a usage database. A Ledger has one; OpenReadOnly makes
// one for tools. Its methods are safe for concurrent use.
type Reader struct {
	db   *sql.DB
	path string
}

// OpenReadOnly opens dir/usage.db for queries only. It works while a
// gateway is writing the file (WAL mode lets readers and the writer
// proceed together). When there is no database yet the error wraps
// ErrNoUsage and says where the gateway would write it.
func OpenReadOnly(dir string) (*Reader, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &noUsageError{dir: dir}
		}
		return nil, fmt.Errorf("usage: %w", err)
	}
	r, err := openReader(path)
	if err != nil {
		return nil, err
	}
	var v int
	if err := r.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("usage: %s is not a readable usage database: %w", path, err)
	}
	switch {
	case v == 0:
		_ = r.Close()
		return nil, &noUsageError{dir: dir}
	case v > schemaVersion:
		_ = r.Close()
		return nil, fmt.Errorf("usage: %s: %w", path, newerError(v))
	}
	return r, nil
}

// openReader opens path read-only (mode=ro: SQLite refuses any write).
func openReader(path string) (*Reader, error) {
	db, err := sql.Open("sqlite", fileURI(path, "mode=ro&_pragma=busy_timeout(5000)"))
	if err != nil {
		return nil, fmt.Errorf("usage: opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(2) // summaries are occasional; each connection has its own page cache
	return &Reader{db: db, path: path}, nil
}

// Path returns the database file's path.
func (r *Reader) Path() string { return r.path }

// Close closes the database.
func (r *Reader) Close() error { return r.db.Close() }
