// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/warmgate/warmgate/internal/bench"
)

// benchEnvPrefix prefixes the environment twin of every bench flag:
// --key-env is WARMGATE_BENCH_KEY_ENV.
const benchEnvPrefix = "WARMGATE_BENCH_"

func newBenchCmd() *cobra.Command {
	var (
		o        bench.Options
		keyEnv   string
		bodyFile string
		caFile   string
		headers  []string
		jsonOut  bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test an OpenAI-compatible endpoint: latency percentiles, errors, connections",
		Long: `Send chat requests (or any POST body) to an OpenAI-compatible API, such as
a provider, a warmgate gateway or "warmgate mock", and report what a client
sees: throughput; latency p50/p90/p99/p99.9, min, max and mean from an HDR
histogram; time to the first SSE data event for streams; answers by status
code; errors by class (connect refused, timeout, reset, TLS, other) with
an example each; and the new connections, counted by the client's own
dialer and TLS trace and, when the target answers GET /mock/stats, by the
server too.

Load:
  closed loop (default)  --concurrency workers, each sending its next
                         request when its previous one has finished
  open loop (--rate R)   R requests per second on a fixed timetable, whether
                         or not earlier ones have finished; latency runs from
                         each request's scheduled start, so a client that
                         falls behind does not hide it (coordinated
                         omission); at most --max-in-flight requests at once,
                         later arrivals are dropped and counted

Every run is bounded: it stops after --requests (default 1000), after
--duration (then requests in flight finish and are counted; with
--duration alone there is no request limit), or on Ctrl-C, and prints what
it measured.

Each request is POST <target><path> with a small chat body (--model,
--stream) or the file --body verbatim, and a --timeout of its own. The
client is one HTTP transport with a connection pool the size of the
concurrency; it speaks HTTP/2 when an HTTPS target offers it (--http1 not
to), connects directly (no proxy), trusts the system roots plus --ca, and
sends "Authorization: Bearer $VAR" with --key-env VAR (never printed).

A progress bar shows on stderr when it is a terminal. The report goes to
stdout: a table, or JSON with --json. See docs/bench.md for every field.

Every flag can also be set by its environment twin, WARMGATE_BENCH_<FLAG>
(upper case, dashes as underscores); a flag on the command line wins.`,
		Example: `  # against a mock: 1,000 requests from 8 workers
  warmgate mock --listen 127.0.0.1:18080 &
  warmgate bench --target http://127.0.0.1:18080/v1

  # streams through the gateway, 64 at once, for 30 seconds
  warmgate bench --target http://127.0.0.1:8080/v1 --stream --concurrency 64 --duration 30s

  # open loop: 500 requests per second for 20 seconds, as JSON
  warmgate bench --rate 500 --duration 20s --json > run.json

  # a real provider, with a key from the environment (a few requests cost money)
  warmgate bench --target https://api.openai.com/v1 --key-env OPENAI_API_KEY --requests 20 --concurrency 2

  # the TLS mock, with its CA; the first 10 requests get a 503
  warmgate mock --tls --ca-out /tmp/mock-ca.pem &
  warmgate bench --target https://127.0.0.1:18080/v1 --ca /tmp/mock-ca.pem -H 'X-Mock-Fault: status=503,times=10'`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Target, "target", bench.DefaultTarget, "base `URL` of the API")
	fl.StringVar(&o.Path, "path", bench.DefaultPath, "path appended to --target")
	fl.IntVar(&o.Requests, "requests", bench.DefaultRequests, "stop after this many requests (with --duration alone: no limit)")
	fl.DurationVar(&o.Duration, "duration", 0, "stop sending new requests after this long (0: no limit)")
	fl.IntVar(&o.Concurrency, "concurrency", bench.DefaultConcurrency, "closed loop: requests in flight at once")
	fl.Float64Var(&o.Rate, "rate", 0, "open loop: requests per second on a fixed timetable (instead of --concurrency)")
	fl.IntVar(&o.MaxInFlight, "max-in-flight", bench.DefaultMaxInFlight, "open loop: most requests in flight; later arrivals are dropped and counted")
	fl.BoolVar(&o.Stream, "stream", false, `add "stream":true to the default body`)
	fl.StringVar(&o.Model, "model", "", fmt.Sprintf("model in the default body (default %q)", bench.DefaultModel))
	fl.StringVar(&keyEnv, "key-env", "", "send 'Authorization: Bearer $`VAR`' (the key is never printed)")
	fl.StringVar(&bodyFile, "body", "", "send the contents of `FILE` verbatim as every request's body")
	fl.StringArrayVarP(&headers, "header", "H", nil, "add a request header, 'Name: value' (repeatable; never printed)")
	fl.StringVar(&caFile, "ca", "", "also trust the CA certificates (PEM) in `FILE`")
	fl.DurationVar(&o.Timeout, "timeout", bench.DefaultTimeout, "limit for each request, from its (scheduled) start to the end of its body")
	fl.BoolVar(&o.HTTP1, "http1", false, "do not offer HTTP/2 to an HTTPS target")
	fl.BoolVar(&o.DisableKeepAlives, "no-keepalive", false, "open a new connection for every request (a naive client)")
	fl.StringVar(&o.StatsURL, "stats-url", "", "GET this `URL` before and after for server-side connection counts (default <target origin>/mock/stats; 'none' to skip)")
	fl.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	fl.VisitAll(func(f *pflag.Flag) {
		f.Usage += fmt.Sprintf(" [$%s%s]", benchEnvPrefix, strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")))
	})

	cmd.AddCommand(newBenchSuiteCmd())
	cmd.AddCommand(newBenchSoakCmd())

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyEnv(cmd, benchEnvPrefix); err != nil {
			return err
		}
		fl := cmd.Flags()
		if fl.Changed("duration") && !fl.Changed("requests") {
			o.Requests = 0 // --duration alone: no request limit
		}
		if fl.Changed("rate") && !fl.Changed("concurrency") {
			o.Concurrency = 0 // the open loop has no workers
		}
		if o.StatsURL == "none" {
			o.StatsURL, o.NoServerStats = "", true
		}
		if keyEnv != "" {
			o.APIKey = os.Getenv(keyEnv)
			if o.APIKey == "" {
				return fmt.Errorf("bench: --key-env %s: the variable is not set or empty", keyEnv)
			}
		}
		if bodyFile != "" {
			b, err := os.ReadFile(bodyFile)
			if err != nil {
				return fmt.Errorf("bench: --body: %w", err)
			}
			o.Body = b
		}
		if caFile != "" {
			pool, err := bench.LoadRootCAs(caFile)
			if err != nil {
				return err
			}
			o.RootCAs = pool
		}
		for _, h := range headers {
			name, value, ok := strings.Cut(h, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				return fmt.Errorf("bench: --header %q: want 'Name: value'", h)
			}
			if o.Header == nil {
				o.Header = http.Header{}
			}
			o.Header.Add(name, strings.TrimSpace(value))
		}

		ctx, stop := interruptible(cmd)
		defer stop()

		var (
			progress func(int)
			bar      *progressbar.ProgressBar
		)
		if errOut := cmd.ErrOrStderr(); isTerminal(errOut) {
			total := int64(o.Requests)
			if total == 0 {
				total = -1 // a duration: a spinner with a count
			}
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(errOut),
				progressbar.OptionSetDescription("bench"), progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(),
				progressbar.OptionSetElapsedTime(true))
			progress = func(done int) { _ = bar.Set(done) }
		}
		r, err := bench.Run(ctx, o, progress)
		if bar != nil {
			_ = bar.Finish() // and clear it, before the report
		}
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if jsonOut {
			err = writeJSON(out, r)
		} else {
			err = r.WriteTable(out)
		}
		if err != nil {
			return err
		}
		// A run in which nothing succeeded measured nothing: say why, and
		// exit non-zero so that scripts notice.
		if err := r.Failed(); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		return nil
	}
	return cmd
}

// benchSuiteEnvPrefix prefixes the environment twin of every suite flag:
// --out is WARMGATE_BENCH_SUITE_OUT.
const benchSuiteEnvPrefix = "WARMGATE_BENCH_SUITE_"

func newBenchSuiteCmd() *cobra.Command {
	var o bench.SuiteOptions
	cmd := &cobra.Command{
		Use:   "suite",
		Short: "Run the benchmark suite: warmgate against direct calls and nginx, with a Markdown report",
		Long: `Run warmgate's benchmark suite and write report.md and report.json into --out.

The suite starts what it measures as child processes of this executable,
on free loopback ports: "warmgate mock" upstreams, "warmgate serve"
gateways and, when it is installed, nginx as a keep-alive reverse proxy
(and, with --portkey, Portkey's open-source gateway for comparison).
It stops them at the end and on Ctrl-C. CPU time and peak memory are read
per process from /proc, so the suite is meant for Linux.

Scenarios:
  overhead   the same requests directly to a plain-HTTP mock, through
             warmgate and through nginx (and Portkey): closed loop at concurrency 1 and
             64, then an open loop at 70% of what nginx sustains; added
             p50/p99 over direct, throughput, proxy CPU per request
  keepalive  a client with a new TLS connection per request, a warm
             in-process upstream.Pool and warmgate, against the TLS mock
             across an emulated network (--rtt): p50/p99, handshakes per
             1,000 requests, and the seed's claim (150-300 ms saved per
             request, 3-4x throughput) checked
  streaming  first-chunk overhead through warmgate, and --streams slow
             streams held open through it: RSS and goroutines per stream,
             CPU
  observability
             five gateways that differ only in their access log and
             OpenTelemetry tracing (to an OTLP sink in the suite), run in
             turns over rounds: the CPU per request each adds

Every run is bounded. The full suite takes a few minutes; --quick uses
tiny counts (a smoke test: its numbers mean nothing). See docs/bench.md.`,
		Example: `  # the whole suite, into ./bench-out
  warmgate bench suite

  # the CI smoke test
  warmgate bench suite --quick --out /tmp/suite

  # full size: 10,000 held streams
  warmgate bench suite --streams 10000

  # only the keep-alive scenario, at two distances
  warmgate bench suite --scenarios keepalive --rtt 20ms,80ms`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&o.Scenarios, "scenarios", bench.Scenarios, "scenarios to run, comma-separated")
	fl.StringVar(&o.OutDir, "out", bench.DefaultSuiteOut, "write report.md, report.json and the processes' logs into `DIR`")
	fl.BoolVar(&o.Quick, "quick", false, "tiny counts and one RTT: a smoke test")
	fl.DurationSliceVar(&o.RTTs, "rtt", bench.DefaultRTTs, "keepalive: emulated round-trip times, comma-separated (--quick: 50ms)")
	fl.IntVar(&o.Requests, "requests", bench.DefaultSuiteRequests, "overhead and observability: requests per run (--quick: 200)")
	fl.DurationVar(&o.Duration, "duration", 0, "overhead, keepalive and observability: also end each run after this long")
	fl.IntVar(&o.KeepAliveRequests, "keepalive-requests", bench.DefaultKeepAliveRequests, "keepalive: requests per client and RTT (--quick: 48)")
	fl.IntVar(&o.Streams, "streams", bench.DefaultStreams, "streaming: slow streams held open through the gateway (--quick: 50)")
	fl.BoolVar(&o.NoNginx, "no-nginx", false, "leave nginx out even when it is installed")
	fl.StringVar(&o.Portkey, "portkey", "", "overhead: also run Portkey's gateway with node, from its `start-server.js` (after npm install @portkey-ai/gateway: node_modules/@portkey-ai/gateway/build/start-server.js)")
	fl.VisitAll(func(f *pflag.Flag) {
		f.Usage += fmt.Sprintf(" [$%s%s]", benchSuiteEnvPrefix, strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")))
	})

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyEnv(cmd, benchSuiteEnvPrefix); err != nil {
			return err
		}
		fl := cmd.Flags()
		// --quick's counts apply to what the command line leaves unset.
		for name, v := range map[string]*int{"requests": &o.Requests, "keepalive-requests": &o.KeepAliveRequests, "streams": &o.Streams} {
			if !fl.Changed(name) {
				*v = 0
			}
		}
		if !fl.Changed("rtt") {
			o.RTTs = nil
		}
		if fl.Changed("duration") && !fl.Changed("requests") {
			o.Requests = 0 // --duration alone: no request limit
		}
		args := []string{cmd.CommandPath()}
		fl.Visit(func(f *pflag.Flag) {
			args = append(args, fmt.Sprintf("--%s=%s", f.Name, strings.Trim(f.Value.String(), "[]")))
		})
		o.Command = strings.Join(args, " ")
		o.Log = cmd.ErrOrStderr()

		ctx, stop := interruptible(cmd)
		defer stop()

		rep, err := bench.RunSuite(ctx, o)
		if rep != nil {
			if werr := rep.WriteMarkdown(cmd.OutOrStdout()); werr != nil && err == nil {
				err = werr
			}
		}
		switch {
		case err != nil:
			return err
		case len(rep.Failures) > 0:
			return fmt.Errorf("bench suite: %d scenario(s) failed: %s", len(rep.Failures), strings.Join(rep.Failures, "; "))
		case rep.Interrupted:
			return errors.New("bench suite: interrupted; the report holds what was measured")
		}
		return nil
	}
	return cmd
}

func newBenchSoakCmd() *cobra.Command {
	var (
		o       bench.SoakOptions
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Soak the gateway: mixed load for a while, one of two upstreams faulty, check for errors and leaks",
		Long: `Start two mocks and a gateway in front of both (child processes of this
executable), and run a mixed load through the gateway for --duration:
streaming and non-streaming chat requests from two client keys, 16 at once.
One mock stays healthy; the other fails every request with a fault the
gateway can hide by failing over (503, 429 with Retry-After, a first byte
later than the first-byte timeout, 502, dropped requests on idle
connections), the fault changing by phase, with the mock restarted (so
briefly refusing connections) between phases. Beside it run a slow-body
flood (connections that send a chat request's headers, then trickle its
body) and an abort flood (requests canceled a few ms after they are sent).

Then print: requests, client-visible errors (must be 0), the gateway's
retries by reason and upstream connections opened (from /metrics), how the
floods' connections and requests ended, and the gateway process's
goroutines, open file descriptors and RSS after a warm-up, in the middle and
near the end. It exits non-zero on any client-visible error, on a slow-body
connection the gateway did not close, or when goroutines, fds or RSS grew
between the middle and the end.
Linux only (it reads /proc). See docs/reliability.md.`,
		Example: `  # the CI size (about 15 s)
  warmgate bench soak --quick

  # ten minutes, as recorded in docs/reliability.md
  warmgate bench soak --duration 10m`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
	}
	fl := cmd.Flags()
	fl.DurationVar(&o.Duration, "duration", 0, fmt.Sprintf("how long the load runs after a warm-up (default %v; --quick: 12s)", bench.DefaultSoakDuration))
	fl.BoolVar(&o.Quick, "quick", false, "the CI size: about 15 seconds")
	fl.StringVar(&o.OutDir, "out", "", "keep the processes' logs in `DIR` (default: a temporary directory, removed)")
	fl.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		o.Log = cmd.ErrOrStderr()
		ctx, stop := interruptible(cmd)
		defer stop()

		rep, err := bench.RunSoak(ctx, o)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if jsonOut {
			err = writeJSON(out, rep)
		} else {
			err = rep.WriteText(out)
		}
		if err != nil {
			return err
		}
		if why := rep.Failed(); why != "" {
			return fmt.Errorf("bench soak: FAILED: %s", why)
		}
		return nil
	}
	return cmd
}
