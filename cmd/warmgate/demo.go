// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// demoOptions are the demo's knobs; the defaults make a new connection cost
// what it costs on a real network.
type demoOptions struct {
	listen         string
	requests       int
	concurrency    int
	streamEvery    int
	handshakeDelay time.Duration
	latency        time.Duration
	ttft           time.Duration
	tokens         int
	tokenInterval  time.Duration
	duration       time.Duration
	// noServe returns after the table instead of serving on (tests).
	noServe bool
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See keep-alive at work: a naive client vs the gateway, against a local mock",
		Long: `Run the whole thing on this machine, with no key and no network:

  1. a mock upstream on loopback, over TLS with HTTP/2, where every new
     connection costs --handshake-delay (a real TCP+TLS handshake costs
     100-300 ms) and every answer --latency (streams: --ttft, then tokens);
  2. a warmgate gateway in front of it, with a warm connection pool;
  3. the same batch of chat requests (every --stream-every-th one streamed)
     sent by a naive client that opens a new connection per request, then
     through the gateway;
  4. a side-by-side table: latency percentiles, errors, and the new
     connections the mock itself counted.

Then the gateway keeps serving so you can try it (curl, an SDK) until
Ctrl-C, or until --duration has passed since start.`,
		Example: `  warmgate demo
  warmgate demo --requests 500 --concurrency 16 --handshake-delay 200ms
  warmgate demo --duration 20s     # stop by itself (CI)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, "WARMGATE_DEMO_"); err != nil {
				return err
			}
			if o.requests < 1 || o.concurrency < 1 {
				return errors.New("--requests and --concurrency must be at least 1")
			}
			ctx, stop := interruptible(cmd) // a second Ctrl-C ends the process
			defer stop()
			if o.duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, o.duration)
				defer cancel()
			}
			rs, err := runDemo(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err == nil && len(rs) < 2 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("--duration %v ended the demo before both runs finished; give it at least 15s (the two runs take about 10s with the defaults), or 0 to run until Ctrl-C", o.duration)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "gateway address (a free port is used if this one is taken)")
	f.IntVar(&o.requests, "requests", 200, "chat requests per client")
	f.IntVar(&o.concurrency, "concurrency", 8, "requests in flight at once, per client")
	f.IntVar(&o.streamEvery, "stream-every", 4, "stream every N-th request (0: none)")
	f.DurationVar(&o.handshakeDelay, "handshake-delay", 150*time.Millisecond, "cost of every new connection at the mock (TCP+TLS round trips)")
	f.DurationVar(&o.latency, "latency", 50*time.Millisecond, "mock's time to answer a non-streamed request")
	f.DurationVar(&o.ttft, "ttft", 50*time.Millisecond, "mock's time to first token of a stream")
	f.IntVar(&o.tokens, "tokens", 16, "completion tokens per answer")
	f.DurationVar(&o.tokenInterval, "token-interval", 2*time.Millisecond, "gap between streamed tokens")
	f.DurationVar(&o.duration, "duration", 0, "stop by itself this long after start (0: run until Ctrl-C)")
	return cmd
}

// runDemo runs the comparison, prints it, then serves until ctx ends
// (unless o.noServe). It returns the two clients' results.
func runDemo(ctx context.Context, o demoOptions, out, errOut io.Writer) ([]demoResult, error) {
	m, err := mock.Start(mock.Options{
		TLS: true, HandshakeDelay: o.handshakeDelay, Latency: o.latency, TTFT: o.ttft,
		Tokens: o.tokens, TokenInterval: o.tokenInterval,
	}, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the mock upstream: %w", err)
	}
	defer m.Close()

	dir, err := os.MkdirTemp("", "warmgate-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	caFile := filepath.Join(dir, "mock-ca.pem")
	if err := os.WriteFile(caFile, m.CAPEM(), 0o600); err != nil {
		return nil, err
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: %q
data_dir: %q
upstreams:
  - name: mock
    base_url: %s/v1
    models: ["*"]
    pool: {prewarm: 2}
    tls: {ca_file: %q}
`, o.listen, filepath.Join(dir, "data"), m.URL(), caFile)), os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	gw, err := gateway.NewServer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if err := gw.Listen(o.listen); err != nil {
		fmt.Fprintf(errOut, "note: %v; using a free port instead\n", err)
		if err := gw.Listen("127.0.0.1:0"); err != nil {
			_ = gw.Close()
			return nil, err
		}
	}
	gw.Start()
	defer gw.Shutdown(context.Background())
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	gw.Warm(wctx)
	cancel()

	warmed := m.Stats().ConnectionsAccepted
	fmt.Fprintf(out, "mock upstream:  %s/v1 (TLS, HTTP/2; each new connection costs %v)\n", m.URL(), o.handshakeDelay)
	fmt.Fprintf(out, "gateway:        %s\n", gw.URL())
	fmt.Fprintf(out, "dashboard:      http://%s/dashboard (open it to watch the pool live)\n\n", gw.Addr())

	// The naive client is what many apps do by accident: a fresh client (or
	// a pool too small) per request, so every request pays the handshake.
	naive := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: m.CertPool()},
	}}
	viaGateway := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency}}
	defer viaGateway.CloseIdleConnections()

	phases := []struct {
		name   string
		client *http.Client
		url    string
	}{
		{"naive (new connection per request)", naive, m.URL() + "/v1/chat/completions"},
		{"through warmgate", viaGateway, gw.URL() + "/chat/completions"},
	}
	var results []demoResult
	for _, ph := range phases {
		before := m.Stats()
		r := drive(ctx, ph.client, ph.url, o, ph.name, errOut)
		after := m.Stats()
		r.newConns = after.ConnectionsAccepted - before.ConnectionsAccepted
		r.handshakes = after.TLSHandshakes - before.TLSHandshakes
		results = append(results, r)
		if ctx.Err() != nil {
			break
		}
	}
	printDemo(out, results)
	fmt.Fprintf(out, "(The gateway opened %d connection(s) to the mock while warming up at start, before both runs.)\n", warmed)

	if ctx.Err() == nil && !o.noServe {
		fmt.Fprintf(out, "\nThe gateway keeps serving. Try it:\n  curl %s/chat/completions -H 'Content-Type: application/json' \\\n    -d '{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'\n", gw.URL())
		fmt.Fprintf(out, "  curl http://%s/readyz\n", gw.Addr())
		fmt.Fprintf(out, "Watch the pool (connections reused, opened, latencies) at http://%s/dashboard\nPress Ctrl-C to stop.\n", gw.Addr())
		<-ctx.Done()
		_ = gw.Shutdown(context.Background())
		why := "Interrupted"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = fmt.Sprintf("--duration %v is up", o.duration)
		}
		fmt.Fprintf(out, "\n%s: the demo's gateway has stopped.\n", why)
	}
	return results, nil
}

// demoResult is one client's run.
type demoResult struct {
	name       string
	lat        []time.Duration
	errs       int
	firstErr   error
	wall       time.Duration
	newConns   int64
	handshakes int64
}

// drive sends o.requests chat requests with o.concurrency workers.
func drive(ctx context.Context, c *http.Client, url string, o demoOptions, name string, errOut io.Writer) demoResult {
	bar := progressbar.NewOptions(o.requests, progressbar.OptionSetWriter(errOut),
		progressbar.OptionSetDescription(fmt.Sprintf("%-36s", name)), progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionShowCount(),
		progressbar.OptionSetVisibility(isTerminal(errOut)))
	res := demoResult{name: name}
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range o.concurrency {
		wg.Go(func() {
			for i := range jobs {
				stream := o.streamEvery > 0 && i%o.streamEvery == 0
				d, err := chatOnce(ctx, c, url, stream)
				mu.Lock()
				if err != nil {
					res.errs++
					if res.firstErr == nil {
						res.firstErr = err
					}
				} else {
					res.lat = append(res.lat, d)
				}
				mu.Unlock()
				_ = bar.Add(1)
			}
		})
	}
	for i := 0; i < o.requests && ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	res.wall = time.Since(start)
	_ = bar.Finish()
	return res
}

// chatOnce sends one chat completion and reads the whole answer.
func chatOnce(ctx context.Context, c *http.Client, url string, stream bool) (time.Duration, error) {
	body := fmt.Sprintf(`{"model":"gpt-4.1-mini","stream":%t,"messages":[{"role":"user","content":"Say hello"}]}`, stream)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %s", resp.Status)
	}
	return time.Since(start), nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func printDemo(out io.Writer, rs []demoResult) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "client\trequests\terrors\tp50\tp99\treq/s\tnew connections at mock\tTLS handshakes\t")
	for _, r := range rs {
		slices.Sort(r.lat)
		rps := float64(len(r.lat)+r.errs) / r.wall.Seconds()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%v\t%.0f\t%d\t%d\t\n", r.name, len(r.lat)+r.errs, r.errs,
			percentile(r.lat, 0.50).Round(time.Millisecond), percentile(r.lat, 0.99).Round(time.Millisecond), rps, r.newConns, r.handshakes)
	}
	_ = tw.Flush()
	for _, r := range rs {
		if r.firstErr != nil {
			fmt.Fprintf(out, "first error of %s: %v\n", r.name, r.firstErr)
		}
	}
	if len(rs) == 2 && len(rs[0].lat) > 0 && len(rs[1].lat) > 0 {
		n, g := percentile(rs[0].lat, 0.5), percentile(rs[1].lat, 0.5)
		fmt.Fprintf(out, "\nWith warm connections the median request took %v instead of %v (%.1fx faster), and the mock saw %d new connections instead of %d.\n",
			g.Round(time.Millisecond), n.Round(time.Millisecond), float64(n)/float64(max(g, 1)), rs[1].newConns, rs[0].newConns)
	}
}

// isTerminal reports whether w is a terminal, where a progress bar helps
// rather than floods a log.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
