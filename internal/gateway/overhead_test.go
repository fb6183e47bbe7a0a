// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/logbuf"
	"github.com/warmgate/warmgate/internal/mock"
)

// BenchmarkRelayObserved measures what logging and tracing add to the
// gateway's work per request: BenchmarkRelay's request (one non-streamed
// chat completion; client, gateways and mock in this process, over
// loopback) through gateways that differ only in what they observe:
//
//   - direct: client → mock, no gateway (what the client and mock cost)
//   - off: no log output (slog's DiscardHandler), tracing off
//   - log: one text access log line per request at info, written to
//     os.DevNull (a real write per line, as to a file)
//   - trace: tracing on, every request sampled (the default ratio), OTLP/HTTP
//     to an in-process sink that reads and drops what it is sent
//   - trace10: the same with sample_ratio 0.1
//   - log+trace, log+trace10: both
//
// On a shared machine the CPU available drifts by more than the few
// microseconds measured here, so the variants are not run one after the
// other: all the gateways run at once and the requests rotate between them
// in blocks of obsBlock (in rounds, each in a new random order), so that
// drift hits every variant alike. An op is
// one request; for each variant the benchmark reports, per request of that
// variant:
//
//   - VARIANT-cpu-ns/op: the process's CPU time (user + system, every
//     goroutine, the batch exporter and the GC included), from getrusage
//   - VARIANT-ns/op: wall time
//   - VARIANT-allocs/op: heap allocations (the whole process)
//
// The gateway's own CPU per request is off's cpu-ns/op minus direct's
// (gateway-cpu-ns/op); what logging or tracing adds is a variant's
// cpu-ns/op minus off's, reported as a percentage of the gateway's own
// (VARIANT-added-%).
//
//	go test -run '^$' -bench BenchmarkRelayObserved -benchtime 42000x -count 6 ./internal/gateway/
func BenchmarkRelayObserved(b *testing.B) {
	b.Setenv("OPENAI_API_KEY", "")
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	b.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	m, err := mock.Start(mock.Options{Tokens: 16}, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.Setenv("OPENAI_BASE_URL", m.URL()+"/v1")
	var exports atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		exports.Add(1)
	}))
	defer sink.Close()
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()

	variants := []*obsVariant{
		{name: "direct"},
		{name: "off"},
		{name: "log", log: true},
		{name: "trace", trace: true, ratio: 1},
		{name: "trace10", trace: true, ratio: 0.1},
		{name: "log+trace", log: true, trace: true, ratio: 1},
		{name: "log+trace10", log: true, trace: true, ratio: 0.1},
	}
	body := []byte(chatBody("gpt-4.1-mini", false))
	for _, v := range variants {
		v.url = m.URL() + "/v1/chat/completions"
		if v.name != "direct" {
			v.start(b, sink.URL, devNull)
			v.url = "http://" + v.srv.Addr() + "/v1/chat/completions"
		}
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		defer tr.CloseIdleConnections()
		v.client = &http.Client{Transport: tr}
		for range 200 { // warm connections, pools and caches
			v.send(b, body)
		}
	}

	sample := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	mark := func() (cpu time.Duration, wall time.Time, allocs uint64) {
		cpu, _ = processCPU()
		metrics.Read(sample)
		return cpu, time.Now(), sample[0].Value.Uint64()
	}
	// Each round gives every variant one block, in a shuffled order: a
	// variant is not always the one after the same other (which could leave
	// it its exports or garbage).
	rng := rand.New(rand.NewPCG(1, 2))
	var order []int
	var cur *obsVariant
	var cpu0 time.Duration
	var wall0 time.Time
	var allocs0 uint64
	closeBlock := func() {
		if cur == nil {
			return
		}
		cpu, wall, allocs := mark()
		cur.cpu += cpu - cpu0
		cur.wall += wall.Sub(wall0)
		cur.allocs += allocs - allocs0
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%obsBlock == 0 {
			closeBlock()
			if len(order) == 0 {
				order = rng.Perm(len(variants))
			}
			cur, order = variants[order[0]], order[1:]
			cpu0, wall0, allocs0 = mark()
		}
		cur.send(b, body)
		cur.n++
	}
	closeBlock()
	b.StopTimer()

	for _, v := range variants {
		if v.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := v.srv.Shutdown(ctx); err != nil {
				b.Error(err)
			}
			cancel()
		}
		if v.n == 0 {
			continue
		}
		if _, ok := processCPU(); ok {
			b.ReportMetric(float64(v.cpu)/float64(v.n), v.name+"-cpu-ns/op")
		}
		b.ReportMetric(float64(v.wall)/float64(v.n), v.name+"-ns/op")
		b.ReportMetric(float64(v.allocs)/float64(v.n), v.name+"-allocs/op")
	}
	// What logging and tracing add, as a share of the gateway's own CPU
	// per request (off minus direct).
	byName := map[string]*obsVariant{}
	for _, v := range variants {
		byName[v.name] = v
	}
	cpuPer := func(v *obsVariant) float64 { return float64(v.cpu) / float64(max(v.n, 1)) }
	if own := cpuPer(byName["off"]) - cpuPer(byName["direct"]); own > 0 {
		b.ReportMetric(own, "gateway-cpu-ns/op")
		for _, v := range variants[2:] {
			b.ReportMetric(100*(cpuPer(v)-cpuPer(byName["off"]))/own, v.name+"-added-%")
		}
	}
	if exports.Load() == 0 {
		b.Error("tracing on, but no span reached the OTLP sink")
	}
}

// obsBlock is how many requests in a row go to one variant: enough that a
// batch export runs within the block of the variant it belongs to, few
// enough that each variant gets many blocks spread over the run.
const obsBlock = 250

// obsVariant is one gateway (or none) of BenchmarkRelayObserved and what
// its requests cost.
type obsVariant struct {
	name       string
	log, trace bool
	ratio      float64

	srv    *gateway.Server
	url    string
	client *http.Client

	n      int
	cpu    time.Duration
	wall   time.Duration
	allocs uint64
}

// start serves a gateway in front of the mock (the no-config way) with the
// variant's logging and tracing.
func (v *obsVariant) start(b *testing.B, sinkURL string, logOut io.Writer) {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Usage.Disable = true // what is measured is logging and tracing
	log := slog.New(slog.DiscardHandler)
	if v.log {
		// As `warmgate serve` logs: a text line per request, batched by
		// logbuf and written every 100ms, warnings at once.
		lw := logbuf.New(logOut, logbuf.DefaultInterval)
		b.Cleanup(func() { _ = lw.Close() })
		log = slog.New(logbuf.Handler(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelInfo}), lw, slog.LevelWarn))
	}
	if v.trace {
		cfg.Tracing.OTLPEndpoint = sinkURL
		cfg.Tracing.SampleRatio = &v.ratio
	}
	if v.srv, err = gateway.NewServer(cfg, log); err != nil {
		b.Fatal(err)
	}
	if err := v.srv.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	v.srv.Start()
	b.Cleanup(func() { _ = v.srv.Close() }) // after a failure; Shutdown otherwise
}

func (v *obsVariant) send(b *testing.B, body []byte) {
	resp, err := v.client.Post(v.url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: status %d", v.name, resp.StatusCode)
	}
}
