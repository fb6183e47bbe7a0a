// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package usage is warmgate's durable usage ledger: one row per request
// (time, key name, model, upstream, tokens, cost, status, latency) in an
// embedded SQLite file, data_dir/usage.db.
//
// # Writing
//
// The gateway calls [Ledger.Record] once per finished request. Record does
// no I/O and never waits for the disk: it appends to an in-memory batch
// under a mutex. One background goroutine writes the batch in a single
// transaction every [Options.FlushInterval] (200ms), or as soon as
// [Options.BatchSize] (512) records are pending. [Ledger.Close] writes
// whatever is pending, so a graceful shutdown loses nothing.
//
// The file is in WAL mode with synchronous=FULL: a committed batch survives
// a crash of the process (SIGKILL, OOM kill, panic) and of the machine. What
// a crash can lose is only what had not been committed yet: the records of
// the last flush interval, or about BatchSize records under heavy load
// (docs/usage.md gives the measured numbers).
//
// When the database cannot be written (disk full, a lock held too long by
// another process), the batch stays in memory, the error is logged and the
// flush is retried with backoff. At most [Options.MaxPending] records are
// held; beyond that new records are dropped and counted in [Stats].
//
// # Reading
//
// [Ledger.Summary] totals requests, errors, tokens, cost and latency by
// model, key, day or upstream; [Ledger.Handler] serves the same as JSON for
// the dashboard (GET /api/usage). Both see committed records only, so they
// lag the traffic by at most one flush interval. [OpenReadOnly] opens the
// file for the "warmgate usage" command, also while a gateway is writing it.
package usage
