// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"
)

// modes runs f against an HTTP/1.1 and an HTTP/2 test server: flushing
// takes a different path in each.
func modes(t *testing.T, f func(t *testing.T, newServer func(http.Handler) *httptest.Server)) {
	t.Run("h1", func(t *testing.T) {
		f(t, httptest.NewServer)
	})
	t.Run("h2", func(t *testing.T) {
		f(t, func(h http.Handler) *httptest.Server {
			srv := httptest.NewUnstartedServer(h)
			srv.EnableHTTP2 = true
			srv.StartTLS()
			return srv
		})
	})
}

// get starts a streaming GET against srv and returns the response.
func get(t *testing.T, ctx context.Context, srv *httptest.Server) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// nextWithin reads the next event, failing the test if it takes longer than
// d of real time. Network tests cannot run in a synctest bubble, and without
// a bound a missing flush would hang the test instead of failing it.
func nextWithin(t *testing.T, rd *Reader, d time.Duration, what string) rec {
	t.Helper()
	type result struct {
		ev  rec
		err error
	}
	ch := make(chan result, 1)
	go func() {
		ev, err := rd.Next()
		ch <- result{recOf(ev), err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("reading %s: %v", what, r.err)
		}
		return r.ev
	case <-time.After(d):
		t.Fatalf("%s not received within %v: not flushed?", what, d)
		return rec{}
	}
}

// TestCopyFlushesEachEvent proves the flush per event end to end: the
// upstream side sends event 1 and then blocks until the client has received
// it. Without a flush after event 1, the client would never see it.
func TestCopyFlushesEachEvent(t *testing.T) {
	modes(t, func(t *testing.T, newServer func(http.Handler) *httptest.Server) {
		release := make(chan struct{})
		copyErr := make(chan error, 1)
		srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var wg sync.WaitGroup
			defer wg.Wait()
			pr, pw := io.Pipe()
			defer pr.Close() // before Wait: unblocks the producer
			wg.Go(func() {
				_, _ = pw.Write([]byte("data: one\n\n"))
				select {
				case <-release:
				case <-r.Context().Done():
				}
				_, _ = pw.Write([]byte("data: two\n\ndata: [DONE]\n\n"))
				pw.Close()
			})
			// Send the headers now, so that only Copy's flushes are left
			// to get the events out.
			w.Header().Set("Content-Type", "text/event-stream")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Error(err)
			}
			_, err := Copy(r.Context(), w, pr, CopyOptions{})
			copyErr <- err
		}))
		defer srv.Close()

		// A bound on the whole exchange, so that a missing flush fails the
		// test rather than hanging it.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		resp := get(t, ctx, srv)
		defer resp.Body.Close()
		rd := NewReader(resp.Body, 0)
		if ev := nextWithin(t, rd, 10*time.Second, "event 1"); ev.Data != "one" {
			t.Fatalf("event 1 = %q", ev)
		}
		close(release)
		if ev := nextWithin(t, rd, 10*time.Second, "event 2"); ev.Data != "two" {
			t.Fatalf("event 2 = %q", ev)
		}
		if ev := nextWithin(t, rd, 10*time.Second, "[DONE]"); ev.Data != "[DONE]" {
			t.Fatalf("event 3 = %q", ev)
		}
		if _, err := rd.Next(); err != io.EOF {
			t.Fatalf("after [DONE]: %v, want io.EOF", err)
		}
		if err := <-copyErr; err != nil {
			t.Fatalf("Copy: %v", err)
		}
	})
}

// TestCopyClientDisconnects: when the client goes away mid-stream, Copy
// stops with an error saying so and the upstream side is released.
func TestCopyClientDisconnects(t *testing.T) {
	modes(t, func(t *testing.T, newServer func(http.Handler) *httptest.Server) {
		copyErr := make(chan error, 1)
		producerErr := make(chan error, 1)
		srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var wg sync.WaitGroup
			defer wg.Wait()
			pr, pw := io.Pipe()
			defer pr.Close() // the caller owns the source, as with resp.Body; before Wait
			wg.Go(func() {
				for i := 0; ; i++ {
					if _, err := fmt.Fprintf(pw, "data: %d\n\n", i); err != nil {
						producerErr <- err
						return
					}
				}
			})
			_, err := Copy(r.Context(), w, pr, CopyOptions{})
			copyErr <- err
		}))
		defer srv.Close()

		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		resp := get(t, ctx, srv)
		nextWithin(t, NewReader(resp.Body, 0), 10*time.Second, "event 1")
		cancel()
		resp.Body.Close()

		select {
		case err := <-copyErr:
			if !errors.Is(err, context.Canceled) && !errors.Is(err, ErrClientGone) {
				t.Errorf("Copy error = %v, want context.Canceled or ErrClientGone", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Copy did not return after the client left")
		}
		if err := <-producerErr; !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("producer error = %v, want io.ErrClosedPipe", err)
		}
	})
}

// step is one write of a scripted upstream, after a delay.
type step struct {
	after time.Duration
	data  string
}

// script writes steps to pw from a new goroutine (time is relative to the
// previous step), then closes pw. The returned channel gets the first write
// error, or nil: io.ErrClosedPipe shows that Copy closed the source.
func script(pw *io.PipeWriter, steps ...step) <-chan error {
	done := make(chan error, 1)
	go func() {
		for _, s := range steps {
			time.Sleep(s.after)
			if _, err := pw.Write([]byte(s.data)); err != nil {
				done <- err
				return
			}
		}
		done <- pw.Close()
	}()
	return done
}

func TestCopyIdleTimeout(t *testing.T) {
	tests := []struct {
		name       string
		steps      []step
		wantErr    error
		wantEvents int
		wantAt     time.Duration // time at which Copy returns
	}{
		{
			name:       "before the first event",
			steps:      []step{{after: time.Hour, data: "data: late\n\n"}},
			wantErr:    ErrIdleTimeout,
			wantEvents: 0,
			wantAt:     30 * time.Second,
		},
		{
			name:       "after an event",
			steps:      []step{{data: "data: 1\n\n"}, {after: 10 * time.Second, data: "data: 2\n\n"}, {after: time.Hour, data: "data: late\n\n"}},
			wantErr:    ErrIdleTimeout,
			wantEvents: 2,
			wantAt:     40 * time.Second,
		},
		{
			name:       "inside an event",
			steps:      []step{{data: "data: 1\n\ndata: "}, {after: time.Hour, data: "2\n\n"}},
			wantErr:    ErrIdleTimeout,
			wantEvents: 1,
			wantAt:     30 * time.Second,
		},
		{
			name: "timer is reset by every event",
			steps: []step{
				{after: 20 * time.Second, data: "data: 1\n\n"},
				{after: 29 * time.Second, data: ": heartbeat\n\n"},
				{after: 29 * time.Second, data: "data: 2\n\n"},
				{after: 29 * time.Second, data: "data: [DONE]\n\n"},
			},
			wantErr:    nil,
			wantEvents: 4,
			wantAt:     107 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr, pw := io.Pipe()
				wrote := script(pw, tt.steps...)
				start := time.Now()
				res, err := Copy(t.Context(), io.Discard, pr, CopyOptions{IdleTimeout: 30 * time.Second})
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Copy error = %v, want %v", err, tt.wantErr)
				}
				if got := time.Since(start); got != tt.wantAt {
					t.Errorf("Copy returned after %v, want %v", got, tt.wantAt)
				}
				if res.Events != tt.wantEvents {
					t.Errorf("Events = %d, want %d", res.Events, tt.wantEvents)
				}
				werr := <-wrote
				if tt.wantErr == ErrIdleTimeout && !errors.Is(werr, io.ErrClosedPipe) {
					t.Errorf("upstream write after the timeout: %v, want io.ErrClosedPipe (source closed)", werr)
				}
			})
		})
	}
}

// TestCopyIdleTimeoutIgnoresSlowClient: only time spent waiting on the
// source counts against the idle timeout, not time spent writing.
func TestCopyIdleTimeoutIgnoresSlowClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := writerFunc(func(p []byte) (int, error) {
			time.Sleep(time.Minute)
			return len(p), nil
		})
		res, err := Copy(t.Context(), slow, strings.NewReader("data: 1\n\ndata: 2\n\n"), CopyOptions{IdleTimeout: time.Second})
		if err != nil || res.Events != 2 {
			t.Fatalf("Copy = %+v, %v; want 2 events, no error", res, err)
		}
	})
}

func TestCopyContextCanceled(t *testing.T) {
	for _, hideClose := range []bool{false, true} {
		t.Run(fmt.Sprintf("hideClose=%v", hideClose), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				pr, pw := io.Pipe()
				defer pr.Close()
				wrote := script(pw, step{data: "data: 1\n\n"}, step{after: time.Minute, data: "data: 2\n\n"})
				var src io.Reader = pr
				if hideClose {
					// Copy cannot interrupt the Read: it notices the
					// cancellation when event 2 arrives, and drops it.
					src = struct{ io.Reader }{pr}
				}
				time.AfterFunc(10*time.Second, cancel)

				start := time.Now()
				var out bytes.Buffer
				res, err := Copy(ctx, &out, src, CopyOptions{})
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Copy error = %v, want context.Canceled", err)
				}
				wantAt := 10 * time.Second
				if hideClose {
					wantAt = time.Minute
				}
				if got := time.Since(start); got != wantAt {
					t.Errorf("Copy returned after %v, want %v", got, wantAt)
				}
				if res.Events != 1 || out.String() != "data: 1\n\n" {
					t.Errorf("relayed %d events %q, want only event 1", res.Events, out.String())
				}
				werr := <-wrote
				if !hideClose && !errors.Is(werr, io.ErrClosedPipe) {
					t.Errorf("upstream write after cancel: %v, want io.ErrClosedPipe (source closed)", werr)
				}
			})
		})
	}
}

func TestCopyContextAlreadyDone(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := Copy(ctx, io.Discard, iotest.ErrReader(errors.New("must not be read")), CopyOptions{})
	if !errors.Is(err, context.Canceled) || res != (CopyResult{}) {
		t.Fatalf("Copy = %+v, %v; want zero result, context.Canceled", res, err)
	}
}

// TestCopyResult checks the stream facts Copy reports, and that the bytes
// arrive unchanged.
func TestCopyResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		steps := []step{
			{after: time.Second, data: ": OPENROUTER PROCESSING\n\n"},
			{after: 2 * time.Second, data: "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n"},
			{after: time.Second, data: "event: usage\ndata: {\"usage\":{}}\n\ndata: [DONE]\n\n"},
		}
		pr, pw := io.Pipe()
		script(pw, steps...)
		var want strings.Builder
		for _, s := range steps {
			want.WriteString(s.data)
		}

		var out bytes.Buffer
		res, err := Copy(t.Context(), &out, pr, CopyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantRes := CopyResult{Events: 4, Bytes: int64(want.Len()), FirstEvent: 3 * time.Second, Done: true}
		if res != wantRes {
			t.Errorf("result = %+v, want %+v", res, wantRes)
		}
		if out.String() != want.String() {
			t.Errorf("relayed %q, want %q", out.String(), want.String())
		}
	})
}

// TestCopyUpstreamErrors: an upstream that fails mid-stream gets its error
// returned, only complete events are relayed, and no [DONE] is made up.
func TestCopyUpstreamErrors(t *testing.T) {
	reset := errors.New("connection reset by peer")
	tests := []struct {
		name       string
		in         io.Reader
		maxEvent   int
		wantOut    string
		wantErr    error
		wantEvents int
		wantDone   bool
	}{
		{
			name:       "clean end",
			in:         strings.NewReader("data: a\n\ndata: [DONE]\n\n"),
			wantOut:    "data: a\n\ndata: [DONE]\n\n",
			wantEvents: 2,
			wantDone:   true,
		},
		{
			name:       "clean end without DONE",
			in:         strings.NewReader("data: a\n\n"),
			wantOut:    "data: a\n\n",
			wantEvents: 1,
		},
		{
			name:       "truncated inside an event",
			in:         strings.NewReader("data: a\n\ndata: {\"choi"),
			wantOut:    "data: a\n\n",
			wantErr:    io.ErrUnexpectedEOF,
			wantEvents: 1,
		},
		{
			name:       "truncated after DONE",
			in:         strings.NewReader("data: [DONE]\n\ndata: x"),
			wantOut:    "data: [DONE]\n\n",
			wantErr:    io.ErrUnexpectedEOF,
			wantEvents: 1,
			wantDone:   true,
		},
		{
			name:       "read error",
			in:         io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(reset)),
			wantOut:    "data: a\n\n",
			wantErr:    reset,
			wantEvents: 1,
		},
		{
			name:       "oversize event",
			in:         strings.NewReader("data: a\n\ndata: " + strings.Repeat("x", 100) + "\n\n"),
			maxEvent:   64,
			wantOut:    "data: a\n\n",
			wantErr:    ErrEventTooLong,
			wantEvents: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := Copy(t.Context(), &out, tt.in, CopyOptions{MaxEvent: tt.maxEvent})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Copy error = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(err, ErrClientGone) {
				t.Errorf("upstream failure reported as ErrClientGone: %v", err)
			}
			if out.String() != tt.wantOut {
				t.Errorf("relayed %q, want %q", out.String(), tt.wantOut)
			}
			if res.Events != tt.wantEvents || res.Done != tt.wantDone || res.Bytes != int64(len(tt.wantOut)) {
				t.Errorf("result = %+v, want %d events, done %v, %d bytes", res, tt.wantEvents, tt.wantDone, len(tt.wantOut))
			}
		})
	}
}

// TestCopyClientGone: write and flush failures are wrapped in ErrClientGone
// and keep their cause.
func TestCopyClientGone(t *testing.T) {
	broken := errors.New("broken pipe")
	tests := []struct {
		name       string
		w          io.Writer
		wantCause  error
		wantEvents int
	}{
		{
			name:       "write error",
			w:          &failingWriter{okWrites: 1, err: broken},
			wantCause:  broken,
			wantEvents: 1,
		},
		{
			name:       "short write",
			w:          writerFunc(func(p []byte) (int, error) { return len(p) / 2, nil }),
			wantCause:  io.ErrShortWrite,
			wantEvents: 0,
		},
		{
			name:       "flush error",
			w:          &logWriter{flushErr: broken},
			wantCause:  broken,
			wantEvents: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Copy(t.Context(), tt.w, strings.NewReader("data: 1\n\ndata: 2\n\ndata: 3\n\n"), CopyOptions{})
			if !errors.Is(err, ErrClientGone) || !errors.Is(err, tt.wantCause) {
				t.Errorf("Copy error = %v, want ErrClientGone wrapping %v", err, tt.wantCause)
			}
			if res.Events != tt.wantEvents {
				t.Errorf("Events = %d, want %d", res.Events, tt.wantEvents)
			}
		})
	}
}

// TestCopyFlushKinds: every kind of flushable writer is flushed, and
// OnEvent runs before the event is written. The source gives all three
// events in one read: they are written one by one and flushed together,
// before Copy reads the source again (TestCopyFlushesBeforeWaiting).
func TestCopyFlushKinds(t *testing.T) {
	const in = "data: 1\n\n: hb\n\ndata: [DONE]\n\n"
	tests := []struct {
		name    string
		w       func(*logWriter) io.Writer
		wantLog string
	}{
		{
			name:    "plain writer",
			w:       func(l *logWriter) io.Writer { return plainWriter{l} },
			wantLog: "ewewew",
		},
		{
			name:    "FlushError",
			w:       func(l *logWriter) io.Writer { return l },
			wantLog: "ewewewf",
		},
		{
			name:    "Flush error",
			w:       func(l *logWriter) io.Writer { return flushErrWriter{plainWriter{l}} },
			wantLog: "ewewewf",
		},
		{
			name:    "http.Flusher",
			w:       func(l *logWriter) io.Writer { return flusherWriter{plainWriter{l}} },
			wantLog: "ewewewf",
		},
		{
			name:    "ResponseWriter behind Unwrap",
			w:       func(l *logWriter) io.Writer { return wrappedRW{responseWriter{l}} },
			wantLog: "ewewewf",
		},
		{
			name:    "ResponseWriter that cannot flush",
			w:       func(l *logWriter) io.Writer { return noFlushRW{plainWriter{l}} },
			wantLog: "ewewew",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &logWriter{}
			var data []string
			res, err := Copy(t.Context(), tt.w(l), strings.NewReader(in), CopyOptions{OnEvent: func(ev Event) {
				l.log.WriteByte('e')
				data = append(data, string(ev.Data))
			}})
			if err != nil {
				t.Fatal(err)
			}
			if got := l.log.String(); got != tt.wantLog {
				t.Errorf("calls = %q, want %q (e: OnEvent, w: Write, f: flush)", got, tt.wantLog)
			}
			if got := l.out.String(); got != in {
				t.Errorf("relayed %q, want %q", got, in)
			}
			if want := []string{"1", "", "[DONE]"}; strings.Join(data, "|") != strings.Join(want, "|") {
				t.Errorf("OnEvent data = %q, want %q", data, want)
			}
			if res.Events != 3 || !res.Done {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

// TestCopyFlushesBeforeWaiting: Copy flushes what it wrote before every
// read of the source that follows a write, and only then: events that came
// in one read go out in one flush (one system call, one packet to the
// client, instead of one per event), and no event waits on the source
// unflushed. The source records, at each read, what the client had been
// sent by then.
func TestCopyFlushesBeforeWaiting(t *testing.T) {
	tests := []struct {
		name   string
		reads  []string // what each read of the source returns
		sent   []string // what had been flushed when each read began
		events int
	}{
		{name: "two events in one read, then one per read",
			reads:  []string{"data: 1\n\ndata: 2\n\n", "data: 3\n\n", "data: [DONE]\n\n"},
			sent:   []string{"", "data: 1\n\ndata: 2\n\n", "data: 1\n\ndata: 2\n\ndata: 3\n\n", "data: 1\n\ndata: 2\n\ndata: 3\n\ndata: [DONE]\n\n"},
			events: 4},
		{name: "an event split across reads: the whole ones go first",
			reads:  []string{"data: 1\n\ndata: 2", "\n\n"},
			sent:   []string{"", "data: 1\n\n", "data: 1\n\ndata: 2\n\n"},
			events: 2},
		{name: "a comment between reads",
			reads:  []string{": hb\n\n", "data: 1\n\n"},
			sent:   []string{"", ": hb\n\n", ": hb\n\ndata: 1\n\n"},
			events: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &logWriter{}
			var flushed string // l.out as of the last flush
			w := flushFunc{l, func() error { flushed = l.out.String(); return nil }}
			var sent []string
			src := &chunkReader{chunks: tt.reads, onRead: func() { sent = append(sent, flushed) }}
			res, err := Copy(t.Context(), w, src, CopyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(sent, "|") != strings.Join(tt.sent, "|") {
				t.Errorf("flushed at each read of the source:\n got %q\nwant %q", sent, tt.sent)
			}
			if got, want := strings.Count(l.log.String(), "f"), len(tt.reads); got != want {
				t.Errorf("%d flushes (%q), want %d: one per read of the source that followed a write", got, l.log.String(), want)
			}
			if res.Events != tt.events {
				t.Errorf("Events = %d, want %d", res.Events, tt.events)
			}
		})
	}
}

// chunkReader returns its chunks one per Read, calling onRead first.
type chunkReader struct {
	chunks []string
	onRead func()
}

func (r *chunkReader) Read(p []byte) (int, error) {
	r.onRead()
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// flushFunc is a logWriter whose flush also runs fn.
type flushFunc struct {
	*logWriter
	fn func() error
}

func (w flushFunc) FlushError() error { _ = w.logWriter.FlushError(); return w.fn() }

// TestCopyDrop: events Drop returns true for are seen by OnEvent but not
// written nor counted; the rest pass unchanged.
func TestCopyDrop(t *testing.T) {
	const in = "data: 1\n\ndata: {\"usage\":1}\n\ndata: [DONE]\n\n"
	var seen []string
	var out strings.Builder
	res, err := Copy(t.Context(), &out, strings.NewReader(in), CopyOptions{
		OnEvent: func(ev Event) { seen = append(seen, string(ev.Data)) },
		Drop:    func(ev Event) bool { return strings.Contains(string(ev.Data), "usage") },
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "data: 1\n\ndata: [DONE]\n\n"; out.String() != want {
		t.Errorf("relayed %q, want %q", out.String(), want)
	}
	if len(seen) != 3 {
		t.Errorf("OnEvent saw %q, want all 3 events", seen)
	}
	if res.Events != 2 || res.Bytes != int64(out.Len()) || !res.Done {
		t.Errorf("result = %+v", res)
	}
}

// TestCopyLeavesCallersBufioReader: NewReader adopts a large enough
// *bufio.Reader source instead of adding a buffer; Copy must then not reset
// it or recycle it as its own when it is done.
func TestCopyLeavesCallersBufioReader(t *testing.T) {
	src := bufio.NewReader(strings.NewReader("data: x\n\n"))
	rd := NewReader(src, 0)
	if rd.br != src {
		t.Fatal("NewReader did not adopt the *bufio.Reader")
	}
	putReader(rd, src)
	if got, err := io.ReadAll(src); err != nil || string(got) != "data: x\n\n" {
		t.Fatalf("caller's reader after putReader: %q, %v", got, err)
	}
}

// logWriter records calls as letters in log: w for Write, f for a flush.
// Its own flush method is FlushError.
type logWriter struct {
	out      bytes.Buffer
	log      bytes.Buffer
	flushErr error
}

func (l *logWriter) Write(p []byte) (int, error) { l.log.WriteByte('w'); return l.out.Write(p) }
func (l *logWriter) FlushError() error           { l.log.WriteByte('f'); return l.flushErr }

// The wrappers below each expose one way of flushing, or none.
type (
	plainWriter    struct{ l *logWriter }
	flushErrWriter struct{ plainWriter }
	flusherWriter  struct{ plainWriter }
	responseWriter struct{ *logWriter }
	wrappedRW      struct{ http.ResponseWriter } // hides the flush method but Unwraps to it
	noFlushRW      struct{ plainWriter }
)

func (w plainWriter) Write(p []byte) (int, error) { return w.l.Write(p) }
func (w flushErrWriter) Flush() error             { return w.l.FlushError() }
func (w flusherWriter) Flush()                    { _ = w.l.FlushError() }
func (w responseWriter) Header() http.Header      { return http.Header{} }
func (w responseWriter) WriteHeader(int)          {}
func (w wrappedRW) Unwrap() http.ResponseWriter   { return w.ResponseWriter }
func (w noFlushRW) Header() http.Header           { return http.Header{} }
func (w noFlushRW) WriteHeader(int)               {}

// failingWriter accepts okWrites writes, then fails with err.
type failingWriter struct {
	okWrites int
	err      error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.okWrites == 0 {
		return 0, w.err
	}
	w.okWrites--
	return len(p), nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// discardFlusher is the cheapest flushable destination, for benchmarks.
type discardFlusher struct{ flushes int }

func (d *discardFlusher) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardFlusher) Flush()                      { d.flushes++ }

// chunkStream returns n OpenAI-like chat.completion.chunk events and [DONE].
func chunkStream(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_8b9e3b6b38","choices":[{"index":0,"delta":{"content":"tok%d"},"logprobs":null,"finish_reason":null}]}`+"\n\n", i)
	}
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// BenchmarkCopy relays a 200-chunk stream; allocations per op are per
// stream, so they must stay flat as the stream grows.
func BenchmarkCopy(b *testing.B) {
	in := chunkStream(200)
	for _, bm := range []struct {
		name string
		opt  CopyOptions
	}{
		{"plain", CopyOptions{}},
		{"idle timeout and OnEvent", CopyOptions{IdleTimeout: time.Minute, OnEvent: func(Event) {}}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			src := bytes.NewReader(in)
			w := &discardFlusher{}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(in)
				res, err := Copy(b.Context(), w, src, bm.opt)
				if err != nil || res.Events != 201 {
					b.Fatalf("Copy = %+v, %v", res, err)
				}
			}
		})
	}
}

// TestCopyEnd: with CopyOptions.End, a source that ends cleanly before the
// end event is ErrIncomplete, not a clean end; Done says whether the end
// event went out; End may keep state; events after the end are relayed.
func TestCopyEnd(t *testing.T) {
	isDone := Event.IsDone
	completed := func(ev Event) bool { return ev.Name == "response.completed" }
	tests := []struct {
		name     string
		in       string
		end      func() func(Event) bool // a fresh End per run
		wantErr  error
		wantDone bool
	}{
		{"no end set, cut short", "data: 1\n\n", nil, nil, false},
		{"no end set, [DONE]", "data: 1\n\ndata: [DONE]\n\n", nil, nil, true},
		{"[DONE] seen", "data: 1\n\ndata: [DONE]\n\n", func() func(Event) bool { return isDone }, nil, true},
		{"cut before [DONE]", "data: 1\n\ndata: 2\n\n", func() func(Event) bool { return isDone }, ErrIncomplete, false},
		{"empty stream", "", func() func(Event) bool { return isDone }, ErrIncomplete, false},
		{"named end event", "event: response.created\ndata: {}\n\nevent: response.completed\ndata: {}\n\n",
			func() func(Event) bool { return completed }, nil, true},
		{"named end missing", "event: response.created\ndata: {}\n\nevent: response.output_text.delta\ndata: {}\n\n",
			func() func(Event) bool { return completed }, ErrIncomplete, false},
		{"events after the end", "data: [DONE]\n\n: trailing comment\n\n", func() func(Event) bool { return isDone }, nil, true},
		{"stateful end: 2nd [DONE]", "data: [DONE]\n\ndata: x\n\ndata: [DONE]\n\n", func() func(Event) bool {
			n := 0
			return func(ev Event) bool {
				if ev.IsDone() {
					n++
				}
				return n == 2
			}
		}, nil, true},
		{"cut inside an event", "data: 1\n\ndata: 2", func() func(Event) bool { return isDone }, io.ErrUnexpectedEOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opt CopyOptions
			if tt.end != nil {
				opt.End = tt.end()
			}
			var out strings.Builder
			res, err := Copy(t.Context(), &out, strings.NewReader(tt.in), opt)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if res.Done != tt.wantDone {
				t.Errorf("Done = %v, want %v", res.Done, tt.wantDone)
			}
			if tt.wantErr != io.ErrUnexpectedEOF && out.String() != tt.in {
				t.Errorf("relayed %q, want %q unchanged", out.String(), tt.in)
			}
		})
	}
}

// TestCopyEndSeesOnlyWrittenEvents: End judges what the client got, so a
// dropped end event does not make the stream complete.
func TestCopyEndSeesOnlyWrittenEvents(t *testing.T) {
	const in = "data: 1\n\ndata: [DONE]\n\n"
	var out strings.Builder
	res, err := Copy(t.Context(), &out, strings.NewReader(in), CopyOptions{
		Drop: Event.IsDone,
		End:  Event.IsDone,
	})
	if !errors.Is(err, ErrIncomplete) || res.Done {
		t.Errorf("err = %v, Done = %v; want ErrIncomplete, false", err, res.Done)
	}
	if out.String() != "data: 1\n\n" {
		t.Errorf("relayed %q", out.String())
	}
}

// FuzzCopyEnd: with End set, Copy reports the end exactly when the stream
// has it: Done if and only if a [DONE] event went out, ErrIncomplete if and
// only if the source ended cleanly without one, and never more bytes than
// the source sent.
func FuzzCopyEnd(f *testing.F) {
	for _, s := range []string{
		"data: a\n\ndata: [DONE]\n\n", "data: a\n\n", "", "data: [DONE]", "data: [DONE]\n\ndata: x",
		": hb\n\ndata: [DONE]\r\n\r\n", "event: error\ndata: {}\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		res, err := Copy(t.Context(), &out, bytes.NewReader(in), CopyOptions{End: Event.IsDone})
		if errors.Is(err, ErrEventTooLong) {
			return
		}
		want, partial := refParse(in)
		sawDone := false
		for _, ev := range want {
			sawDone = sawDone || ev.Data == "[DONE]"
		}
		if res.Done != sawDone {
			t.Fatalf("Done = %v, want %v (events %q)", res.Done, sawDone, want)
		}
		switch {
		case partial && !errors.Is(err, io.ErrUnexpectedEOF):
			t.Fatalf("input ends inside an event: err = %v, want io.ErrUnexpectedEOF", err)
		case !partial && !sawDone && !errors.Is(err, ErrIncomplete):
			t.Fatalf("clean end without [DONE]: err = %v, want ErrIncomplete", err)
		case !partial && sawDone && err != nil:
			t.Fatalf("clean end after [DONE]: err = %v, want nil", err)
		}
		if out.Len() > len(in) {
			t.Fatalf("relayed %d bytes of %d", out.Len(), len(in))
		}
	})
}
