// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warmgate/warmgate/internal/config"
)

// emfile is the error accept returns out of file descriptors.
var emfile = &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}

// failingListener fails its first fails accepts with emfile, then blocks
// until closed.
type failingListener struct {
	mu     sync.Mutex
	fails  int
	closed chan struct{}
	once   sync.Once
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.fails > 0
	l.fails--
	l.mu.Unlock()
	if fail {
		return nil, emfile
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *failingListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *failingListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

// logLines decodes JSON log lines.
func logLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Bytes(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestAcceptErrorsAreRateLimited: accept failing every 100ms for 10s
// writes one warn line per acceptLogInterval, each counting the errors it
// stands for.
func TestAcceptErrorsAreRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		l := &acceptLog{Listener: &failingListener{fails: 100, closed: make(chan struct{})},
			log: slog.New(slog.NewJSONHandler(&buf, nil))}
		for range 100 {
			if _, err := l.Accept(); err != emfile {
				t.Fatalf("Accept: %v, want the listener's error passed on", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		lines := logLines(t, buf.Bytes())
		if len(lines) != 2 {
			t.Fatalf("%d lines for 100 errors in 10s, want 2 (one per %v):\n%s", len(lines), acceptLogInterval, buf.String())
		}
		for i, want := range []float64{0, 49} {
			if lines[i]["level"] != "WARN" || lines[i]["errors_not_logged"] != want {
				t.Errorf("line %d: %v; want WARN with errors_not_logged %v", i, lines[i], want)
			}
		}
		if msg, _ := lines[0]["msg"].(string); !bytes.Contains([]byte(msg), []byte("ulimit -n")) {
			t.Errorf("message %q does not say what to do", msg)
		}
	})
}

// TestServerLogsAcceptErrors: a Server whose listener fails with EMFILE
// logs it at warn level once (within acceptLogInterval), while net/http's
// own line for each retry stays at debug.
func TestServerLogsAcceptErrors(t *testing.T) {
	cfg, err := config.Parse([]byte("upstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	var buf lockedLog
	s, err := NewServer(cfg, slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	const fails = 6 // net/http waits 5ms, 10ms, ... 160ms between them
	s.ln = &failingListener{fails: fails, closed: make(chan struct{})}
	start := time.Now()
	s.Start()
	var warn, debug int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		warn, debug = 0, 0
		for _, l := range logLines(t, buf.bytes()) {
			switch msg, _ := l["msg"].(string); {
			case l["level"] == "WARN" && bytes.HasPrefix([]byte(msg), []byte("cannot accept")):
				warn++
			case l["level"] == "DEBUG" && bytes.HasPrefix([]byte(msg), []byte("http: Accept error")):
				debug++
			}
		}
		if debug >= fails || time.Now().After(deadline) {
			break
		}
	}
	elapsed := time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if debug != fails {
		t.Fatalf("net/http logged %d accept errors at debug, want %d:\n%s", debug, fails, buf.bytes())
	}
	if max := int(elapsed/acceptLogInterval) + 1; warn < 1 || warn > max {
		t.Errorf("%d warn lines for %d accept errors in %v, want 1 to %d:\n%s", warn, fails, elapsed, max, buf.bytes())
	}
}

// lockedLog is a buffer safe for the logger's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}
