// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package logbuf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for concurrent use, counting writes.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBatchesEveryInterval: lines wait for the interval, then go out in
// one write; Close writes the rest, and later lines go straight through.
func TestBatchesEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &syncBuffer{}
		w := New(out, 100*time.Millisecond)
		for i := range 50 {
			fmt.Fprintf(w, "line %d\n", i)
		}
		if out.String() != "" {
			t.Fatal("written before the interval")
		}
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		if out.writes != 1 || strings.Count(out.String(), "\n") != 50 {
			t.Fatalf("after the interval: %d writes, %q", out.writes, out.String())
		}
		fmt.Fprintln(w, "last buffered")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(w, "after close")
		if !strings.HasSuffix(out.String(), "last buffered\nafter close\n") {
			t.Fatalf("close: %q", out.String())
		}
		if err := w.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
	})
}

// TestWarningsAtOnce: through Handler, a warning is written at once with
// the info lines before it.
func TestWarningsAtOnce(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, time.Hour)
	defer w.Close()
	log := slog.New(Handler(slog.NewTextHandler(w, nil), w, slog.LevelWarn)).With("svc", "x")
	log.Info("request", "n", 1)
	if out.String() != "" {
		t.Fatal("an info line was written at once")
	}
	log.Warn("upstream down")
	if s := out.String(); !strings.Contains(s, "msg=request") || !strings.Contains(s, "msg=\"upstream down\"") || !strings.Contains(s, "svc=x") {
		t.Fatalf("after a warning: %q", s)
	}
}

// TestFullBufferWritesEarly: a burst larger than the buffer is written
// without waiting, and every line arrives whole and in order.
func TestFullBufferWritesEarly(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, time.Hour)
	line := strings.Repeat("x", 1000) + "\n"
	for range 600 { // 600 KB
		_, _ = io.WriteString(w, line)
	}
	if out.writes == 0 {
		t.Fatal("a full buffer was not written")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != strings.Repeat(line, 600) {
		t.Fatal("lines lost or reordered")
	}
}

// TestConcurrentWritersAndClose: no line is lost or cut, whatever the
// interleaving with flushes and Close (run with -race).
func TestConcurrentWritersAndClose(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				fmt.Fprintf(w, "g%d-%d\n", g, i)
			}
		})
	}
	time.Sleep(2 * time.Millisecond)
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4000 {
		t.Fatalf("%d lines, want 4000", len(lines))
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteErrorSurfaces: a failed write shows at the next Write and at
// Close.
func TestWriteErrorSurfaces(t *testing.T) {
	w := New(failing{}, time.Hour)
	_, _ = io.WriteString(w, "a\n")
	if err := w.Flush(); err == nil {
		t.Fatal("Flush hid the error")
	}
	if _, err := io.WriteString(w, "b\n"); err == nil {
		t.Error("Write after a failure hid it")
	}
	if err := w.Close(); err == nil {
		t.Error("Close hid it")
	}
}

func BenchmarkLogLine(b *testing.B) {
	for _, c := range []struct {
		name string
		w    func(io.Writer) (io.Writer, func())
	}{
		{"direct", func(o io.Writer) (io.Writer, func()) { return o, func() {} }},
		{"buffered", func(o io.Writer) (io.Writer, func()) { w := New(o, 0); return w, func() { _ = w.Close() } }},
	} {
		b.Run(c.name, func(b *testing.B) {
			// A pipe, as stderr is under systemd or a container runtime.
			r, f, err := os.Pipe()
			if err != nil {
				b.Skip(err)
			}
			go func() { _, _ = io.Copy(io.Discard, r) }()
			defer r.Close()
			defer f.Close()
			w, done := c.w(f)
			defer done()
			log := slog.New(slog.NewTextHandler(w, nil))
			b.ReportAllocs()
			for b.Loop() {
				log.Info("request", "request_id", "req_0123456789abcdef", "route", "/v1/chat/completions", "status", 200,
					"duration", 1234*time.Microsecond, "key", "team-a", "model", "gpt-4.1-mini", "upstream", "openai", "conn_reused", true)
			}
		})
	}
}
