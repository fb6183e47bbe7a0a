// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package redistest starts a throwaway redis-server for tests: one process
// per test, on a free loopback port, with no persistence, stopped by
// t.Cleanup. It speaks to the server only through the RESP protocol on a
// plain TCP connection, so it imports no Redis client.
//
// The tests that use it skip, with an explanation, when no redis-server is
// on PATH; CI installs one, so they run there.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the program Start runs, looked up on PATH.
const binary = "redis-server"

// Bounds on how long the server has to start and stop. A local
// redis-server answers within milliseconds; these leave room for a loaded
// CI machine running tests in parallel under -race.
const (
	readyTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
)

// startAttempts is how many free ports Start tries: a port found free can
// be taken by another process before redis-server binds it.
const startAttempts = 3

// Server is a redis-server process started by Start. Its methods are safe
// for concurrent use.
type Server struct {
	port int
	dir  string // the server's working directory, a t.TempDir

	mu   sync.Mutex
	cmd  *exec.Cmd     // nil when stopped
	done chan struct{} // closed when cmd has exited
	out  *syncBuffer   // stdout and stderr of the current process
}

// Start starts a redis-server on a free port of 127.0.0.1 (never 6379, so
// it cannot touch a developer's Redis), waits until it answers PING, and
// registers t.Cleanup to stop it. It skips t when redis-server is not
// installed and fails t when the server does not start, with its output.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath(binary); err != nil {
		t.Skipf("redistest: %s not found on PATH: install redis-server (apt-get install redis-server); CI installs it", binary)
	}
	s := &Server{dir: t.TempDir()}
	t.Cleanup(s.Stop)
	var errs []error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: no free port on 127.0.0.1: %v", err)
		}
		s.port = port
		if err := s.start(); err != nil {
			errs = append(errs, err)
			continue
		}
		return s
	}
	t.Fatalf("redistest: redis-server did not start:\n%v", errors.Join(errs...))
	return nil
}

// Addr returns the server's address, "127.0.0.1:PORT".
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns the server's address as a Redis URL for database 0,
// "redis://127.0.0.1:PORT/0".
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Stop stops the server: SIGTERM, then SIGKILL if it has not exited within
// a few seconds. It waits for the process to exit, so nothing is left
// running. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart starts the server again on the same port after Stop (or stops it
// first if it is running), with an empty data set, and waits until it
// answers PING: clients see a Redis that went away and came back. It fails
// t if the server does not start, for instance because another process
// took the port meanwhile.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatalf("redistest: restart on %s: %v", s.Addr(), err)
	}
}

// start runs redis-server on s.port and waits until it answers PING.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	cmd := exec.Command(binary,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--dir", s.dir,
	)
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", binary, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a stopped server is of no interest
		close(done)
	}()
	s.cmd, s.done, s.out = cmd, done, out
	if err := waitReady(s.Addr(), done); err != nil {
		s.stopLocked()
		return fmt.Errorf("port %d: %w; server output:\n%s", s.port, err, out.String())
	}
	return nil
}

// stopLocked stops the running process, if any. s.mu is held.
func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

// Output returns what the current (or last) server process wrote to
// stdout and stderr: useful in a failure message.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// waitReady polls addr with PING until it answers PONG, the process exits
// (done is closed), or readyTimeout passes.
func waitReady(addr string, done <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	var err error
	for time.Now().Before(deadline) {
		if err = ping(addr); err == nil {
			return nil
		}
		select {
		case <-done:
			return errors.New("redis-server exited before answering PING")
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("no answer to PING within %v: %w", readyTimeout, err)
}

// ping sends one PING to addr over RESP and checks the answer.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// freePort returns a port of 127.0.0.1 that was free a moment ago: the
// kernel's pick for a listener on port 0, which is never 6379 in practice
// (ephemeral ports start far above it; checked anyway).
func freePort() (int, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if port != 6379 {
			return port, nil
		}
	}
}

// syncBuffer is a bytes.Buffer that the process's output copier writes
// while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
