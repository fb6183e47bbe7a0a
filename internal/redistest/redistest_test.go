// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redistest

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestStartStopRestart: the server answers at Addr, URL names it, Stop
// makes it unreachable and Restart brings it back on the same port.
func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil || host != "127.0.0.1" || port == "6379" {
		t.Fatalf("Addr = %q, want 127.0.0.1 and a port other than 6379", s.Addr())
	}
	if want := "redis://127.0.0.1:" + port + "/0"; s.URL() != want {
		t.Errorf("URL = %q, want %q", s.URL(), want)
	}
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("PING after Start: %v\n%s", err, s.Output())
	}
	if !strings.Contains(s.Output(), "Ready to accept connections") {
		t.Errorf("Output does not show the server's log:\n%s", s.Output())
	}

	s.Stop()
	if err := ping(s.Addr()); err == nil {
		t.Fatal("PING after Stop: answered")
	}
	s.Stop() // a second Stop does nothing

	s.Restart(t)
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("PING after Restart: %v\n%s", err, s.Output())
	}
	s.Restart(t) // restarting a running server stops it first
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("PING after a second Restart: %v", err)
	}
}

// TestServersAreSeparate: two servers of one test have their own ports.
func TestServersAreSeparate(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers on %s", a.Addr())
	}
}

// TestCleanupStops: the server of a finished test is stopped.
func TestCleanupStops(t *testing.T) {
	var s *Server
	t.Run("inner", func(t *testing.T) { s = Start(t) })
	if s == nil {
		t.Skip("inner test skipped")
	}
	if err := ping(s.Addr()); err == nil {
		t.Fatal("server still answers after its test ended")
	}
}

// skipTB records a Skip and stops Start there, as testing.T.Skip would.
type skipTB struct {
	testing.TB
	skipped string
}

type skipped struct{}

func (t *skipTB) Helper() {}

func (t *skipTB) Skipf(format string, args ...any) {
	t.skipped = fmt.Sprintf(format, args...)
	panic(skipped{})
}

// TestSkipWithoutBinary: without redis-server on PATH, Start skips and says
// how to install it.
func TestSkipWithoutBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tb := &skipTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != (skipped{}) {
				panic(r)
			}
		}()
		Start(tb)
	}()
	if !strings.Contains(tb.skipped, "apt-get install redis-server") {
		t.Errorf("skip message %q does not say how to install redis-server", tb.skipped)
	}
}
