// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// buildWarmgate builds cmd/warmgate into a temporary directory: the suite
// starts its mock and gateway from that executable. It skips the test when
// there is no go command (the suite is then untestable, not broken).
func buildWarmgate(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build cmd/warmgate with")
	}
	bin := filepath.Join(t.TempDir(), "warmgate")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", bin, "../../cmd/warmgate")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/warmgate: %v\n%s", err, out)
	}
	return bin
}

// TestSuiteQuick runs the whole suite at its smoke-test size, in process
// (so the race detector and the leak check cover it) with the children
// started from a fresh build, and checks the report's files and tables.
func TestSuiteQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	bin := buildWarmgate(t)
	out := t.TempDir()
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := RunSuite(ctx, SuiteOptions{Binary: bin, OutDir: out, Quick: true, Log: &log, Command: "test"})
	t.Logf("suite log:\n%s", log.String())
	if err != nil {
		t.Fatalf("RunSuite: %v", err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %v", rep.Failures)
	}
	if rep.Machine.Nginx == "" {
		t.Log("nginx is not installed: the overhead scenario ran without it")
	}

	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# warmgate bench suite", "**Quick run**",
		"## Overhead", "| direct | c=1 |", "| warmgate | c=64 |", "| warmgate | open ",
		"## Keep-alive", "| 50ms | " + clientNaive + " |", "| 50ms | " + clientGateway + " |",
		"| mock CPU / req |", "upstream CPU on connection setup",
		"## Streaming", "| warmgate | 40 |", "| goroutines |",
		"## Observability", "| off | off | off |", "| log+trace | on | default sampling", "| trace-all | off | sample_ratio 1 |",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if rep.Machine.Nginx != "" && !strings.Contains(string(md), "| nginx | c=64 |") {
		t.Error("nginx is installed, yet report.md has no nginx row")
	}

	js, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got SuiteReport
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	switch {
	case got.Overhead == nil || len(got.Overhead.Runs) < 8:
		t.Errorf("report.json overhead: want at least 8 runs (2 paths × 4 loads), got %+v", got.Overhead)
	case got.KeepAlive == nil || len(got.KeepAlive.RTTs) != 1 || len(got.KeepAlive.RTTs[0].Runs) != 3:
		t.Errorf("report.json keepalive: want 3 clients at 1 RTT, got %+v", got.KeepAlive)
	case got.Streaming == nil || got.Streaming.Held == nil:
		t.Errorf("report.json streaming: want first-chunk runs and held streams, got %+v", got.Streaming)
	}
	if got.Observability == nil || len(got.Observability.Variants) != len(observeVariants) {
		t.Errorf("report.json observability: want %d variants, got %+v", len(observeVariants), got.Observability)
	} else {
		checkObservability(t, got.Observability, filepath.Join(out, "logs"))
	}
	for _, run := range got.Overhead.Runs {
		if r := run.Result; r.OK != r.Requests || r.Requests == 0 {
			t.Errorf("overhead %s %s: %d of %d requests ok", run.Target, run.Load, r.OK, r.Requests)
		}
	}
	for _, run := range got.KeepAlive.RTTs[0].Runs {
		if r := run.Result; r.OK != quickKeepAliveRequests {
			t.Errorf("keepalive %s: %d ok, want %d", run.Client, r.OK, quickKeepAliveRequests)
		}
		if run.MockCPUMicrosPerRequest <= 0 {
			t.Errorf("keepalive %s: the mock's CPU per request is not reported", run.Client)
		}
		// At 50 ms RTT, even a warm request takes a round trip.
		if p50 := run.Result.Latency.P50; p50 < 50 {
			t.Errorf("keepalive %s: p50 %v ms, below the emulated RTT", run.Client, p50)
		}
	}
	if rr := got.KeepAlive.RTTs[0]; rr.SetupCPUPercent == 0 {
		t.Errorf("keepalive: the share of the mock's CPU spent on connection setup is not reported: %+v", rr)
	}
	if h := got.Streaming.Held; h.Opened != quickStreams || h.Errors != 0 {
		t.Errorf("held streams: %d opened, %d errors; want %d and 0", h.Opened, h.Errors, quickStreams)
	}
	if _, err := os.Stat(filepath.Join(out, "logs", "overhead-gateway.log")); err != nil {
		t.Errorf("the gateway's log: %v", err)
	}
}

// checkObservability checks the quick suite's observability scenario: every
// variant ran its round with every request answered and its CPU metered;
// only the traced gateways sent spans, and only the info ones access lines.
func checkObservability(t *testing.T, o *ObservabilityReport, logDir string) {
	t.Helper()
	if o.Rounds != quickObserveRounds || o.SinkRejected != 0 {
		t.Errorf("observability: %d rounds, %d OTLP requests rejected; want %d and 0", o.Rounds, o.SinkRejected, quickObserveRounds)
	}
	for i, v := range o.Variants {
		if len(v.Runs) != quickObserveRounds {
			t.Errorf("observability %s: %d runs, want %d", v.Name, len(v.Runs), quickObserveRounds)
			continue
		}
		for _, run := range v.Runs {
			if r := run.Result; r.Requests != quickSuiteRequests || r.OK != r.Requests {
				t.Errorf("observability %s: %d of %d requests ok, want %d", v.Name, r.OK, r.Requests, quickSuiteRequests)
			}
			if run.Gateway == nil || run.Gateway.Processes != 1 {
				t.Errorf("observability %s: gateway not metered: %+v", v.Name, run.Gateway)
			}
		}
		if want := quickSuiteRequests * (1 + quickObserveRounds); v.Requests != want {
			t.Errorf("observability %s: served %d requests, want %d", v.Name, v.Requests, want)
		}
		traced := v.Name == "trace" || v.Name == "log+trace" || v.Name == "trace-all"
		if traced != (v.Spans > 0) || traced != (v.Tracing != "") {
			t.Errorf("observability %s: %d spans, tracing %q; want spans and tracing exactly when traced", v.Name, v.Spans, v.Tracing)
		}
		if (v.Name == "off") != (v.AddedCPUPercent == nil) {
			t.Errorf("observability %s: added CPU %+v", v.Name, v.AddedCPUPercent)
		}
		log, err := os.ReadFile(filepath.Join(logDir, observeVariants[i].file+".log"))
		if err != nil {
			t.Error(err)
			continue
		}
		lines := 0 // access lines of chat requests (readiness probes have theirs)
		for line := range strings.Lines(string(log)) {
			if strings.Contains(line, " msg=request ") && strings.Contains(line, " route=/v1/chat/completions ") {
				lines++
			}
		}
		if logged := v.LogLevel == "info"; logged && lines != v.Requests || !logged && lines != 0 {
			t.Errorf("observability %s (--log-level %s): %d access lines for %d requests", v.Name, v.LogLevel, lines, v.Requests)
		}
	}
	if len(o.Checks) != 3 {
		t.Errorf("observability checks: %+v, want 3", o.Checks)
	}
}

// TestSuiteCommand runs "warmgate bench suite" as a user would, for one
// quick scenario, and checks that it writes its report.
func TestSuiteCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	bin := buildWarmgate(t)
	out := filepath.Join(t.TempDir(), "report")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "suite", "--quick", "--scenarios", "overhead", "--no-nginx", "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("warmgate bench suite: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| warmgate | c=1 |") {
		t.Errorf("stdout lacks the overhead table:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "== overhead: done") {
		t.Errorf("stderr lacks the progress lines:\n%s", stderr.String())
	}
	for _, f := range []string{"report.md", "report.json"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("--no-nginx=true")) {
			t.Errorf("%s does not quote the command line", f)
		}
	}
}

func TestSuiteOptionsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   SuiteOptions
		want SuiteOptions // the fields compared
	}{
		{"full", SuiteOptions{}, SuiteOptions{
			Requests: DefaultSuiteRequests, KeepAliveRequests: DefaultKeepAliveRequests, Streams: DefaultStreams, RTTs: DefaultRTTs}},
		{"quick", SuiteOptions{Quick: true}, SuiteOptions{
			Requests: quickSuiteRequests, KeepAliveRequests: quickKeepAliveRequests, Streams: quickStreams, RTTs: DefaultRTTs[:1]}},
		{"quick, counts given", SuiteOptions{Quick: true, Streams: 7, RTTs: []time.Duration{time.Millisecond}}, SuiteOptions{
			Requests: quickSuiteRequests, KeepAliveRequests: quickKeepAliveRequests, Streams: 7, RTTs: []time.Duration{time.Millisecond}}},
		{"duration alone", SuiteOptions{Duration: time.Second}, SuiteOptions{
			Requests: 0, KeepAliveRequests: DefaultKeepAliveRequests, Streams: DefaultStreams, RTTs: DefaultRTTs}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Binary = "warmgate"
			got, err := tc.in.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			if got.Requests != tc.want.Requests || got.KeepAliveRequests != tc.want.KeepAliveRequests ||
				got.Streams != tc.want.Streams || !equalDurations(got.RTTs, tc.want.RTTs) {
				t.Errorf("got requests %d, keepalive %d, streams %d, RTTs %v; want %d, %d, %d, %v",
					got.Requests, got.KeepAliveRequests, got.Streams, got.RTTs,
					tc.want.Requests, tc.want.KeepAliveRequests, tc.want.Streams, tc.want.RTTs)
			}
			if got.OutDir != DefaultSuiteOut || len(got.Scenarios) != len(Scenarios) || got.Log == nil {
				t.Errorf("got out %q, scenarios %v, log %v", got.OutDir, got.Scenarios, got.Log)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSuiteOptionsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   SuiteOptions
	}{
		{"unknown scenario", SuiteOptions{Scenarios: []string{"overhead", "latency"}}},
		{"zero rtt", SuiteOptions{RTTs: []time.Duration{0}}},
		{"negative streams", SuiteOptions{Streams: -1}},
		{"negative duration", SuiteOptions{Duration: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Binary = "warmgate"
			if _, err := tc.in.withDefaults(); err == nil {
				t.Fatal("withDefaults accepted it")
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantPPID  int
		wantTicks int64
		wantErr   bool
	}{
		{"plain", "1234 (warmgate) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0",
			1, 325, false},
		{"name with spaces and parens", "99 (nginx: worker (x)) S 42 99 99 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 0 0",
			42, 7, false},
		{"truncated", "99 (a) S 1 2 3", 0, 0, true},
		{"no name", "garbage", 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ppid, ticks, err := parseProcStat([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if ppid != tc.wantPPID || ticks != tc.wantTicks {
				t.Errorf("got ppid %d, ticks %d; want %d, %d", ppid, ticks, tc.wantPPID, tc.wantTicks)
			}
		})
	}
}

func TestThreadsCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc: the suite measures on Linux")
	}
	got, err := parseSchedstat([]byte("3737105 2938957 9\n"))
	if err != nil || got != 3737105*time.Nanosecond {
		t.Fatalf("parseSchedstat = %v, %v; want 3.737105ms", got, err)
	}
	if _, err := parseSchedstat([]byte("x 1 2\n")); err == nil {
		t.Error("parseSchedstat accepted a bad first field")
	}
	before, ok := threadsCPU(os.Getpid())
	if !ok {
		t.Fatal("threadsCPU(self): not ok")
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if now, _ := threadsCPU(os.Getpid()); now > before {
			return // it counts time spent on the CPU, below a clock tick
		}
	}
	t.Error("threadsCPU(self) did not grow in 5 s of spinning")
}

func TestParseProcStatus(t *testing.T) {
	in := "Name:\twarmgate\nVmPeak:\t 999 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t7\n"
	rss, hwm := parseProcStatus([]byte(in))
	if rss != 10<<20 || hwm != 20<<20 {
		t.Errorf("rss %d, hwm %d; want %d, %d", rss, hwm, 10<<20, 20<<20)
	}
}

func TestSampleSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	s, ok := selfSample()
	if !ok || s.rss <= 0 || s.procs != 1 {
		t.Errorf("selfSample = %+v, %v; want this one process with its memory", s, ok)
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 163
go_memstats_heap_inuse_bytes 5.9768832e+06
warmgate_requests_total{route="/v1/chat/completions",code="200"} 40
go_goroutines_other 1
`
	got := parseMetrics([]byte(in), "go_goroutines", "go_memstats_heap_inuse_bytes", "missing")
	if got["go_goroutines"] != 163 || got["go_memstats_heap_inuse_bytes"] != 5976883.2 || len(got) != 2 {
		t.Errorf("parseMetrics = %v", got)
	}
}

func TestLineWatcherFindsTheAddressAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	lw := newLineWatcher(&out, regexp.MustCompile(`listening on (\S+) `))
	for _, part := range []string{"starting\nwarmgate listen", "ing on http://127.0.0.1:1234 (", "h1)\nmore\n"} {
		if _, err := lw.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case got := <-lw.found:
		if got != "http://127.0.0.1:1234" {
			t.Errorf("found %q", got)
		}
	default:
		t.Fatal("the address line was not found")
	}
	if out.String() != "starting\nwarmgate listening on http://127.0.0.1:1234 (h1)\nmore\n" {
		t.Errorf("the output was not copied whole: %q", out.String())
	}
}

func TestChildEnvDropsWarmgateVariables(t *testing.T) {
	got := childEnv([]string{"PATH=/bin", "WARMGATE_MOCK_FAULT=status=500", "HOME=/root", "WARMGATE_LISTEN=x"})
	if strings.Join(got, " ") != "PATH=/bin HOME=/root" {
		t.Errorf("childEnv = %v", got)
	}
}

func TestNginxConfig(t *testing.T) {
	c := nginxConfig("/tmp/x", "/logs/nginx-error.log", "127.0.0.1:9000", "127.0.0.1:8000")
	for _, want := range []string{
		"pid /tmp/x/nginx.pid;", "error_log /logs/nginx-error.log warn;", "server 127.0.0.1:8000;", "keepalive 64;", "listen 127.0.0.1:9000 backlog=4096;",
		"proxy_http_version 1.1;", `proxy_set_header Connection "";`, "proxy_buffering off;", "access_log off;",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
	if strings.Contains(c, "daemon") {
		t.Error("the config sets daemon, which the command line's -g also sets: nginx refuses a duplicate")
	}
}

func TestRTTResultCompare(t *testing.T) {
	res := func(p50, rps float64) *Result { return &Result{Latency: Summary{P50: p50}, ThroughputRPS: rps} }
	tests := []struct {
		name                 string
		naive, pool, gw      *Result
		wantSaved, wantRatio float64
		wantInSaved, wantInX bool
		// The mock's CPU per request, naive and through the gateway, and
		// the share of the naive one that connection setup took.
		naiveCPU, gwCPU, wantSetup float64
	}{
		{"50ms: too little saved, 3x", res(157, 100), res(53, 300), res(53.5, 300), 103.5, 3, false, true, 1000, 400, 60},
		{"100ms: in both ranges", res(310, 50), res(103, 160), res(104, 160), 206, 3.2, true, true, 800, 600, 25},
		{"200ms: saves more than claimed, CPU not measured", res(620, 25), res(203, 78), res(204, 78), 416, 3.12, false, true, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr := RTTResult{Runs: []KeepAliveRun{{Client: clientNaive, Result: tc.naive, MockCPUMicrosPerRequest: tc.naiveCPU},
				{Client: clientPool, Result: tc.pool}, {Client: clientGateway, Result: tc.gw, MockCPUMicrosPerRequest: tc.gwCPU}}}
			rr.compare()
			if rr.SetupCPUPercent != tc.wantSetup {
				t.Errorf("setup CPU share = %v%%, want %v%%", rr.SetupCPUPercent, tc.wantSetup)
			}
			if rr.SavedP50Ms != tc.wantSaved || rr.ThroughputRatio != tc.wantRatio ||
				rr.SavedInClaim != tc.wantInSaved || rr.SpeedupInClaim != tc.wantInX {
				t.Errorf("got saved %v (in claim %v), ratio %v (in claim %v); want %v (%v), %v (%v)",
					rr.SavedP50Ms, rr.SavedInClaim, rr.ThroughputRatio, rr.SpeedupInClaim,
					tc.wantSaved, tc.wantInSaved, tc.wantRatio, tc.wantInX)
			}
			if rr.HopPercent <= 0 {
				t.Errorf("hop = %v%%, want the gateway's small positive share", rr.HopPercent)
			}
		})
	}
}
