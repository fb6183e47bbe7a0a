// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package logbuf batches log lines in memory and writes them out in one
// write every interval, off the request path: a gateway logging one line
// per request otherwise pays a write system call per request, under the
// handler's lock. Lines at warning level or above are written at once (see
// Handler), so that what matters is never late.
//
// The price is that a crash (SIGKILL, a panic that is not recovered) loses
// the lines of the last interval. Close, on a graceful shutdown, writes
// everything.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is how long a line waits at most before it is written:
// short enough for `tail -f`, long enough to batch hundreds of lines under
// load.
const DefaultInterval = 100 * time.Millisecond

// maxBuffered is the size at which the buffer is written without waiting
// for the interval: a burst never holds more than this in memory.
const maxBuffered = 256 << 10

// Writer buffers what is written to it and writes it to the underlying
// writer every interval, when the buffer is large, on Flush and on Close.
// It is safe for concurrent use; each Write is kept whole (slog handlers
// write one record per Write).
type Writer struct {
	out io.Writer

	mu   sync.Mutex
	buf  []byte
	err  error // the first write error, returned by later writes
	done bool

	wmu   sync.Mutex // serializes writes to out, outside mu
	spare []byte     // the buffer not in use, swapped with buf

	stop     chan struct{}
	finished chan struct{}
}

// New returns a Writer to out flushing every interval (0 means
// DefaultInterval), with its one goroutine started; Close stops it.
func New(out io.Writer, interval time.Duration) *Writer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	w := &Writer{out: out, buf: make([]byte, 0, 32<<10), spare: make([]byte, 0, 32<<10),
		stop: make(chan struct{}), finished: make(chan struct{})}
	go w.loop(interval)
	return w
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.finished)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write appends p to the buffer; it writes the buffer out first if it is
// full. After Close, or once the underlying writer failed, it writes
// through (or returns that error).
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return 0, err
	}
	if w.done {
		w.mu.Unlock()
		w.wmu.Lock()
		defer w.wmu.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= maxBuffered
	w.mu.Unlock()
	if full {
		if err := w.Flush(); err != nil {
			return len(p), nil // the line is taken; the error shows at the next Write
		}
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	b := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	var err error
	if len(b) > 0 {
		_, err = w.out.Write(b)
	}
	if err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	w.spare = b[:0]
	if cap(w.spare) > maxBuffered*2 {
		w.spare = make([]byte, 0, 32<<10) // a burst's buffer is not kept
	}
	return err
}

// Close stops the flushing goroutine and writes what is buffered; later
// writes go straight to the underlying writer. It does not close it.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return nil
	}
	w.mu.Unlock()
	close(w.stop)
	<-w.finished
	// The last flush and the switch to writing through happen together:
	// no line is left in the buffer, and none overtakes it.
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	b, err := w.buf, w.err
	w.buf, w.done = nil, true
	w.mu.Unlock()
	if len(b) > 0 && err == nil {
		_, err = w.out.Write(b)
	}
	return err
}

// Handler wraps h, which writes to w, so that a record at level or above
// (slog.LevelWarn, say) is written out at once with everything before it.
func Handler(h slog.Handler, w *Writer, level slog.Level) slog.Handler {
	return &flushHandler{Handler: h, w: w, level: level}
}

type flushHandler struct {
	slog.Handler
	w     *Writer
	level slog.Level
}

func (h *flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.level {
		_ = h.w.Flush()
	}
	return err
}

func (h *flushHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &flushHandler{Handler: h.Handler.WithAttrs(as), w: h.w, level: h.level}
}

func (h *flushHandler) WithGroup(name string) slog.Handler {
	return &flushHandler{Handler: h.Handler.WithGroup(name), w: h.w, level: h.level}
}
