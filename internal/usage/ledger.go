// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Record is the usage of one request, as the gateway saw it.
type Record struct {
	// Time is when the request arrived. Zero means "now" (when Record is
	// called). It is stored with millisecond precision.
	Time time.Time
	// RequestID is the gateway's request ID (X-Request-Id), to find the
	// request in the logs. It may be empty.
	RequestID string
	// Key is the name of the client key that made the request (keys[].name
	// in the config), never the key itself. "" means the gateway runs
	// without keys (open mode).
	Key string
	// Model is the model the request was routed to (the one the client
	// asked for, unless an alias or a fallback changed it).
	Model string
	// Upstream is the name of the upstream that answered (the last one
	// tried), or "" when none was reached.
	Upstream string
	// PromptTokens and CompletionTokens are the token counts the upstream
	// reported, or the gateway's estimate when it reported none.
	PromptTokens, CompletionTokens int
	// Cost is the price of the request in US dollars, from the gateway's
	// price table; 0 when the model has no price.
	Cost float64
	// Status is the HTTP status sent to the client, or 0 when none was (the
	// client went away first). Summaries count 0 and >= 400 as errors.
	Status int
	// Latency runs from the request's arrival to the end of its response
	// (the last event of a stream).
	Latency time.Duration
	// Stream reports whether the client asked for a streamed (SSE) answer.
	Stream bool
}

// Options tunes a Ledger. The zero value is valid: each zero (or negative)
// field takes the default given in its comment.
type Options struct {
	// FlushInterval is the longest a record waits in memory before it is
	// written. Default 200ms: a crash loses about this much traffic, and
	// five small transactions a second cost the disk nothing.
	FlushInterval time.Duration
	// BatchSize starts a flush early once this many records are pending.
	// Default 512: under heavy load the batch (and what a crash can lose)
	// stays bounded, while one transaction still writes many rows.
	BatchSize int
	// MaxPending caps the records held in memory while the database cannot
	// be written; beyond it new records are dropped and counted in
	// Stats.Dropped. Default 1,000,000: hours of heavy traffic, about 170 MB.
	MaxPending int
	// BusyTimeout is how long a flush waits for a lock held by another
	// connection (e.g. a sqlite3 shell writing the file) before it fails
	// and is retried later. Default 5s: longer than any of our own
	// transactions, short enough to report a stuck lock.
	BusyTimeout time.Duration
	// Logger receives flush failures and recoveries. nil discards them.
	Logger *slog.Logger
}

const (
	defaultFlushInterval = 200 * time.Millisecond
	defaultBatchSize     = 512
	defaultMaxPending    = 1_000_000
	defaultBusyTimeout   = 5 * time.Second
	// maxBackoff caps the wait between retries of a failing flush: the
	// ledger recovers within seconds of the disk, and logs at most one
	// failure per maxBackoff.
	maxBackoff = 5 * time.Second
)

func (o *Options) applyDefaults() {
	if o.FlushInterval <= 0 {
		o.FlushInterval = defaultFlushInterval
	}
	if o.BatchSize <= 0 {
		o.BatchSize = defaultBatchSize
	}
	if o.MaxPending <= 0 {
		o.MaxPending = defaultMaxPending
	}
	if o.MaxPending < o.BatchSize {
		o.MaxPending = o.BatchSize // a full batch must fit, or no early flush would ever start
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = defaultBusyTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats counts what happened to the records given to a Ledger. Recorded =
// Written + Pending + Dropped.
type Stats struct {
	// Recorded counts calls to Record.
	Recorded uint64 `json:"recorded"`
	// Written counts records committed to the database.
	Written uint64 `json:"written"`
	// Pending counts records held in memory, including a batch being written.
	Pending int `json:"pending"`
	// Dropped counts records lost: refused because MaxPending were already
	// held or because the Ledger was closed, or not written at Close.
	Dropped uint64 `json:"dropped"`
	// FlushErrors counts failed flushes; their records were kept and retried.
	FlushErrors uint64 `json:"flush_errors"`
	// LastFlushError is the error of the most recent failed flush, or "".
	// It stays after writes recover; compare FlushErrors over time.
	LastFlushError string `json:"last_flush_error,omitempty"`
}

// Ledger records usage into data_dir/usage.db. Its methods are safe for
// concurrent use. Open one per process and Close it at shutdown.
type Ledger struct {
	opts       Options
	path       string
	w          *sql.DB   // the one writer connection
	insert     *sql.Stmt // one row, prepared on w
	insertMany *sql.Stmt // insertRows rows
	r          *Reader

	kick chan struct{} // cap 1: "BatchSize records are pending"
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the flusher has returned

	mu       sync.Mutex
	pending  []Record // appended by Record
	spare    []Record // the other buffer: pending and spare swap at each flush
	inFlight int      // records taken by the flush being written
	closed   bool
	st       Stats // Pending is computed in Stats()

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) dir/usage.db and starts the background
// flusher. dir is created with mode 0700. Close the Ledger to write what is
// pending and stop the flusher.
func Open(dir string, opts Options) (*Ledger, error) {
	opts.applyDefaults()
	w, path, err := openWriter(dir, opts.BusyTimeout)
	if err != nil {
		return nil, err
	}
	l := &Ledger{
		opts:    opts,
		path:    path,
		w:       w,
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		pending: make([]Record, 0, opts.BatchSize),
		spare:   make([]Record, 0, opts.BatchSize),
	}
	if err := l.prepare(); err != nil {
		_ = l.closeDB()
		return nil, err
	}
	go l.run()
	return l, nil
}

// prepare makes the insert statements and the reader.
func (l *Ledger) prepare() (err error) {
	if l.insert, err = l.w.Prepare(insertSQLRows(1)); err != nil {
		return fmt.Errorf("usage: preparing the insert statement on %s: %w", l.path, err)
	}
	if l.insertMany, err = l.w.Prepare(insertSQLRows(insertRows)); err != nil {
		return fmt.Errorf("usage: preparing the insert statement on %s: %w", l.path, err)
	}
	l.r, err = openReader(l.path)
	return err
}

// closeDB closes what Open opened. The reader goes first: the writer's
// close, the last one, checkpoints the WAL into usage.db and removes it.
func (l *Ledger) closeDB() error {
	var errs []error
	if l.r != nil {
		errs = append(errs, l.r.Close())
	}
	if l.insertMany != nil {
		errs = append(errs, l.insertMany.Close())
	}
	if l.insert != nil {
		errs = append(errs, l.insert.Close())
	}
	return errors.Join(append(errs, l.w.Close())...)
}

// Path returns the database file's path, dir/usage.db.
func (l *Ledger) Path() string { return l.path }

// MaxField bounds the strings of a Record (RequestID, Key, Model,
// Upstream): Record cuts a longer one to its first MaxField bytes, so that
// a client's string of any size (a model name may be megabytes) costs the
// file and the pending batch no more than a few hundred bytes.
const MaxField = 256

// Record queues r to be written. It does no I/O and never waits for the
// disk: it takes a mutex to append r to the pending batch (about 15ns, no
// allocation once the batch buffers have grown). Strings longer than
// MaxField are cut to it. A record given after Close, or while MaxPending
// records are already held, is dropped and counted in Stats.Dropped.
func (l *Ledger) Record(r Record) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.RequestID, r.Key, r.Model, r.Upstream = cut(r.RequestID), cut(r.Key), cut(r.Model), cut(r.Upstream)
	l.mu.Lock()
	l.st.Recorded++
	if l.closed || len(l.pending)+l.inFlight >= l.opts.MaxPending {
		l.st.Dropped++
		l.mu.Unlock()
		return
	}
	l.pending = append(l.pending, r)
	full := len(l.pending) >= l.opts.BatchSize
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default: // a flush is already due
		}
	}
}

// Stats returns a snapshot of the ledger's counters.
func (l *Ledger) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.st
	s.Pending = len(l.pending) + l.inFlight
	return s
}

// Close stops the flusher, writes every pending record and closes the
// database. It returns an error if the last records could not be written
// (they are counted in Stats.Dropped). While another process holds a lock
// on the file, Close can wait up to twice BusyTimeout. Close is
// idempotent; later calls return the first call's result.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true // from here on Record drops, so the final flush sees everything
		l.mu.Unlock()
		close(l.stop)
		<-l.done
		l.closeErr = errors.Join(l.closeErr, l.closeDB())
	})
	return l.closeErr
}

// run is the flusher: it writes the pending batch every FlushInterval, or
// when Record reports a full batch, and backs off while writes fail.
func (l *Ledger) run() {
	defer close(l.done)
	timer := time.NewTimer(l.opts.FlushInterval)
	defer timer.Stop()
	var backoff time.Duration // > 0 while writes fail
	failures := 0
	for {
		kick := l.kick
		if backoff > 0 {
			kick = nil // a full batch does not hurry a retry
		}
		select {
		case <-l.stop:
			l.final()
			return
		case <-timer.C:
		case <-kick:
		}
		n, err := l.flush()
		switch {
		case err != nil:
			failures++
			backoff = min(max(2*backoff, l.opts.FlushInterval), maxBackoff)
			l.opts.Logger.Warn("usage: cannot write usage records; keeping them in memory and retrying",
				"path", l.path, "records", n, "retry_in", backoff, "failures", failures, "err", err)
		case backoff > 0:
			l.opts.Logger.Info("usage: writing usage records again", "path", l.path, "records", n, "after_failures", failures)
			backoff, failures = 0, 0
		}
		timer.Reset(max(backoff, l.opts.FlushInterval))
	}
}

// final writes what is pending at Close. A failure there loses the
// records: they are counted as dropped and reported by Close.
func (l *Ledger) final() {
	n, err := l.flush()
	if err == nil {
		return
	}
	l.mu.Lock()
	lost := len(l.pending)
	l.st.Dropped += uint64(lost)
	l.pending = nil
	l.mu.Unlock()
	l.closeErr = fmt.Errorf("usage: %d usage records could not be written to %s at shutdown and are lost: %w", lost, l.path, err)
	l.opts.Logger.Error("usage: usage records lost at shutdown", "path", l.path, "records", n, "err", err)
}

// flush writes the pending batch in one transaction. It returns how many
// records it tried to write. On failure they go back to the front of the
// pending batch, in order.
func (l *Ledger) flush() (int, error) {
	l.mu.Lock()
	batch := l.pending
	if len(batch) == 0 {
		l.mu.Unlock()
		return 0, nil
	}
	l.pending, l.spare = l.spare[:0], nil
	l.inFlight = len(batch)
	l.mu.Unlock()

	err := l.write(batch)

	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight = 0
	if err != nil {
		l.st.FlushErrors++
		l.st.LastFlushError = err.Error()
		newer := l.pending
		l.pending = append(batch, newer...)
		clear(newer)
		l.spare = newer[:0]
		return len(batch), err
	}
	l.st.Written += uint64(len(batch))
	clear(batch) // let the strings go
	if cap(batch) <= 16*l.opts.BatchSize {
		l.spare = batch[:0]
	} else {
		l.spare = make([]Record, 0, l.opts.BatchSize) // after an outage: give the big buffer back
	}
	return len(batch), nil
}

// write inserts batch in one transaction, insertRows records per
// statement.
func (l *Ledger) write(batch []Record) error {
	ctx := context.Background() // the flusher has no caller; BusyTimeout bounds the wait
	tx, err := l.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	many, one := tx.StmtContext(ctx, l.insertMany), tx.StmtContext(ctx, l.insert)
	args := make([]any, 0, insertRows*insertCols)
	for len(batch) > 0 {
		n, stmt := insertRows, many
		if len(batch) < insertRows {
			n, stmt = 1, one
		}
		args = args[:0]
		for i := range batch[:n] {
			r := &batch[i]
			args = append(args, r.Time.UnixMilli(), r.RequestID, r.Key, r.Model, r.Upstream,
				r.PromptTokens, r.CompletionTokens, r.Cost, r.Status, float64(r.Latency)/float64(time.Millisecond), r.Stream)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			_ = tx.Rollback()
			return err
		}
		batch = batch[n:]
	}
	return tx.Commit()
}

// cut returns s, or its first MaxField bytes (at a character boundary)
// when it is longer.
func cut(s string) string {
	if len(s) <= MaxField {
		return s
	}
	i := MaxField
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.Clone(s[:i]) // not a slice that keeps the whole string alive
}
