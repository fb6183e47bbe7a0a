// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ErrIdleTimeout is returned by [Copy] when the source sent no event for
// longer than [CopyOptions.IdleTimeout].
var ErrIdleTimeout = errors.New("sse: stream idle timeout")

// ErrClientGone wraps every error from writing or flushing to the
// destination in [Copy] and [WriteEvent], so that a vanished client can be
// told apart from an upstream failure with errors.Is. The underlying write
// error stays in the chain.
var ErrClientGone = errors.New("sse: write to client failed")

// ErrIncomplete is returned by [Copy] when the source ended cleanly before
// an event that ends the stream ([CopyOptions.End]) was relayed: the client
// has a stream that looks whole and is not.
var ErrIncomplete = errors.New("sse: stream ended before its end event")

// CopyOptions tunes [Copy]. The zero value is valid: no idle timeout,
// [DefaultMaxEvent], no callback.
type CopyOptions struct {
	// IdleTimeout is the longest Copy waits on the source for the next
	// complete event, the first one included; 0 or less means no limit. Time spent writing to a slow
	// client does not count: that is the server's write timeout's job.
	IdleTimeout time.Duration

	// MaxEvent bounds the raw size of one event, as in [NewReader];
	// 0 means DefaultMaxEvent.
	MaxEvent int

	// OnEvent, if not nil, is called with each event before it is written,
	// for example to pick the usage out of the last chunk. The event's Raw
	// and Data are valid only during the call.
	OnEvent func(Event)

	// Drop, if not nil, is called with each event after OnEvent; an event
	// for which it returns true is not written (for example a usage chunk
	// the client did not ask for). Dropped events are not counted in
	// CopyResult.Events nor Bytes.
	Drop func(Event) bool

	// End, if not nil, reports whether an event ends the stream in the
	// API's dialect: OpenAI's Chat Completions end with "data: [DONE]",
	// its Responses API with a response.completed (or .failed,
	// .incomplete) event. It is called with each event written, after the
	// write, until it returns true; it may keep state across calls (one End
	// per Copy). With End
	// set, a source that ends cleanly before End returned true is not a
	// clean end: Copy returns [ErrIncomplete]. Nil means that
	// "data: [DONE]" ([Event.IsDone]) marks the end and that a clean end of
	// the source is taken as it is.
	End func(Event) bool
}

// CopyResult describes what [Copy] relayed. It is meaningful with or without
// an error.
type CopyResult struct {
	// Events is the number of events written (and flushed, when the
	// destination flushes), comments and heartbeats included.
	Events int
	// Bytes is the number of bytes written to the destination.
	Bytes int64
	// FirstEvent is the time from the start of Copy until the first event that
	// carries data was read (time to first token); 0 if none was.
	// Comments used as heartbeats do not count.
	FirstEvent time.Duration
	// Done reports whether the event that ends the stream was relayed
	// (written and flushed):
	// one for which CopyOptions.End returned true, or "data: [DONE]" when
	// End is nil. The client then has a complete stream even if Copy
	// returns an error afterwards.
	Done bool
}

// Copy relays the SSE stream read from r to w, one whole event at a time:
// each event is written with a single Write as soon as it is read, and w is
// flushed before Copy reads r again whenever it wrote since the last flush,
// so the client sees every event as soon as the upstream sent it, and the
// events that came in one read of r go out in one flush (one system call
// and one packet, rather than one per event). Bytes are copied unchanged.
// A partial event at the end of a truncated stream is not written, and Copy
// never writes anything the source did not send (no synthetic [DONE]).
//
// w is flushed if it can be: an [http.ResponseWriter]
// through [http.NewResponseController] (which follows Unwrap), otherwise a
// FlushError() error, Flush() error or [http.Flusher] method.
//
// Copy returns nil when r reaches a clean end of stream (after the end
// event, when [CopyOptions.End] is set). Otherwise:
//   - [ErrIncomplete] if r ended cleanly before the end event (End set);
//   - ctx.Err() if ctx is done;
//   - [ErrIdleTimeout] if r sent no event within opt.IdleTimeout;
//   - an error wrapping [ErrClientGone] if writing or flushing w failed;
//   - [io.ErrUnexpectedEOF] if r ended inside an event, [ErrEventTooLong]
//     for an oversize event, or r's own read error.
//
// When ctx is done or the idle timeout fires, Copy closes r if it is an
// [io.Closer], so that a blocked Read returns; an http.Response.Body is.
// Otherwise Copy can only notice once the pending Read returns. Apart from
// that, r is left open for the caller to close. Copy reads r through a
// buffer: after an error, how much of r has been consumed is unspecified.
func Copy(ctx context.Context, w io.Writer, r io.Reader, opt CopyOptions) (res CopyResult, err error) {
	if err := ctx.Err(); err != nil {
		return res, err
	}
	st := &copyState{src: r, start: time.Now(), idleTimeout: opt.IdleTimeout}
	// Whatever happens, the source is not closed once Copy has returned.
	defer st.stop.CompareAndSwap(stopNone, stopFinished)

	// Neither the idle timer nor the context costs a goroutine per event:
	// there is one timer per stream, and context.AfterFunc needs no
	// goroutine for the stdlib's contexts until it fires.
	if st.idleTimeout > 0 {
		st.startIdleTimer()
		defer st.idle.Stop()
	}
	defer context.AfterFunc(ctx, func() { st.abort(stopCanceled) })()

	rd := getReader(r, opt.MaxEvent)
	defer putReader(rd, r)

	// Events are flushed when Copy is about to wait for the source (and
	// when it returns), not one by one: events that came in one read go
	// out in one flush, and none waits on the source unflushed. They count
	// in res once flushed.
	var (
		flush    = flusherFor(w)
		written  int  // events written since the last flush
		ended    bool // the end event is among the written
		flushErr error
	)
	flushWritten := func() error {
		if written == 0 {
			return nil
		}
		if flush != nil {
			if err := flush(); err != nil {
				flushErr = err
				written, ended = 0, false // not known to have reached the client
				return errFlush
			}
		}
		res.Events += written
		written = 0
		res.Done = res.Done || ended
		return nil
	}
	rd.beforeWait = func() error {
		err := flushWritten()
		st.waiting(true) // the wait begins now, not before the flush
		return err
	}
	defer func() { _ = flushWritten() }() // what was written before an error return (res is named for it)

	sawData := false
	for {
		st.waiting(true)
		ev, err := rd.Next()
		st.waiting(false)
		if flushErr != nil {
			return res, fmt.Errorf("%w: %w", ErrClientGone, flushErr)
		}
		// A stop request wins over whatever Next returned: the read error is
		// then only its consequence, and an event read in the race is dropped.
		switch st.stop.Load() {
		case stopIdle:
			return res, ErrIdleTimeout
		case stopCanceled:
			return res, ctx.Err()
		}
		if err == io.EOF {
			if opt.End != nil && !ended {
				return res, ErrIncomplete
			}
			return res, nil
		}
		if err != nil {
			return res, err
		}

		if !sawData && rd.hasData {
			sawData = true
			res.FirstEvent = time.Since(st.start)
		}
		if opt.OnEvent != nil {
			opt.OnEvent(ev)
		}
		if opt.Drop != nil && opt.Drop(ev) {
			continue
		}
		n, err := w.Write(ev.Raw)
		res.Bytes += int64(n)
		if err == nil && n < len(ev.Raw) {
			err = io.ErrShortWrite
		}
		if err != nil {
			written, ended = 0, false // not known to have reached the client
			return res, fmt.Errorf("%w: %w", ErrClientGone, err)
		}
		written++
		if !ended {
			if opt.End != nil {
				ended = opt.End(ev)
			} else {
				ended = ev.IsDone()
			}
		}
		if flush == nil { // nothing to flush: written is relayed
			_ = flushWritten()
		}
	}
}

// errFlush stops a Reader whose beforeWait failed to flush; Copy returns
// the flush's own error.
var errFlush = errors.New("sse: flush failed")

// Reasons for Copy to stop reading, set at most once.
const (
	stopNone     int32 = iota
	stopIdle           // the idle timer fired
	stopCanceled       // ctx is done
	stopFinished       // Copy returned for another reason
)

// notWaiting is copyState.waitingSince while Copy is not reading.
const notWaiting = -1

// copyState is what the idle timer and the context callback share with Copy.
type copyState struct {
	src  io.Reader
	stop atomic.Int32

	start       time.Time
	idleTimeout time.Duration
	idle        *time.Timer
	// waitingSince is when, as an offset from start, Copy began waiting for
	// the current event, or notWaiting while it writes to the client.
	waitingSince atomic.Int64
}

// startIdleTimer arms the stream's one idle timer.
//
// Rather than being re-armed for every event, which costs a timer-heap
// update (and often a wake-up of another P) twice per event, the timer fires
// on its own schedule and checkIdle compares the time waited with the
// timeout: per event, Copy only stores a timestamp.
func (s *copyState) startIdleTimer() {
	s.waitingSince.Store(notWaiting)
	// Created stopped and armed once s.idle is set: the Reset is what orders
	// that write before checkIdle's read (for the race detector too).
	s.idle = time.AfterFunc(time.Duration(math.MaxInt64), s.checkIdle)
	s.idle.Reset(s.idleTimeout)
}

// waiting records whether Copy is now waiting on the source. Only that time
// counts against the idle timeout.
func (s *copyState) waiting(on bool) {
	if s.idle == nil {
		return
	}
	if on {
		s.waitingSince.Store(int64(time.Since(s.start)))
	} else {
		s.waitingSince.Store(notWaiting)
	}
}

// checkIdle runs when the idle timer fires: it aborts the copy if Copy has
// been waiting on the source for the whole timeout, and otherwise re-arms
// the timer for when that could first be the case.
func (s *copyState) checkIdle() {
	if s.stop.Load() != stopNone {
		return // Copy is over or about to be: let the timer die
	}
	next := s.idleTimeout
	if since := s.waitingSince.Load(); since != notWaiting {
		waited := time.Since(s.start) - time.Duration(since)
		if waited >= s.idleTimeout {
			s.abort(stopIdle)
			return
		}
		next -= waited
	}
	s.idle.Reset(next)
}

// abort records why Copy must stop and unblocks a pending Read by closing
// the source. Only the first reason counts, and the source is closed once.
func (s *copyState) abort(reason int32) {
	if !s.stop.CompareAndSwap(stopNone, reason) {
		return
	}
	if c, ok := s.src.(io.Closer); ok {
		_ = c.Close()
	}
}

// flusherFor returns a function that flushes w, or nil if w cannot be
// flushed (an http.ResponseWriter that cannot is flushed as a no-op).
func flusherFor(w io.Writer) func() error {
	switch f := w.(type) {
	case http.ResponseWriter:
		rc := http.NewResponseController(f)
		return func() error {
			if err := rc.Flush(); !errors.Is(err, http.ErrNotSupported) {
				return err
			}
			return nil
		}
	case interface{ FlushError() error }:
		return f.FlushError
	case interface{ Flush() error }: // bufio.Writer and friends
		return f.Flush
	case http.Flusher:
		return func() error { f.Flush(); return nil }
	}
	return nil
}

// readerPool recycles Readers between calls to Copy: on a gateway every
// stream would otherwise allocate a read buffer and grow its event buffers.
var readerPool sync.Pool

// getReader returns a Reader for r from the pool, or a new one.
func getReader(r io.Reader, maxEvent int) *Reader {
	rd, _ := readerPool.Get().(*Reader)
	if rd == nil {
		return NewReader(r, maxEvent)
	}
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	rd.br.Reset(r)
	*rd = Reader{br: rd.br, max: maxEvent, raw: rd.raw[:0], data: rd.data[:0], bufs: rd.bufs}
	return rd
}

// putReader returns rd, which read from src, to the pool unless its buffers
// grew large, so that one huge event does not pin memory for good, or its
// bufio.Reader is src itself (NewReader adopts a large enough *bufio.Reader),
// which belongs to the caller.
func putReader(rd *Reader, src io.Reader) {
	if cap(rd.raw) > 64<<10 || cap(rd.data) > 64<<10 {
		return
	}
	if br, ok := src.(*bufio.Reader); ok && br == rd.br {
		return
	}
	rd.br.Reset(nil) // drop the reference to the source
	readerPool.Put(rd)
}
