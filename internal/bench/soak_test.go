// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSoakQuick runs the soak at its CI size against a fresh build and
// checks that clients saw no error while one upstream stayed healthy,
// that the faulty one was retried around, that the slow-body and abort
// floods ran beside the load and the gateway ended every slow-body
// connection itself, and that the report has the gateway's start, middle
// and end.
func TestSoakQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	bin := buildWarmgate(t)
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	outDir := t.TempDir()
	rep, err := RunSoak(ctx, SoakOptions{Binary: bin, Quick: true, Duration: 8 * time.Second, OutDir: outDir, Log: &log})
	defer func() {
		if t.Failed() { // the gateway's warnings say what the client saw
			logs, _ := filepath.Glob(filepath.Join(outDir, "gateway*"))
			for _, f := range logs {
				b, _ := os.ReadFile(f)
				for _, line := range strings.Split(string(b), "\n") {
					// The abort flood's requests end in "write to client
					// failed": expected, and many.
					if (strings.Contains(line, "WARN") || strings.Contains(line, "ERROR")) && !strings.Contains(line, "to client failed") {
						t.Log(line)
					}
				}
			}
		}
	}()
	t.Logf("soak log:\n%s", log.String())
	if err != nil {
		t.Fatalf("RunSoak: %v", err)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", out.String())
	if rep.Requests == 0 {
		t.Fatal("no requests finished")
	}
	if rep.ClientErrors != 0 {
		t.Errorf("%d client-visible errors, e.g. %v", rep.ClientErrors, rep.ErrorExamples)
	}
	var retries float64
	for _, n := range rep.Retries {
		retries += n
	}
	if retries == 0 {
		t.Error("no retries: the faulty upstream got no traffic")
	}
	for _, want := range []string{"| start |", "| middle |", "| end |", "client-visible errors  0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The floods ran beside the load, and the gateway, not the client,
	// ended every slow-body connection.
	if sb := rep.SlowBody; sb == nil || sb.Connections == 0 {
		t.Errorf("slow-body flood did not run: %+v", sb)
	} else if sb.StillOpen != 0 || sb.ClosedByGateway == 0 {
		t.Errorf("%d of %d slow-body connections were still open when the client gave up: the gateway must end them (server.body_timeout)", sb.StillOpen, sb.Connections)
	} else if sb.DialErrors != 0 {
		t.Errorf("%d slow-body connections could not be made", sb.DialErrors)
	}
	if ab := rep.Aborts; ab == nil || ab.Requests == 0 || ab.Aborted == 0 {
		t.Errorf("abort flood did not run: %+v", ab)
	} else if ab.Errors != 0 {
		t.Errorf("%d aborted requests failed otherwise, e.g. %v", ab.Errors, ab.ErrorExamples)
	}
	for _, want := range []string{"slow-body flood", "abort flood"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if len(rep.Growth) > 0 {
		// Growth over seconds on a loaded CI machine is noise more often
		// than a leak; the CLI fails on it, the test only reports it.
		t.Logf("growth: %v", rep.Growth)
	}
}

func TestSumByLabel(t *testing.T) {
	text := []byte(`# HELP x
warmgate_upstream_retries_total{reason="status_5xx",upstream="a"} 3
warmgate_upstream_retries_total{reason="status_5xx",upstream="b"} 2
warmgate_upstream_retries_total{reason="timeout",upstream="a"} 1
warmgate_upstream_retries_totalx{reason="timeout"} 9
`)
	got := sumByLabel(text, "warmgate_upstream_retries_total", "reason")
	if got["status_5xx"] != 5 || got["timeout"] != 1 || len(got) != 2 {
		t.Errorf("got %v", got)
	}
}

func TestGrowth(t *testing.T) {
	s := []SoakSample{{Label: "start"}, {Label: "middle", Goroutines: 100, FDs: 40, RSSBytes: 20 << 20}, {Label: "end", Goroutines: 171, FDs: 60, RSSBytes: 30 << 20}}
	g := growth(s)
	if len(g) != 1 || !strings.Contains(g[0], "goroutines") {
		t.Errorf("growth = %v", g)
	}
	if g := growth(s[:2]); len(g) != 1 {
		t.Errorf("missing end: %v", g)
	}
}

// TestSlowBodyFloodTellsWhoClosed runs the slow-body flood against two
// loopback servers: one that answers 408 and closes once the headers have
// come, one that reads and never answers. The first one's connections
// must count as closed by the gateway, the second one's as still open.
func TestSlowBodyFloodTellsWhoClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		closes bool
	}{{"server closes", true}, {"server holds", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			defer wg.Wait()
			defer ln.Close()
			wg.Go(func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					wg.Go(func() {
						defer c.Close()
						br := bufio.NewReader(c)
						for { // the headers
							line, err := br.ReadString('\n')
							if err != nil {
								return
							}
							if line == "\r\n" {
								break
							}
						}
						if tc.closes {
							_, _ = io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
							return
						}
						_, _ = io.Copy(io.Discard, br) // until the client closes
					})
				}
			})
			stop, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			f := runSlowBodyFlood(t.Context(), stop, ln.Addr().String(), 2, "sk-test", 300*time.Millisecond)
			if f.Connections == 0 || f.DialErrors != 0 {
				t.Fatalf("flood = %+v", f)
			}
			if tc.closes && (f.ClosedByGateway != f.Connections || f.Status[408] != f.Connections) {
				t.Errorf("server closes: %+v, want every connection closed by it with 408", f)
			}
			if !tc.closes && (f.StillOpen != f.Connections || f.ClosedByGateway != 0) {
				t.Errorf("server holds: %+v, want every connection still open", f)
			}
		})
	}
}
