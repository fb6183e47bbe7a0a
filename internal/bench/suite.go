// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The suite's scenarios, in the order they run.
const (
	ScenarioOverhead  = "overhead"
	ScenarioKeepAlive = "keepalive"
	ScenarioStreaming = "streaming"
	// ScenarioObservability runs last, so that the scenarios before it
	// keep the order (and the machine state) they had without it.
	ScenarioObservability = "observability"
)

// Scenarios lists every scenario of the suite, in the order they run.
var Scenarios = []string{ScenarioOverhead, ScenarioKeepAlive, ScenarioStreaming, ScenarioObservability}

// Suite defaults for the zero values of SuiteOptions, each with its reason;
// the quick (CI smoke) values only show that every part still works.
const (
	// DefaultSuiteOut is where the report goes: next to the user, not in
	// a temporary directory they would have to find.
	DefaultSuiteOut = "bench-out"
	// DefaultSuiteRequests per overhead run: a few seconds at loopback
	// speed even through a slow proxy at concurrency 1, and enough samples
	// for a stable p99.
	DefaultSuiteRequests = 20000
	quickSuiteRequests   = 200
	// DefaultKeepAliveRequests per client and RTT: a naive client at
	// 200 ms RTT takes 3 RTT per request, so 400 requests from 16 workers
	// take about 15 s; the warm ones a third of that.
	DefaultKeepAliveRequests = 400
	quickKeepAliveRequests   = 48
	// DefaultStreams held open through the gateway: the first
	// size. 10,000 (its second) needs 10,000 sockets in the suite and the
	// gateway each, so it is asked for with --streams.
	DefaultStreams = 1000
	quickStreams   = 50
)

// DefaultRTTs are the emulated network distances of the keep-alive
// scenario: a nearby region, across a continent, across an ocean.
var DefaultRTTs = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}

// SuiteOptions configure RunSuite. The zero value runs every scenario with
// the default counts, the mock and gateway started from this executable.
type SuiteOptions struct {
	// Binary is the warmgate executable whose "mock" and "serve"
	// subcommands the suite starts; "" means this process's executable.
	Binary string
	// Scenarios to run, of Scenarios; nil means all of them.
	Scenarios []string
	// OutDir receives report.md, report.json and the children's logs;
	// "" means DefaultSuiteOut.
	OutDir string
	// Quick uses tiny counts and one RTT: a smoke test, not a benchmark.
	// Counts set explicitly still win.
	Quick bool
	// RTTs are the keep-alive scenario's emulated round-trip times; nil
	// means DefaultRTTs (Quick: 50 ms alone).
	RTTs []time.Duration
	// Requests is the number of requests of each overhead and
	// observability run; 0 means DefaultSuiteRequests (Quick: 200), or no
	// limit when Duration is set.
	Requests int
	// Duration, if set, also ends each overhead, keep-alive and
	// observability run after this long, whichever comes first.
	Duration time.Duration
	// KeepAliveRequests is the number of requests of each keep-alive run
	// (one client at one RTT); 0 means DefaultKeepAliveRequests (Quick: 48).
	KeepAliveRequests int
	// Streams is the number of slow streams held open through the gateway;
	// 0 means DefaultStreams (Quick: 50).
	Streams int
	// NoNginx skips nginx even when it is installed.
	NoNginx bool
	// Portkey, if set, is the start-server.js of Portkey's open-source AI
	// gateway (the npm package @portkey-ai/gateway), run with node as one
	// more proxy of the overhead scenario, for comparison.
	Portkey string
	// Command is the command line, quoted in the report.
	Command string
	// Log receives a line per step and run; nil discards them.
	Log io.Writer
}

// withDefaults validates o and fills in the defaults.
func (o SuiteOptions) withDefaults() (SuiteOptions, error) {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("bench suite: finding the warmgate executable: %w", err)
		}
		o.Binary = exe
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = Scenarios
	}
	for _, s := range o.Scenarios {
		if !slices.Contains(Scenarios, s) {
			return o, fmt.Errorf("bench suite: unknown scenario %q (have %s)", s, strings.Join(Scenarios, ", "))
		}
	}
	if o.OutDir == "" {
		o.OutDir = DefaultSuiteOut
	}
	for _, rtt := range o.RTTs {
		if rtt <= 0 {
			return o, fmt.Errorf("bench suite: an RTT must be positive, got %v", rtt)
		}
	}
	switch {
	case o.Requests < 0, o.KeepAliveRequests < 0, o.Streams < 0:
		return o, errors.New("bench suite: counts must not be negative")
	case o.Duration < 0:
		return o, fmt.Errorf("bench suite: duration must not be negative, got %v", o.Duration)
	}
	pick := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if o.Quick {
				*v = quick
			}
		}
	}
	if o.Duration == 0 {
		pick(&o.Requests, DefaultSuiteRequests, quickSuiteRequests)
	}
	pick(&o.KeepAliveRequests, DefaultKeepAliveRequests, quickKeepAliveRequests)
	pick(&o.Streams, DefaultStreams, quickStreams)
	if o.RTTs == nil {
		o.RTTs = DefaultRTTs
		if o.Quick {
			o.RTTs = DefaultRTTs[:1]
		}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}

// SuiteReport is what one RunSuite measured. Its JSON form (report.json)
// is for scripts; report.md renders it for people.
type SuiteReport struct {
	Machine Machine `json:"machine"`
	// Command is the command line that produced the report.
	Command string `json:"command"`
	// Started is when the suite started; DurationSeconds how long it took.
	Started         time.Time `json:"started"`
	DurationSeconds float64   `json:"duration_seconds"`
	// Quick is true for a smoke run: its numbers mean nothing.
	Quick bool `json:"quick"`
	// Interrupted is true when the suite was stopped (Ctrl-C) before it
	// finished; what it measured until then is in the report.
	Interrupted bool `json:"interrupted"`

	Overhead  *OverheadReport  `json:"overhead,omitempty"`
	KeepAlive *KeepAliveReport `json:"keepalive,omitempty"`
	Streaming *StreamingReport `json:"streaming,omitempty"`
	// Observability is what the access log and tracing add to the
	// gateway's CPU per request.
	Observability *ObservabilityReport `json:"observability,omitempty"`

	// Notes say what was skipped or approximated, and why.
	Notes []string `json:"notes"`
	// Failures list the scenarios that failed, with the error.
	Failures []string `json:"failures"`
}

// Check is one of the targets against what the suite measured.
type Check struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Goal     string `json:"goal"`
	Met      bool   `json:"met"`
}

// ProcUsage is what one process (tree) used during one run, from /proc.
type ProcUsage struct {
	// CPUSeconds is user + system time over the run.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUMicrosPerRequest is CPUSeconds / requests, in µs.
	CPUMicrosPerRequest float64 `json:"cpu_us_per_request"`
	// PeakRSSBytes is the peak resident set during the run (VmHWM reset
	// before it; since the process started if the reset failed), summed
	// over the processes (nginx: master and workers).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// Processes is how many processes were summed.
	Processes int `json:"processes"`
}

// RunSuite runs the scenarios o names, each with its own child processes
// (started from o.Binary and stopped before the next scenario), and
// writes report.md and report.json into o.OutDir. A scenario that fails is
// recorded in the report's Failures and the next one runs; when ctx ends
// (Ctrl-C) the suite stops its children and writes what it measured.
//
// The error is non-nil for invalid options and when the report cannot be
// written; otherwise the report is returned, with its failures.
func RunSuite(ctx context.Context, o SuiteOptions) (*SuiteReport, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	logDir := filepath.Join(o.OutDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("bench suite: %w", err)
	}
	tmp, err := os.MkdirTemp("", "warmgate-suite-")
	if err != nil {
		return nil, fmt.Errorf("bench suite: %w", err)
	}
	defer os.RemoveAll(tmp)

	e := &suiteEnv{o: o, logDir: logDir, tmp: tmp, ctl: newControlClient()}
	defer e.ctl.CloseIdleConnections()
	rep := &SuiteReport{Command: o.Command, Started: time.Now(), Quick: o.Quick, Notes: []string{}, Failures: []string{}}
	e.nginx = e.findNginx(rep)
	e.node = e.findPortkey(rep)
	rep.Machine = machine(ctx, o.Binary, e.nginx)
	if e.node != "" {
		rep.Machine.Portkey = portkeyVersion(o.Portkey)
	}
	e.logf("warmgate bench suite: %s; logs in %s", strings.Join(o.Scenarios, ", "), logDir)

	for _, s := range o.Scenarios {
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		e.logf("== %s", s)
		var err error
		switch s {
		case ScenarioOverhead:
			rep.Overhead, err = e.overhead(ctx, rep)
		case ScenarioKeepAlive:
			rep.KeepAlive, err = e.keepAlive(ctx)
		case ScenarioStreaming:
			rep.Streaming, err = e.streaming(ctx)
		case ScenarioObservability:
			rep.Observability, err = e.observability(ctx)
		}
		switch {
		case ctx.Err() != nil:
			e.logf("== %s: interrupted", s)
		case err != nil:
			e.logf("== %s: FAILED: %v", s, err)
			rep.Failures = append(rep.Failures, s+": "+err.Error())
		default:
			e.logf("== %s: done in %v", s, time.Since(start).Round(time.Second/10))
		}
	}
	rep.Interrupted = ctx.Err() != nil
	rep.Machine.LoadEnd = loadAverage()
	rep.DurationSeconds = time.Since(rep.Started).Seconds()
	if err := rep.writeFiles(o.OutDir); err != nil {
		return rep, err
	}
	e.logf("report: %s, %s", filepath.Join(o.OutDir, "report.md"), filepath.Join(o.OutDir, "report.json"))
	return rep, nil
}

// writeFiles writes report.md and report.json into dir.
func (r *SuiteReport) writeFiles(dir string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench suite: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench suite: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "report.md"))
	if err != nil {
		return fmt.Errorf("bench suite: %w", err)
	}
	if err := r.WriteMarkdown(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("bench suite: %w", err)
	}
	return f.Close()
}
