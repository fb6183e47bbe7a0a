// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// servedGateway is "warmgate serve" running as a child process.
type servedGateway struct {
	cmd    *exec.Cmd
	base   string        // http://host:port
	stderr *lockedBuffer // its log
	exited chan error    // gets cmd.Wait's result
}

// startServe runs "warmgate serve --config FILE" (this test binary as
// TestServeChildProcess) with yaml as the file and waits until it listens.
func startServe(t *testing.T, yaml string) *servedGateway {
	t.Helper()
	file := writeFile(t, "warmgate.yaml", yaml)
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WARMGATE_SERVE_CHILD="+file)
	g := &servedGateway{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = g.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := make(chan string, 1)
	go func() {
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		_, rest, _ := strings.Cut(line, "listening on ")
		addr, _, _ := strings.Cut(rest, " ")
		addrs <- addr
		_, _ = io.Copy(io.Discard, br)
		g.exited <- cmd.Wait() // after the last read of out, as Wait wants
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // if the test failed before it stopped
		<-g.exited
		if t.Failed() {
			t.Logf("serve's log:\n%s", g.stderr.String())
		}
	})
	select {
	case addr := <-addrs:
		if addr == "" {
			t.Fatalf("serve did not start:\n%s", g.stderr.String())
		}
		g.base = "http://" + addr
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start within 20s:\n%s", g.stderr.String())
	}
	return g
}

// get returns the status of GET path, or 0 when the request failed.
func (g *servedGateway) get(path string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(g.base + path)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// waitFor polls cond every 10ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

// lastLine is the last line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// openStream starts a streamed chat request through g and returns its body
// once the first event arrived.
func openStream(t *testing.T, g *servedGateway) *bufio.Reader {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4.1-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultTransport.(*http.Transport).Clone().RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data:") {
		t.Fatalf("first stream line %q, %v", line, err)
	}
	return br
}

// TestServeSIGTERM: on SIGTERM, serve answers /readyz 503 at once while it
// still serves new requests for server.shutdown_delay, then stops
// accepting; a stream still running at the drain timeout ends with an
// error event before it is cut, and the last log line says one request
// was cut. A second SIGTERM exits at once, whatever the delay and the
// drain timeout left.
func TestServeSIGTERM(t *testing.T) {
	m, err := mock.Start(mock.Options{TokenInterval: 50 * time.Millisecond, Tokens: 2000}, "127.0.0.1:0") // a stream of ~100s
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	config := func(delay, drain string) string {
		return fmt.Sprintf("listen: 127.0.0.1:0\ndata_dir: %q\nupstreams:\n  - {name: mock, base_url: %q}\nserver: {shutdown_delay: %s, drain_timeout: %s}\n",
			t.TempDir(), m.URL()+"/v1", delay, drain)
	}

	t.Run("delay, drain, cut", func(t *testing.T) {
		g := startServe(t, config("2s", "500ms"))
		waitFor(t, 20*time.Second, "/readyz 200 after the warm-up", func() bool { return g.get("/readyz") == http.StatusOK })
		stream := openStream(t, g)
		if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "/readyz 503 after SIGTERM", func() bool { return g.get("/readyz") == http.StatusServiceUnavailable })
		if st := g.get("/v1/models"); st != http.StatusOK {
			t.Errorf("a new request during the shutdown delay: status %d, want it served", st)
		}
		var events []string
		var readErr error
		for len(events) < 100_000 {
			line, err := stream.ReadString('\n')
			if err != nil {
				readErr = err
				break
			}
			if strings.HasPrefix(line, "event:") || strings.HasPrefix(line, "data:") {
				events = append(events, strings.TrimSpace(line))
			}
		}
		if readErr == nil || len(events) < 2 || events[len(events)-2] != "event: error" || !strings.Contains(events[len(events)-1], "shutting_down") {
			t.Errorf("the stream ended with %v after %d lines, the last %q; want an error event (shutting_down) then a cut",
				readErr, len(events), events[max(len(events)-2, 0):])
		}
		select {
		case err := <-g.exited:
			g.exited <- err // for the cleanup
			if err != nil {
				t.Errorf("serve exited with %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not exit after its drain timeout")
		}
		if last := lastLine(g.stderr.String()); !strings.Contains(last, "requests_cut=1") || !strings.Contains(last, "drain timeout") {
			t.Errorf("last log line %q, want one saying 1 request was cut at the drain timeout", last)
		}
	})

	t.Run("second SIGTERM exits at once", func(t *testing.T) {
		g := startServe(t, config("10m", "10m"))
		waitFor(t, 20*time.Second, "/readyz 200 after the warm-up", func() bool { return g.get("/readyz") == http.StatusOK })
		stream := openStream(t, g)
		if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "/readyz 503 after SIGTERM", func() bool { return g.get("/readyz") == http.StatusServiceUnavailable })
		if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-g.exited:
			g.exited <- err
			if err != nil {
				t.Errorf("serve exited with %v", err)
			}
		case <-time.After(20 * time.Second): // far below the 10m delay and drain left
			t.Fatal("serve did not exit after a second SIGTERM")
		}
		if _, err := io.Copy(io.Discard, stream); err == nil {
			t.Error("the stream ended cleanly, want it cut")
		}
		if last := lastLine(g.stderr.String()); !strings.Contains(last, "requests_cut=1") || !strings.Contains(last, "second SIGINT or SIGTERM") {
			t.Errorf("last log line %q, want one saying 1 request was cut because of the second signal", last)
		}
	})
}

// TestServeChildProcess is the "warmgate serve" process of TestServeSIGTERM;
// it runs only as that test's child.
func TestServeChildProcess(t *testing.T) {
	file := os.Getenv("WARMGATE_SERVE_CHILD")
	if file == "" {
		t.Skip("runs as the child process of TestServeSIGTERM")
	}
	root := newRootCmd()
	root.SetArgs([]string{"serve", "--config", file})
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "warmgate:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
