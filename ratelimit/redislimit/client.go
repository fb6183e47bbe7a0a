// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewClient opens a client for the Redis at url (redis://[:password@]host:port/db,
// or rediss:// for TLS), with every network call bounded by timeout (dial,
// read, write; 0 means DefaultTimeout), so that a Redis that stops
// answering costs a request at most that long. The client reconnects by
// itself after Redis comes back. The error never contains the password.
func NewClient(url string, timeout time.Duration) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		// ParseURL's message can quote the URL, password included.
		return nil, errors.New("invalid Redis URL: use redis://[:password@]host:6379/0, or rediss:// for TLS")
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = timeout, timeout, timeout
	opt.PoolTimeout = timeout
	opt.ContextTimeoutEnabled = true
	// A failed call is the caller's to handle (fail open or closed), at
	// once: retrying inside the client would hold the request longer. That
	// goes for dials too: go-redis tries 5 times, 100ms apart, by default,
	// so a Redis that refuses connections at once would cost every call
	// its whole timeout.
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	return redis.NewClient(opt), nil
}

// LogTo sends go-redis's own log lines (a failed dial, a bad connection
// dropped) to log, at debug level, instead of the standard library's log
// on stderr, which would put plain-text lines in the middle of a JSON log.
// They repeat what the calls' errors say, which the caller reports. go-redis
// has one logger for the whole process: the last one given here wins.
func LogTo(log *slog.Logger) {
	if log != nil {
		redis.SetLogger(slogPrinter{log})
	}
}

// slogPrinter is go-redis's Logging interface over a slog.Logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	if p.log.Enabled(ctx, slog.LevelDebug) {
		p.log.Log(ctx, slog.LevelDebug, "redis client", "detail", fmt.Sprintf(format, v...))
	}
}
