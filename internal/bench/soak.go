// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Soak defaults, each with its reason.
const (
	// DefaultSoakDuration is long enough for several fault phases and for
	// a leak to show between the middle and the end.
	DefaultSoakDuration = 2 * time.Minute
	// quickSoakDuration is the CI smoke size: every fault phase once.
	quickSoakDuration = 12 * time.Second
	// soakWarmup runs the load before the "start" sample, so that pools,
	// caches and the runtime have reached their working size.
	soakWarmup = 2 * time.Second
	// soakWorkers is the total concurrency, split over the load groups.
	soakWorkers = 16
	// soakFirstByte is the gateway's first-byte timeout in the soak: the
	// "slow" fault waits longer than it, so it shows as a timeout retry.
	soakFirstByte = 500 * time.Millisecond
	// soakAdminEnv names the variable passing the admin key to the gateway
	// (the suite's children get no WARMGATE_ variables).
	soakAdminEnv = "SOAK_WARMGATE_ADMIN_KEY"
)

// SoakFaults are the faulty upstream's server-wide faults, one per phase,
// in turn: each is one the gateway can hide by failing over to the
// healthy upstream before any byte reaches the client. Between two phases
// the faulty mock is restarted, so it also refuses connections briefly.
var SoakFaults = []string{
	"status=503",
	"status=429,retry_after=1",
	"ttft=" + (2 * soakFirstByte).String(),
	"status=502",
	"drop_idle=1ms",
}

// SoakOptions configure RunSoak.
type SoakOptions struct {
	// Binary is the warmgate executable; "" means this process's.
	Binary string
	// Duration of the measured load (after a short warm-up); 0 means
	// DefaultSoakDuration (Quick: 12 s).
	Duration time.Duration
	// Quick is the CI smoke size.
	Quick bool
	// OutDir receives the children's logs; "" means a temporary directory
	// removed at the end.
	OutDir string
	// Log receives a line per step; nil discards them.
	Log io.Writer
}

// SoakSample is the gateway process at one moment of the soak.
type SoakSample struct {
	Label      string  `json:"label"`
	AtSeconds  float64 `json:"at_seconds"`
	Goroutines int     `json:"goroutines"`
	FDs        int     `json:"fds"`
	RSSBytes   int64   `json:"rss_bytes"`
}

// SoakReport is what RunSoak measured.
type SoakReport struct {
	DurationSeconds float64 `json:"duration_seconds"`
	// Requests counts the finished client requests; OK the 2xx ones.
	Requests int `json:"requests"`
	OK       int `json:"ok"`
	// ClientErrors counts what a client saw fail: transport errors and
	// non-2xx answers. It must be 0 while one upstream stays healthy.
	ClientErrors int `json:"client_errors"`
	// ErrorExamples holds up to a few examples of ClientErrors.
	ErrorExamples []string `json:"error_examples,omitempty"`
	// Faults are the phases' faults, in order.
	Faults []string `json:"faults"`
	// Retries counts the gateway's retries by reason.
	Retries map[string]float64 `json:"retries"`
	// ConnectionsOpened counts the gateway's upstream connections by
	// upstream.
	ConnectionsOpened map[string]float64 `json:"connections_opened"`
	// Samples are the gateway's start, middle and end.
	Samples []SoakSample `json:"samples"`
	// Growth lists what grew once warm; empty is good.
	Growth []string `json:"growth"`
	// SlowBody and Aborts are the attacker loads run beside the normal
	// traffic, from the start to the end sample.
	SlowBody *SlowBodyFlood `json:"slow_body"`
	Aborts   *AbortFlood    `json:"aborts"`
}

// Failed says why the soak failed, or "".
func (r *SoakReport) Failed() string {
	var why []string
	if r.ClientErrors > 0 {
		why = append(why, fmt.Sprintf("%d client-visible errors", r.ClientErrors))
	}
	if r.Requests == 0 {
		why = append(why, "no requests finished")
	}
	if r.SlowBody != nil && r.SlowBody.StillOpen > 0 {
		why = append(why, fmt.Sprintf("%d slow-body connections not ended by the gateway", r.SlowBody.StillOpen))
	}
	if r.SlowBody != nil && r.SlowBody.DialErrors > 0 {
		why = append(why, fmt.Sprintf("%d slow-body connections refused by the gateway", r.SlowBody.DialErrors))
	}
	if r.Aborts != nil && r.Aborts.Errors > 0 {
		why = append(why, fmt.Sprintf("%d aborted requests failed otherwise", r.Aborts.Errors))
	}
	why = append(why, r.Growth...)
	return strings.Join(why, "; ")
}

// WriteText prints the report for people.
func (r *SoakReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "warmgate bench soak: %.1fs, faults on one of two upstreams: %s\n\n", r.DurationSeconds, strings.Join(r.Faults, " | "))
	fmt.Fprintf(&b, "requests               %d\n", r.Requests)
	fmt.Fprintf(&b, "ok                     %d\n", r.OK)
	fmt.Fprintf(&b, "client-visible errors  %d\n", r.ClientErrors)
	for _, e := range r.ErrorExamples {
		fmt.Fprintf(&b, "  e.g. %s\n", e)
	}
	fmt.Fprintf(&b, "retries by reason      %s\n", formatCounts(r.Retries))
	fmt.Fprintf(&b, "connections opened     %s\n", formatCounts(r.ConnectionsOpened))
	if s := r.SlowBody; s != nil {
		fmt.Fprintf(&b, "slow-body flood        %d connections (%d at once): %d closed by the gateway (longest %.1fs; answers %s), %d still open, %d dial errors\n",
			s.Connections, s.Concurrency, s.ClosedByGateway, s.LongestSeconds, formatStatus(s.Status), s.StillOpen, s.DialErrors)
	}
	if a := r.Aborts; a != nil {
		fmt.Fprintf(&b, "abort flood            %d requests (%d streamed, %d workers): %d aborted, %d finished first, %d failed otherwise\n",
			a.Requests, a.Streamed, a.Workers, a.Aborted, a.Finished, a.Errors)
		for _, e := range a.ErrorExamples {
			fmt.Fprintf(&b, "  e.g. %s\n", e)
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "| gateway | at | goroutines | fds | RSS MiB |\n|---|---:|---:|---:|---:|\n")
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "| %s | %.1fs | %d | %d | %.1f |\n", s.Label, s.AtSeconds, s.Goroutines, s.FDs, float64(s.RSSBytes)/(1<<20))
	}
	if len(r.Growth) == 0 {
		b.WriteString("\ngrowth once warm: none\n")
	} else {
		fmt.Fprintf(&b, "\ngrowth once warm: %s\n", strings.Join(r.Growth, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// formatStatus prints counts by status, 0 as "none" (closed unanswered).
func formatStatus(m map[int]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := strconv.Itoa(k)
		if k == 0 {
			name = "none"
		}
		parts[i] = fmt.Sprintf("%s=%d", name, m[k])
	}
	return strings.Join(parts, ", ")
}

func formatCounts(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	var total float64
	for k, v := range m {
		keys = append(keys, k)
		total += v
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%g", k, m[k])
	}
	return fmt.Sprintf("%g (%s)", total, strings.Join(parts, ", "))
}

// RunSoak starts two mocks and a gateway in front of both, runs a mixed
// load (streaming and not, two client keys) through the gateway while
// one mock answers with a fault in every request, changing fault by
// phase, and reports what clients saw and how the gateway process fared.
// The error is for setup failures; a soak that ran returns its report,
// whose Failed says whether it passed.
func RunSoak(ctx context.Context, o SoakOptions) (*SoakReport, error) {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bench soak: %w", err)
		}
		o.Binary = exe
	}
	if o.Duration < 0 {
		return nil, fmt.Errorf("bench soak: duration must not be negative, got %v", o.Duration)
	}
	if o.Duration == 0 {
		o.Duration = DefaultSoakDuration
		if o.Quick {
			o.Duration = quickSoakDuration
		}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	// The phase goroutine logs too.
	o.Log = &lockedWriter{w: o.Log}
	tmp, err := os.MkdirTemp("", "warmgate-soak-")
	if err != nil {
		return nil, fmt.Errorf("bench soak: %w", err)
	}
	defer os.RemoveAll(tmp)
	logDir := o.OutDir
	if logDir == "" {
		logDir = filepath.Join(tmp, "logs")
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("bench soak: %w", err)
	}
	e := &suiteEnv{o: SuiteOptions{Binary: o.Binary, Log: o.Log}, logDir: logDir, tmp: tmp, ctl: newControlClient()}
	defer e.ctl.CloseIdleConnections()
	e.logf("warmgate bench soak: %v; logs in %s", o.Duration, logDir)

	healthy, healthyOrigin, err := e.startMock(ctx, "mock-healthy", "")
	if err != nil {
		return nil, fmt.Errorf("bench soak: %w", err)
	}
	defer healthy.stop()
	faultyAddr, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("bench soak: %w", err)
	}
	fm := &faultyMock{e: e, addr: faultyAddr}
	if err := fm.start(ctx, 0); err != nil {
		return nil, fmt.Errorf("bench soak: %w", err)
	}
	defer fm.stop()

	keys := []string{randomKey(), randomKey()}
	admin := randomKey()
	gw, origin, err := e.startSoakGateway(ctx, healthyOrigin, "http://"+faultyAddr, keys, admin)
	if err != nil {
		return nil, fmt.Errorf("bench soak: %w", err)
	}
	defer gw.stop()

	rep := &SoakReport{Retries: map[string]float64{}, ConnectionsOpened: map[string]float64{}, Growth: []string{}}
	start := time.Now()
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	total := soakWarmup + o.Duration

	// The load: one group per key and kind, soakWorkers workers in all.
	type group struct {
		key    string
		stream bool
	}
	var groups []group
	for _, k := range keys {
		groups = append(groups, group{k, false}, group{k, true})
	}
	results := make([]*Result, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() {
			r, err := Run(loadCtx, Options{
				Target:        origin + "/v1",
				Duration:      total,
				Concurrency:   soakWorkers / len(groups),
				Stream:        g.stream,
				APIKey:        g.key,
				Timeout:       30 * time.Second,
				NoServerStats: true,
			}, nil)
			if err != nil {
				e.logf("load: %v", err)
				return
			}
			results[i] = r
		})
	}

	// The fault phases: the faulty mock is restarted with the next fault.
	phases := len(SoakFaults)
	if o.Quick {
		phases = min(phases, 4)
	}
	rep.Faults = append(rep.Faults, SoakFaults[0])
	phaseErr := make(chan error, 1)
	wg.Go(func() {
		for i := 1; i < phases; i++ {
			at := soakWarmup + o.Duration*time.Duration(i)/time.Duration(phases)
			if !sleepCtx(loadCtx, time.Until(start.Add(at))) {
				return
			}
			fm.stop()
			if err := fm.start(loadCtx, i); err != nil {
				if loadCtx.Err() == nil {
					phaseErr <- err
					cancelLoad()
				}
				return
			}
			rep.Faults = append(rep.Faults, SoakFaults[i])
		}
	})

	// The floods, beside the load from its start to the end sample.
	floodStop, stopFloods := context.WithCancel(loadCtx)
	defer stopFloods()
	slowN, abortN := floodSize(o.Quick)
	gwAddr := strings.TrimPrefix(origin, "http://")
	wg.Go(func() { rep.SlowBody = runSlowBodyFlood(loadCtx, floodStop, gwAddr, slowN, keys[1], slowBodyGiveUp) })
	wg.Go(func() { rep.Aborts = runAbortFlood(floodStop, origin, abortN, keys[0]) })

	// The samples: after the warm-up, in the middle and near the end,
	// all under load, so that in-flight requests count alike.
	marks := []struct {
		label string
		at    time.Duration
	}{
		{"start", soakWarmup},
		{"middle", soakWarmup + o.Duration/2},
		{"end", total - min(time.Second, o.Duration/10)},
	}
	for _, m := range marks {
		if !sleepCtx(loadCtx, time.Until(start.Add(m.at))) {
			break
		}
		s, err := e.soakSample(loadCtx, gw, origin, admin)
		if err != nil {
			e.logf("sample %s: %v", m.label, err)
			continue
		}
		s.Label, s.AtSeconds = m.label, time.Since(start).Seconds()
		e.logf("%s: %d goroutines, %d fds, %.1f MiB", s.Label, s.Goroutines, s.FDs, float64(s.RSSBytes)/(1<<20))
		rep.Samples = append(rep.Samples, s)
	}
	stopFloods()
	wg.Wait()
	rep.DurationSeconds = time.Since(start).Seconds()
	select {
	case err := <-phaseErr:
		return nil, fmt.Errorf("bench soak: restarting the faulty mock: %w", err)
	default:
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	for _, r := range results {
		if r == nil {
			return nil, errors.New("bench soak: a load group failed to run")
		}
		rep.Requests += r.Requests
		rep.OK += r.OK
		rep.ClientErrors += r.Requests - r.OK
		for class, ec := range r.ErrorsByClass {
			rep.addExample(fmt.Sprintf("%s: %s", class, ec.Example))
		}
		for status, n := range r.Status {
			if status < 200 || status > 299 {
				rep.addExample(fmt.Sprintf("status %d (x%d)", status, n))
			}
		}
	}
	text, err := e.adminGet(ctx, origin+"/metrics", admin)
	if err != nil {
		return nil, fmt.Errorf("bench soak: metrics: %w", err)
	}
	rep.Retries = sumByLabel(text, "warmgate_upstream_retries_total", "reason")
	rep.ConnectionsOpened = sumByLabel(text, "warmgate_upstream_connections_opened_total", "upstream")
	rep.Growth = growth(rep.Samples)
	return rep, nil
}

func (r *SoakReport) addExample(s string) {
	if len(r.ErrorExamples) < 5 {
		r.ErrorExamples = append(r.ErrorExamples, s)
	}
}

// growth compares the end sample with the middle one.
func growth(samples []SoakSample) []string {
	out := []string{}
	var mid, end *SoakSample
	for i := range samples {
		switch samples[i].Label {
		case "middle":
			mid = &samples[i]
		case "end":
			end = &samples[i]
		}
	}
	if mid == nil || end == nil {
		return append(out, "missing the middle or end sample")
	}
	if float64(end.Goroutines) > 1.5*float64(mid.Goroutines)+20 {
		out = append(out, fmt.Sprintf("goroutines grew from %d to %d", mid.Goroutines, end.Goroutines))
	}
	if float64(end.FDs) > 1.5*float64(mid.FDs)+20 {
		out = append(out, fmt.Sprintf("fds grew from %d to %d", mid.FDs, end.FDs))
	}
	if float64(end.RSSBytes) > 1.5*float64(mid.RSSBytes)+(16<<20) {
		out = append(out, fmt.Sprintf("RSS grew from %.1f to %.1f MiB", float64(mid.RSSBytes)/(1<<20), float64(end.RSSBytes)/(1<<20)))
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func randomKey() string {
	return "sk-soak-" + rand.Text()
}

// faultyMock is the mock that fails every request, restarted per phase
// on the same address (the gateway's config names it).
type faultyMock struct {
	e    *suiteEnv
	addr string
	mu   sync.Mutex
	p    *proc
}

func (f *faultyMock) start(ctx context.Context, phase int) error {
	p, _, err := f.e.startMock(ctx, fmt.Sprintf("mock-faulty-%d", phase+1), "",
		"--listen", f.addr, "--fault", SoakFaults[phase])
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.p = p
	f.mu.Unlock()
	f.e.logf("faulty mock: phase %d, fault %s", phase+1, SoakFaults[phase])
	return nil
}

func (f *faultyMock) stop() {
	f.mu.Lock()
	p := f.p
	f.p = nil
	f.mu.Unlock()
	if p != nil {
		p.stop()
	}
}

// soakConfig is the gateway's config: two upstreams for the same models,
// retries with a budget that covers a whole upstream failing, a circuit
// breaker with a short cooldown (so the faulty upstream keeps being
// tried), two client keys with generous limits and an admin key, and a
// short server.body_timeout, so that the slow-body flood's connections
// are cut within the soak.
func soakConfig(dataDir, healthy, faulty string, keys []string) string {
	var b strings.Builder
	// shutdown_delay 0: no load balancer is in front to wait for.
	fmt.Fprintf(&b, "listen: 127.0.0.1:0\ndata_dir: %q\nadmin: {key_env: %s}\nserver: {shutdown_delay: 0s, body_timeout: %s}\nupstreams:\n", dataDir, soakAdminEnv, soakBodyTimeout)
	for _, u := range []struct{ name, origin string }{{"healthy", healthy}, {"faulty", faulty}} {
		fmt.Fprintf(&b, "  - name: %s\n    base_url: %q\n    models: [\"*\"]\n", u.name, u.origin+"/v1")
		fmt.Fprintf(&b, "    timeouts: {first_byte: %s}\n", soakFirstByte)
		b.WriteString("    retry: {attempts: 3, base: 10ms, max: 100ms, budget: 1}\n")
		b.WriteString("    circuit: {failures: 5, cooldown: 1s}\n")
	}
	b.WriteString("keys:\n")
	for i, k := range keys {
		sum := sha256.Sum256([]byte(k))
		fmt.Fprintf(&b, "  - name: soak-%d\n    key_sha256: %q\n    rpm: 1000000\n", i+1, hex.EncodeToString(sum[:]))
	}
	return b.String()
}

// startSoakGateway starts "warmgate serve" with soakConfig and the admin
// key in its environment, and waits until it is ready.
func (e *suiteEnv) startSoakGateway(ctx context.Context, healthy, faulty string, keys []string, admin string) (*proc, string, error) {
	file := filepath.Join(e.tmp, "soak-gateway.yaml")
	if err := os.WriteFile(file, []byte(soakConfig(filepath.Join(e.tmp, "data"), healthy, faulty, keys)), 0o600); err != nil {
		return nil, "", err
	}
	// The admin key goes to the gateway alone, in its environment.
	p, origin, err := startProcEnv(ctx, "gateway", e.logDir, e.o.Binary,
		[]string{"serve", "--config", file, "--log-level", "warn"}, []string{soakAdminEnv + "=" + admin}, gatewayAddrLine)
	if err != nil {
		return nil, "", err
	}
	if err := p.waitReady(ctx, e.get, origin+"/healthz"); err != nil {
		p.stop()
		return nil, "", err
	}
	e.logf("gateway: pid %d, %s", p.pid(), origin)
	return p, origin, nil
}

// adminGet fetches url with the admin key.
func (e *suiteEnv) adminGet(ctx context.Context, url, admin string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := e.ctl.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxControlBody))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: status %d: %.200s", url, resp.StatusCode, b)
	}
	return b, err
}

// soakSample reads the gateway's goroutines from /metrics and its fds
// and RSS from /proc.
func (e *suiteEnv) soakSample(ctx context.Context, p *proc, origin, admin string) (SoakSample, error) {
	var s SoakSample
	text, err := e.adminGet(ctx, origin+"/metrics", admin)
	if err != nil {
		return s, err
	}
	s.Goroutines = int(parseMetrics(text, "go_goroutines")["go_goroutines"])
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid())); err == nil {
		s.FDs = len(ents)
	}
	if rss, _, err := readProcStatus(p.pid()); err == nil {
		s.RSSBytes = rss
	}
	return s, nil
}

// sumByLabel sums the samples of the labelled series name by the value
// of its label, from Prometheus text.
func sumByLabel(text []byte, name, label string) map[string]float64 {
	out := map[string]float64{}
	for line := range strings.SplitSeq(string(text), "\n") {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		labels, val, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		key := ""
		for kv := range strings.SplitSeq(labels, ",") {
			k, q, ok := strings.Cut(kv, "=")
			if ok && k == label {
				key, _ = strconv.Unquote(q)
			}
		}
		out[key] += v
	}
	return out
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
