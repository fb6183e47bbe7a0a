// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// The fault matrix (docs/reliability.md): each fault a real network or
// provider produces, injected into upstream A, with the client's request
// sent both non-streaming and streaming, in two topologies:
//
//   - one: A is the model's only upstream, so the client sees what A's
//     fault does to it once retries are used up;
//   - two: A (priority 0, tried first) and a healthy B (priority 1), so
//     failover can keep the client whole.
//
// For every cell the test checks what the client sees (status and OpenAI
// error code, the upstream's own answer, or a stream cut by an error
// event), how many requests each upstream got (after bytes reached the
// client, nothing is sent again), and that the gateway recovers by itself
// once the fault stops: a later request is answered in full by A itself.
// The circuit breaker is on, as in production, with a short cooldown.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// Topologies of the matrix.
const (
	oneUp = iota // A alone
	twoUp        // A first, B healthy behind it
)

var topologyNames = [...]string{"one", "two"}

// matrixLines tune every matrix upstream: short timeouts so that stalls
// are seen quickly, fast retries, and the real circuit breaker with a
// cooldown a test can wait out.
var matrixLines = []string{testModels, fastRetry,
	`timeouts: {first_byte: 500ms, stream_idle: 500ms}`, `circuit: {cooldown: 500ms}`}

// outcomeKind is what a client can get.
type outcomeKind int

const (
	whole    outcomeKind = iota // 200 and the complete answer
	gwError                     // an error the gateway made: status, OpenAI shape, code
	passed                      // the upstream's own error answer, unchanged
	cutEvent                    // stream: 200, some chunks, an "error" event, then an abort (no [DONE])
	broken                      // non-stream: the answer breaks off; never a clean, short one
)

type outcome struct {
	kind   outcomeKind
	status int    // gwError, passed
	code   string // gwError: error.code; cutEvent: the error event's code
	ctype  string // passed: the upstream's Content-Type (prefix)
	chunks int    // cutEvent: chunks before the error event
}

var ok200 = outcome{kind: whole, status: 200}

func gwErr(status int, code string) outcome {
	return outcome{kind: gwError, status: status, code: code}
}
func passedOn(status int, ctype string) outcome {
	return outcome{kind: passed, status: status, ctype: ctype}
}
func cutAfter(chunks int, code string) outcome {
	return outcome{kind: cutEvent, status: 200, chunks: chunks, code: code}
}

var brokenOff = outcome{kind: broken}

// upstreamA is the faulty upstream as a row builds it.
type upstreamA struct {
	yaml string       // its entry in the upstreams list
	m    *mock.Server // the mock behind it; nil when no server is
	// heal ends a fault that does not end by itself (nil when it does, or
	// cannot), returning the mock that serves A from then on when that
	// changed (nil otherwise).
	heal func() *mock.Server
}

type matrixRow struct {
	name string
	a    func(t *testing.T, top int) upstreamA
	// warm runs before the measured request, e.g. to leave an idle
	// connection behind.
	warm func(t *testing.T, g *gw)
	want [2][2]outcome // [topology][stream]
	// aReqs and bReqs are the requests A's and B's mocks see for the
	// measured request, by topology; -1 when A has no mock then.
	aReqs, bReqs [2]int64
	// recovers says the fault stops (by itself or by heal) and A then
	// answers again; otherwise the next request must fail (or fail over)
	// the same way, promptly.
	recovers bool
	// log is a message the gateway must have logged.
	log string
}

// mockA makes A a mock with the fault spec of each topology.
func mockA(opts mock.Options, specs [2]string) func(*testing.T, int) upstreamA {
	return func(t *testing.T, top int) upstreamA {
		o := opts
		o.Fault = specs[top]
		m := startMock(t, o)
		return upstreamA{yaml: upstreamYAML(t, "a", m, append([]string{"priority: 0"}, matrixLines...)...), m: m}
	}
}

// upstreamEntry is an upstreams list entry for any base URL (upstreamYAML
// is the one for a mock), with the given lines.
func upstreamEntry(name, baseURL string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    base_url: %s/v1\n", name, baseURL)
	for _, l := range lines {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// entryA is A's entry for a base URL that is not a plain mock's.
func entryA(baseURL string, lines ...string) string {
	return upstreamEntry("a", baseURL, append(append([]string{"priority: 0"}, matrixLines...), lines...)...)
}

// tlsA makes A a TLS front, presenting bad, before a plain mock; the
// gateway trusts trusted's CA (none when nil) and gets the extra tls
// settings. heal makes the front present good, if given.
func tlsA(t *testing.T, trusted *testCA, bad, good *tls.Certificate, tlsExtra string) upstreamA {
	m := startMock(t, mock.Options{})
	f := startTLSFront(t, m.Addr(), bad)
	settings := []string{}
	if trusted != nil {
		settings = append(settings, fmt.Sprintf("ca_file: %q", trusted.file(t)))
	}
	if tlsExtra != "" {
		settings = append(settings, tlsExtra)
	}
	a := upstreamA{yaml: entryA(f.URL(), "tls: {"+strings.Join(settings, ", ")+"}"), m: m}
	if good != nil {
		a.heal = func() *mock.Server { f.use(good); return nil }
	}
	return a
}

func matrixRows() []matrixRow {
	stalled := [2]string{"ttft=5s,times=3", "ttft=5s,times=1"}
	burst := func(status int) [2]string {
		return [2]string{fmt.Sprintf("status=%d,times=3", status), fmt.Sprintf("status=%d,times=2", status)}
	}
	failsOver := [2]int64{3, 1} // A's attempts: all three alone, one before failing over
	once := [2]int64{1, 1}
	none := [2]int64{0, 0} // no request at all
	oneB := [2]int64{0, 1}
	// certs makes the TLS rows' certificates: a CA the gateway trusts, and
	// one it does not.
	certs := func(t *testing.T) (trusted, other *testCA, now time.Time) {
		return newTestCA(t, "warmgate test CA"), newTestCA(t, "untrusted CA"), time.Now()
	}
	return []matrixRow{
		{
			name: "refuses connections",
			a: func(t *testing.T, top int) upstreamA {
				addr := closedAddr(t)
				return upstreamA{yaml: entryA("http://" + addr), heal: func() *mock.Server {
					// The upstream comes back on the same address.
					m, err := mock.Start(mock.Options{}, addr)
					if err != nil {
						t.Fatalf("restarting A on %s: %v", addr, err)
					}
					t.Cleanup(func() { _ = m.Close() })
					return m
				}}
			},
			want:  [2][2]outcome{{gwErr(502, "upstream_connect_error"), gwErr(502, "upstream_connect_error")}, {ok200, ok200}},
			aReqs: [2]int64{-1, -1}, bReqs: oneB, recovers: true,
		},
		{
			name:  "resets before the body",
			a:     mockA(mock.Options{}, [2]string{"reset_after_chunks=0,times=1", "reset_after_chunks=0,times=1"}),
			want:  [2][2]outcome{{gwErr(502, "upstream_error"), cutAfter(0, "upstream_error")}, {gwErr(502, "upstream_error"), cutAfter(0, "upstream_error")}},
			aReqs: once, bReqs: none, recovers: true,
		},
		{
			// Non-stream: the gateway holds the answer until it is whole, so
			// the client gets a 502 rather than a status and half a body.
			name:  "resets mid-response",
			a:     mockA(mock.Options{}, [2]string{"reset_after_chunks=2,times=1", "reset_after_chunks=2,times=1"}),
			want:  [2][2]outcome{{gwErr(502, "upstream_error"), cutAfter(2, "upstream_error")}, {gwErr(502, "upstream_error"), cutAfter(2, "upstream_error")}},
			aReqs: once, bReqs: none, recovers: true,
		},
		{
			name:  "stalls before the first byte",
			a:     mockA(mock.Options{}, stalled),
			want:  [2][2]outcome{{gwErr(504, "upstream_timeout"), gwErr(504, "upstream_timeout")}, {ok200, ok200}},
			aReqs: failsOver, bReqs: oneB, recovers: true,
		},
		{
			name:  "stalls mid-stream",
			a:     mockA(mock.Options{}, [2]string{"stall=5s,times=1", "stall=5s,times=1"}),
			want:  [2][2]outcome{{gwErr(504, "upstream_timeout"), cutAfter(1, "upstream_timeout")}, {gwErr(504, "upstream_timeout"), cutAfter(1, "upstream_timeout")}},
			aReqs: once, bReqs: none, recovers: true,
		},
		{
			name:  "429 with Retry-After",
			a:     mockA(mock.Options{}, [2]string{"status=429,retry_after=1,times=1", "status=429,retry_after=1,times=1"}),
			want:  [2][2]outcome{{ok200, ok200}, {ok200, ok200}},
			aReqs: [2]int64{2, 1}, bReqs: oneB, recovers: true,
		},
		{
			name:  "429 without Retry-After",
			a:     mockA(mock.Options{}, [2]string{"status=429,times=3", "status=429,times=1"}),
			want:  [2][2]outcome{{passedOn(429, "application/json"), passedOn(429, "application/json")}, {ok200, ok200}},
			aReqs: failsOver, bReqs: oneB, recovers: true,
		},
		{
			name:  "500 burst",
			a:     mockA(mock.Options{}, burst(500)),
			want:  [2][2]outcome{{passedOn(500, "application/json"), passedOn(500, "application/json")}, {ok200, ok200}},
			aReqs: failsOver, bReqs: oneB, recovers: true,
		},
		{
			name:  "502 burst",
			a:     mockA(mock.Options{}, burst(502)),
			want:  [2][2]outcome{{passedOn(502, "application/json"), passedOn(502, "application/json")}, {ok200, ok200}},
			aReqs: failsOver, bReqs: oneB, recovers: true,
		},
		{
			name:  "503 burst",
			a:     mockA(mock.Options{}, burst(503)),
			want:  [2][2]outcome{{passedOn(503, "application/json"), passedOn(503, "application/json")}, {ok200, ok200}},
			aReqs: failsOver, bReqs: oneB, recovers: true,
		},
		{
			name:  "HTML error page",
			a:     mockA(mock.Options{}, [2]string{"html=1,times=3", "html=1,times=1"}),
			want:  [2][2]outcome{{passedOn(502, "text/html"), passedOn(502, "text/html")}, {ok200, ok200}},
			aReqs: failsOver, bReqs: oneB, recovers: true,
		},
		{
			name: "closes idle connections at 1s",
			a:    mockA(mock.Options{IdleTimeout: time.Second}, [2]string{}),
			warm: func(t *testing.T, g *gw) {
				if r := g.exchange(t, false); r.status != 200 {
					t.Fatalf("warm-up: %d %v", r.status, r.err)
				}
				time.Sleep(1500 * time.Millisecond) // A closes the connection meanwhile
			},
			want:  [2][2]outcome{{ok200, ok200}, {ok200, ok200}},
			aReqs: once, bReqs: none, recovers: true,
		},
		{
			name: "drops requests on idle connections",
			a:    mockA(mock.Options{}, [2]string{"drop_idle=300ms", "drop_idle=300ms"}),
			warm: func(t *testing.T, g *gw) {
				if r := g.exchange(t, false); r.status != 200 {
					t.Fatalf("warm-up: %d %v", r.status, r.err)
				}
				time.Sleep(450 * time.Millisecond) // the connection is now idle long enough to be dropped
			},
			want: [2][2]outcome{{ok200, ok200}, {ok200, ok200}},
			// The dropped request, then its retry: on a new connection to A
			// alone, on B when it is there.
			aReqs: [2]int64{2, 1}, bReqs: oneB, recovers: true,
		},
		{
			name: "wrong-host certificate",
			a: func(t *testing.T, top int) upstreamA {
				ca, _, now := certs(t)
				return tlsA(t, ca, ca.leaf(t, now.Add(-time.Hour), now.Add(time.Hour), "wrong.example"),
					ca.leaf(t, now.Add(-time.Hour), now.Add(time.Hour), "127.0.0.1"), "")
			},
			want:  [2][2]outcome{{gwErr(502, "upstream_tls_error"), gwErr(502, "upstream_tls_error")}, {ok200, ok200}},
			aReqs: none, bReqs: oneB, recovers: true,
		},
		{
			name: "expired certificate",
			a: func(t *testing.T, top int) upstreamA {
				ca, _, now := certs(t)
				return tlsA(t, ca, ca.leaf(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "127.0.0.1"),
					ca.leaf(t, now.Add(-time.Hour), now.Add(time.Hour), "127.0.0.1"), "")
			},
			want:  [2][2]outcome{{gwErr(502, "upstream_tls_error"), gwErr(502, "upstream_tls_error")}, {ok200, ok200}},
			aReqs: none, bReqs: oneB, recovers: true,
		},
		{
			name: "unknown-authority certificate",
			a: func(t *testing.T, top int) upstreamA {
				ca, other, now := certs(t)
				return tlsA(t, ca, other.leaf(t, now.Add(-time.Hour), now.Add(time.Hour), "127.0.0.1"),
					ca.leaf(t, now.Add(-time.Hour), now.Add(time.Hour), "127.0.0.1"), "")
			},
			want:  [2][2]outcome{{gwErr(502, "upstream_tls_error"), gwErr(502, "upstream_tls_error")}, {ok200, ok200}},
			aReqs: none, bReqs: oneB, recovers: true,
		},
		{
			name: "server_name not in certificate",
			a: func(t *testing.T, top int) upstreamA {
				// The mock's own TLS, its CA trusted, but verified as
				// wrong.example: a configuration mistake, which does not
				// heal by itself.
				m := startMock(t, mock.Options{TLS: true})
				return upstreamA{yaml: entryA(m.URL(), fmt.Sprintf("tls: {ca_file: %q, server_name: wrong.example}", pemFile(t, m.CAPEM()))), m: m}
			},
			want:  [2][2]outcome{{gwErr(502, "upstream_tls_error"), gwErr(502, "upstream_tls_error")}, {ok200, ok200}},
			aReqs: none, bReqs: oneB,
		},
		{
			name: "insecure_skip_verify",
			a: func(t *testing.T, top int) upstreamA {
				_, other, now := certs(t)
				return tlsA(t, nil, other.leaf(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "wrong.example"), nil,
					"insecure_skip_verify: true")
			},
			want:  [2][2]outcome{{ok200, ok200}, {ok200, ok200}},
			aReqs: once, bReqs: none,
			log: "TLS certificate verification is OFF",
		},
		{
			name: "DNS name does not resolve",
			a: func(t *testing.T, top int) upstreamA {
				host := unresolvableHost(t)
				return upstreamA{yaml: entryA("http://" + host)}
			},
			want:  [2][2]outcome{{gwErr(502, "upstream_dns_error"), gwErr(502, "upstream_dns_error")}, {ok200, ok200}},
			aReqs: [2]int64{-1, -1}, bReqs: oneB,
		},
	}
}

// TestFaultMatrix runs every row of the matrix in each topology and mode.
// Its results are the table in docs/reliability.md.
func TestFaultMatrix(t *testing.T) {
	for _, row := range matrixRows() {
		t.Run(row.name, func(t *testing.T) {
			for top, topName := range topologyNames {
				for _, stream := range []bool{false, true} {
					mode := "non-stream"
					if stream {
						mode = "stream"
					}
					t.Run(topName+"/"+mode, func(t *testing.T) {
						t.Parallel()
						runMatrixCell(t, row, top, stream)
					})
				}
			}
		})
	}
}

func runMatrixCell(t *testing.T, row matrixRow, top int, stream bool) {
	a := row.a(t, top)
	yaml := "upstreams:\n" + a.yaml
	var b *mock.Server
	if top == twoUp {
		b = startMock(t, mock.Options{})
		yaml += upstreamYAML(t, "b", b, append([]string{"priority: 1"}, matrixLines...)...)
	}
	g := startGateway(t, yaml, nil)
	if row.warm != nil {
		row.warm(t, g)
	}

	want := row.want[top][btoi(stream)]
	aBefore, bBefore := requests(a.m), requests(b)
	start := time.Now()
	res := g.exchange(t, stream)
	t.Logf("%s: %s in %v", describe(res, stream), describeCounts(a.m, b, aBefore, bBefore), time.Since(start).Round(time.Millisecond))
	checkOutcome(t, res, want, stream)
	if n := row.aReqs[top]; n >= 0 && requests(a.m)-aBefore != n {
		t.Errorf("A's mock saw %d requests, want %d", requests(a.m)-aBefore, n)
	}
	if b != nil && requests(b)-bBefore != row.bReqs[top] {
		t.Errorf("B's mock saw %d requests, want %d", requests(b)-bBefore, row.bReqs[top])
	}
	if row.log != "" && !strings.Contains(g.logs.String(), row.log) {
		t.Errorf("the gateway did not log %q", row.log)
	}

	if !row.recovers {
		// The fault goes on: the next request must fail (or fail over) the
		// same way, promptly, not hang or crash. Alone, A may have its
		// circuit opened by now: 503 is then the fitting answer.
		res := g.exchange(t, stream)
		t.Logf("the fault goes on; next request: %s", describe(res, stream))
		switch {
		case want.kind == whole || top == twoUp:
			checkOutcome(t, res, ok200, stream)
		case res.status == http.StatusServiceUnavailable:
			checkOutcome(t, res, gwErr(503, "no_healthy_upstream"), stream)
		default:
			checkOutcome(t, res, want, stream)
		}
		return
	}

	// The fault stops; then, within a bound, a request must be answered
	// in full by A itself. With B there, every request meanwhile must be
	// answered in full too (by B).
	if a.heal != nil {
		if m := a.heal(); m != nil {
			a.m = m
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		aBefore, bBefore := requests(a.m), requests(b)
		res := g.exchange(t, stream)
		fromA := requests(a.m) > aBefore && requests(b) == bBefore
		if res.err == nil && res.status == 200 && fromA {
			checkOutcome(t, res, ok200, stream)
			t.Logf("recovered: request %d after the fault was answered by A", i+1)
			return
		}
		if top == twoUp {
			checkOutcome(t, res, ok200, stream) // failover keeps the client whole
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered within 5s: last answer %s", describe(res, stream))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// requests is m's request count; 0 for no mock.
func requests(m *mock.Server) int64 {
	if m == nil {
		return 0
	}
	return m.Stats().Requests
}

func describeCounts(a, b *mock.Server, aBefore, bBefore int64) string {
	s := fmt.Sprintf("A saw %d", requests(a)-aBefore)
	if a == nil {
		s = "A has no server"
	}
	if b != nil {
		s += fmt.Sprintf(", B saw %d", requests(b)-bBefore)
	}
	return s
}

// exchangeResult is a whole exchange as the client saw it, failures
// included.
type exchangeResult struct {
	status int
	header http.Header
	body   []byte
	err    error // from sending, or from reading the body
}

// exchange sends a chat completion (streamed or not) and reads the answer
// to its end, keeping whatever came before an error.
func (g *gw) exchange(t *testing.T, stream bool) exchangeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions",
		strings.NewReader(chatBody("gpt-4.1-mini", stream)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.hc.Do(req)
	if err != nil {
		return exchangeResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return exchangeResult{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

func describe(r exchangeResult, stream bool) string {
	s := fmt.Sprintf("status %d", r.status)
	if r.status == 0 {
		s = "no response"
	}
	if stream && r.status == 200 {
		var chunks int
		var last sseEvent
		_ = readEvents(bytes.NewReader(r.body), func(ev sseEvent) bool { chunks++; last = ev; return true })
		s += fmt.Sprintf(", %d events, last %s %.60q", chunks, last.name, last.data)
	} else if r.status != 0 {
		s += fmt.Sprintf(", %.80q", r.body)
	}
	if r.err != nil {
		s += fmt.Sprintf(", then %v", r.err)
	}
	return s
}

// wantContent is the mock's default completion: 16 tokens.
var wantContent = func() string {
	var b strings.Builder
	for i := 1; i <= 16; i++ {
		if i > 1 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "word%d", i)
	}
	return b.String()
}()

func checkOutcome(t *testing.T, r exchangeResult, want outcome, stream bool) {
	t.Helper()
	if errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("the exchange hung until the client's deadline: %s", describe(r, stream))
	}
	switch want.kind {
	case whole:
		if r.err != nil || r.status != 200 {
			t.Fatalf("want a whole 200 answer, got %s", describe(r, stream))
		}
		got := ""
		if stream {
			done := false
			if err := readEvents(bytes.NewReader(r.body), func(ev sseEvent) bool {
				switch {
				case ev.name == "error":
					t.Errorf("error event in a whole stream: %s", ev.data)
				case ev.data == "[DONE]":
					done = true
				default:
					got += chunkContent(t, ev.data)
				}
				return true
			}); err != nil || !done {
				t.Fatalf("the stream did not end cleanly with [DONE] (%v): %q", err, r.body)
			}
		} else {
			var c struct {
				Choices []struct {
					Message struct{ Content string } `json:"message"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(r.body, &c); err != nil || len(c.Choices) != 1 {
				t.Fatalf("not a chat completion (%v): %s", err, r.body)
			}
			got = c.Choices[0].Message.Content
		}
		if got != wantContent {
			t.Errorf("content = %q, want the mock's %q", got, wantContent)
		}
	case gwError:
		if r.err != nil {
			t.Fatalf("want a %d error answer, got %s", want.status, describe(r, stream))
		}
		checkError(t, answer{status: r.status, header: r.header, body: r.body}, want.status, want.code)
	case passed:
		if r.err != nil || r.status != want.status {
			t.Fatalf("want the upstream's %d, got %s", want.status, describe(r, stream))
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, want.ctype) {
			t.Errorf("Content-Type = %q, want the upstream's %s", ct, want.ctype)
		}
		if r.header.Get("X-Upstream-Request-Id") == "" {
			t.Errorf("no X-Upstream-Request-Id: the answer is not the upstream's own")
		}
	case cutEvent:
		if r.status != 200 {
			t.Fatalf("want a 200 stream cut by an error event, got %s", describe(r, stream))
		}
		if r.err == nil {
			t.Errorf("the cut stream ended cleanly; want it aborted after the error event")
		}
		var events []sseEvent
		_ = readEvents(bytes.NewReader(r.body), func(ev sseEvent) bool { events = append(events, ev); return true })
		if len(events) != want.chunks+1 {
			t.Fatalf("got %d events, want %d chunks and an error event: %q", len(events), want.chunks, r.body)
		}
		for _, ev := range events[:want.chunks] {
			if ev.name != "" || !strings.Contains(ev.data, "chat.completion.chunk") {
				t.Errorf("event %+v, want a chunk", ev)
			}
		}
		last := events[want.chunks]
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if last.name != "error" || json.Unmarshal([]byte(last.data), &e) != nil || e.Error.Code != want.code {
			t.Errorf("last event = %+v, want an error event with code %s", last, want.code)
		}
		if bytes.Contains(r.body, []byte("[DONE]")) {
			t.Errorf("a cut stream carries [DONE]: %q", r.body)
		}
	case broken:
		if r.err == nil {
			t.Errorf("want the answer broken off, got a clean %s", describe(r, stream))
		}
	}
}

// unresolvableHost is a host name that fails to resolve on this machine
// without a DNS query leaving it: "nonexistent-.invalid" is not a valid
// domain name (a label may not end in a hyphen), and Go's resolver refuses
// such names before asking any server. The test checks that, and skips if
// a proxy from the environment would get the request instead.
func unresolvableHost(t *testing.T) string {
	t.Helper()
	const host = "nonexistent-.invalid"
	asked := false
	r := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		asked = true
		return nil, errors.New("no DNS server may be asked")
	}}
	_, err := r.LookupHost(t.Context(), host)
	var dnsErr *net.DNSError
	if asked || !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Skipf("%s: Go's resolver would query a DNS server (asked=%t, %v); not sending DNS traffic off this machine", host, asked, err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/", nil)
	if p, _ := http.ProxyFromEnvironment(req); p != nil {
		t.Skipf("an HTTP proxy from the environment (%s) would receive the request", p.Redacted())
	}
	return host
}
