// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want string // canonical String(); "" = no fault
	}{
		{"empty", "", ""},
		{"none", "none", ""},
		{"blank", "  ", ""},
		{"status", "status=503", "status=503"},
		{"order and spaces", " times=2 , status=503 ", "status=503,times=2"},
		{"trailing comma", "status=500,", "status=500"},
		{"retry_after implies 429", "retry_after=3", "status=429,retry_after=3"},
		{"retry_after with status", "status=503,retry_after=0", "status=503,retry_after=0"},
		{"reset", "reset_after_chunks=0", "reset_after_chunks=0"},
		{"exception", "exception_after_chunks=2,status=429", "status=429,exception_after_chunks=2"},
		{"stall", "stall=1.5s", "stall=1.5s"},
		{"ttft zero overrides", "ttft=0s", "ttft=0s"},
		{"ttft", "ttft=250ms", "ttft=250ms"},
		{"drop_idle", "drop_idle=2s,times=1", "times=1,drop_idle=2s"},
		{"html implies 502", "html=1", "status=502,html=1"},
		{"html true with status", "html=true,status=503", "status=503,html=1"},
		{"html off", "html=0", ""},
		{"everything", "html=1,drop_idle=1s,ttft=1s,stall=1s,reset_after_chunks=2,times=3,retry_after=1,status=500",
			"status=500,retry_after=1,times=3,reset_after_chunks=2,stall=1s,ttft=1s,drop_idle=1s,html=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFault(tc.in)
			if err != nil {
				t.Fatalf("ParseFault(%q): %v", tc.in, err)
			}
			if got := f.String(); got != tc.want {
				t.Errorf("ParseFault(%q).String() = %q, want %q", tc.in, got, tc.want)
			}
			if f.IsZero() != (tc.want == "") {
				t.Errorf("IsZero = %v", f.IsZero())
			}
			again, err := ParseFault(f.String())
			if err != nil || again != f {
				t.Errorf("round trip: %+v, %v; want %+v", again, err, f)
			}
		})
	}
}

func TestParseFaultErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string // all must appear in the error
	}{
		{"bogus=1", []string{`"bogus=1"`, "unknown fault", "known: status"}},
		{"status=503,bogus=1", []string{`"bogus=1"`}},
		{"status", []string{`"status"`, "name=value"}},
		{"=5", []string{`"=5"`, "name=value"}},
		{"status=abc", []string{`"status=abc"`, "400-599"}},
		{"status=200", []string{`"status=200"`, "400-599"}},
		{"status=600", []string{`"status=600"`}},
		{"status=503,status=500", []string{`"status=500"`, "twice"}},
		{"retry_after=-1", []string{`"retry_after=-1"`, "seconds"}},
		{"retry_after=1.5", []string{`"retry_after=1.5"`}},
		{"times=0,status=503", []string{`"times=0"`, ">= 1"}},
		{"times=2", []string{"times=2 needs a fault"}},
		{"reset_after_chunks=-1", []string{`"reset_after_chunks=-1"`}},
		{"stall=5", []string{`"stall=5"`, "duration"}},
		{"stall=-1s", []string{`"stall=-1s"`}},
		{"ttft=soon", []string{`"ttft=soon"`}},
		{"drop_idle=0s", []string{`"drop_idle=0s"`, "positive"}},
		{"html=yes", []string{`"html=yes"`, "1 or 0"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseFault(tc.in)
			if err == nil {
				t.Fatalf("ParseFault(%q) = nil error", tc.in)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseFault(%q) = %q, want it to mention %s", tc.in, err, w)
				}
			}
		})
	}
}

// faultModes runs a fault test with the fault given by header and by
// server option.
var faultModes = []struct {
	name  string
	setup func(spec string) (Options, []string)
}{
	{"header", func(spec string) (Options, []string) { return Options{}, []string{FaultHeader, spec} }},
	{"server", func(spec string) (Options, []string) { return Options{Fault: spec}, nil }},
}

func TestFaultStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec           string
		wantStatus     int
		wantRetryAfter string
		wantType       string // "" = OpenAI JSON; else Content-Type prefix
		wantMsg        string
	}{
		{"status=503", 503, "", "", "overloaded"},
		{"status=500", 500, "", "", "500"},
		{"status=401", 401, "", "", "401"},
		{"status=429,retry_after=2", 429, "2", "", "Rate limit"},
		{"retry_after=1", 429, "1", "", "Rate limit"},
		{"status=503,retry_after=7", 503, "7", "", "overloaded"},
		{"html=1", 502, "", "text/html", "<h1>502 Bad Gateway</h1>"},
		{"html=1,status=504", 504, "", "text/html", "504 Gateway Timeout"},
	} {
		for _, m := range faultModes {
			t.Run(m.name+"/"+tc.spec, func(t *testing.T) {
				opts, hdr := m.setup(tc.spec)
				s := start(t, opts)
				resp, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", chatBody, hdr...)
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
				if got := resp.Header.Get("Retry-After"); got != tc.wantRetryAfter {
					t.Errorf("Retry-After %q, want %q", got, tc.wantRetryAfter)
				}
				if tc.wantType == "" {
					checkErrorShape(t, resp, b, tc.wantMsg)
				} else {
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
						t.Errorf("Content-Type %q, want %s", ct, tc.wantType)
					}
					if !strings.Contains(string(b), tc.wantMsg) {
						t.Errorf("body %q lacks %q", b, tc.wantMsg)
					}
				}
			})
		}
	}
}

func TestFaultHeaderOverridesServer(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Fault: "status=503"})
	c := s.Client()
	for _, tc := range []struct {
		hdr  []string
		want int
	}{
		{nil, 503},
		{[]string{FaultHeader, "status=429"}, 429},
		{[]string{FaultHeader, "none"}, 200},
	} {
		resp, _ := call(t, c, http.MethodPost, s.URL()+"/v1/chat/completions", chatBody, tc.hdr...)
		if resp.StatusCode != tc.want {
			t.Errorf("header %v: status %d, want %d", tc.hdr, resp.StatusCode, tc.want)
		}
	}
	// Faults never touch the stats endpoint, nor routing.
	if st := statsOver(t, c, s); st.Requests != 3 {
		t.Errorf("stats %+v", st)
	}
	if resp, _ := call(t, c, http.MethodGet, s.URL()+"/v1/nope", ""); resp.StatusCode != 404 {
		t.Errorf("unknown path under a fault: %d, want 404", resp.StatusCode)
	}
}

func TestFaultBadHeader(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	resp, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", chatBody, FaultHeader, "status=503,explode=1")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	checkErrorShape(t, resp, b, `"explode=1"`)
	if !strings.Contains(string(b), `"code":"invalid_mock_fault"`) {
		t.Errorf("body %s", b)
	}
}

func TestFaultTimes(t *testing.T) {
	t.Parallel()
	for _, m := range faultModes {
		t.Run(m.name, func(t *testing.T) {
			opts, hdr := m.setup("status=503,times=2")
			s := start(t, opts)
			c := s.Client()
			var got []int
			for range 4 {
				resp, _ := call(t, c, http.MethodPost, s.URL()+"/v1/chat/completions", chatBody, hdr...)
				got = append(got, resp.StatusCode)
			}
			if want := []int{503, 503, 200, 200}; !slices.Equal(got, want) {
				t.Errorf("statuses %v, want %v", got, want)
			}
		})
	}

	// Each spec counts on its own; the count is the canonical spec's.
	s := start(t, Options{})
	c := s.Client()
	var got []int
	for _, spec := range []string{"status=500,times=1", "times=1,status=500", "status=502,times=1", " status=500 , times=1 "} {
		resp, _ := call(t, c, http.MethodPost, s.URL()+"/v1/chat/completions", chatBody, FaultHeader, spec)
		got = append(got, resp.StatusCode)
	}
	if want := []int{500, 200, 502, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

func TestFaultTimesConcurrent(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Fault: "status=503,times=5"})
	c := s.Client()
	codes := make(chan int, 20)
	for range 20 {
		go func() {
			resp, err := send(t.Context(), c, http.MethodGet, s.URL()+"/v1/models", "")
			if err != nil {
				codes <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	failed := 0
	for range 20 {
		if <-codes == 503 {
			failed++
		}
	}
	if failed != 5 {
		t.Errorf("%d requests failed, want exactly 5", failed)
	}
}

func TestFaultResetAfterChunks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    Options
		spec    string
		stream  bool
		wantEvs int
	}{
		{"h1 stream", Options{}, "reset_after_chunks=3", true, 3},
		{"h2 stream", Options{TLS: true}, "reset_after_chunks=3", true, 3},
		{"h1 stream before first chunk", Options{}, "reset_after_chunks=0", true, 0},
		{"h2 stream before first chunk", Options{TLS: true}, "reset_after_chunks=0", true, 0},
		{"h1 json", Options{}, "reset_after_chunks=1", false, 0},
		{"h2 json", Options{TLS: true}, "reset_after_chunks=1", false, 0},
		{"h1 json headers only", Options{}, "reset_after_chunks=0", false, 0},
		{"server option", Options{Fault: "reset_after_chunks=2"}, "", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			var hdr []string
			if tc.spec != "" {
				hdr = []string{FaultHeader, tc.spec}
			}
			body := chatBody
			if tc.stream {
				body = streamBody(true)
			}
			resp, err := send(t.Context(), s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", body, hdr...)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200 then an abort", resp.StatusCode)
			}
			if !tc.stream {
				b, err := io.ReadAll(resp.Body)
				if err == nil {
					t.Fatalf("JSON body read cleanly (%d bytes), want an abort", len(b))
				}
				if full := resp.ContentLength; full <= 0 || int64(len(b)) >= full {
					t.Errorf("read %d of %d bytes before the abort", len(b), full)
				}
				return
			}
			evs, err := readEvents(resp.Body, time.Now())
			if err == nil {
				t.Fatalf("stream ended cleanly after %d events, want an abort", len(evs))
			}
			if len(evs) != tc.wantEvs {
				t.Errorf("%d events before the abort, want %d", len(evs), tc.wantEvs)
			}
			for _, ev := range evs {
				if ev.data == "[DONE]" {
					t.Error("an aborted stream sent [DONE]")
				}
			}
		})
	}
}

func TestFaultStall(t *testing.T) {
	t.Parallel()
	const stall = 250 * time.Millisecond
	for _, m := range faultModes {
		t.Run(m.name+"/stream", func(t *testing.T) {
			opts, hdr := m.setup("stall=250ms")
			s := start(t, opts)
			t0 := time.Now()
			resp, err := send(t.Context(), s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", streamBody(false), hdr...)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			evs, err := readEvents(resp.Body, t0)
			if err != nil {
				t.Fatal(err)
			}
			// The second chunk cannot come before the stall has passed since
			// the request was sent. (The gap between the chunks as the client
			// sees them is no bound: under load the first is read late.)
			if evs[1].at < stall {
				t.Errorf("the second chunk came %v after the request, want >= %v (the stall)", evs[1].at, stall)
			}
			if evs[len(evs)-1].data != "[DONE]" {
				t.Error("a stalled stream did not finish")
			}
		})
		t.Run(m.name+"/json", func(t *testing.T) {
			opts, hdr := m.setup("stall=250ms")
			s := start(t, opts)
			resp, err := send(t.Context(), s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", chatBody, hdr...)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			t0 := time.Now() // headers are in
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(t0); d < stall/2 {
				t.Errorf("body came %v after the headers, want about %v", d, stall)
			}
			if a := unmarshal[chatAnswer](t, b); a.Object != "chat.completion" {
				t.Errorf("body %s", b)
			}
		})
	}
}

func TestFaultTTFT(t *testing.T) {
	t.Parallel()
	const ttft = 200 * time.Millisecond
	for _, m := range faultModes {
		t.Run(m.name+"/stream slower", func(t *testing.T) {
			opts, hdr := m.setup("ttft=200ms")
			s := start(t, opts)
			t0 := time.Now()
			resp, err := send(t.Context(), s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", streamBody(false), hdr...)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			evs, err := readEvents(resp.Body, t0)
			if err != nil {
				t.Fatal(err)
			}
			if evs[0].at < ttft {
				t.Errorf("first chunk at %v, want >= %v", evs[0].at, ttft)
			}
		})
	}
	t.Run("overrides a long Latency", func(t *testing.T) {
		s := start(t, Options{Latency: time.Minute, TTFT: time.Minute})
		for _, body := range []string{chatBody, streamBody(false)} {
			t0 := time.Now()
			resp, _ := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", body, FaultHeader, "ttft=0s")
			if d := time.Since(t0); resp.StatusCode != 200 || d > 20*time.Second {
				t.Errorf("status %d after %v, want a prompt 200", resp.StatusCode, d)
			}
		}
	})
	t.Run("delays an error", func(t *testing.T) {
		s := start(t, Options{})
		t0 := time.Now()
		resp, _ := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", chatBody, FaultHeader, "status=503,ttft=200ms")
		if d := time.Since(t0); resp.StatusCode != 503 || d < ttft {
			t.Errorf("status %d after %v, want 503 after >= %v", resp.StatusCode, d, ttft)
		}
	})
}

func TestFaultDropIdle(t *testing.T) {
	t.Parallel()
	const idle = 100 * time.Millisecond
	for _, tc := range []struct {
		name string
		opts Options
		hdr  bool
	}{
		{"h1 header", Options{}, true},
		{"h1 server", Options{Fault: "drop_idle=100ms,times=1"}, false},
		{"h2 header", Options{TLS: true}, true},
		{"h2 server", Options{TLS: true, Fault: "drop_idle=100ms,times=1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			c := s.Client()
			var hdr []string
			if tc.hdr {
				hdr = []string{FaultHeader, "drop_idle=100ms,times=1"}
			}
			post := func() (int, error) {
				resp, err := send(t.Context(), c, http.MethodPost, s.URL()+"/v1/chat/completions", chatBody, hdr...)
				if err != nil {
					return 0, err
				}
				defer resp.Body.Close()
				_, err = io.ReadAll(resp.Body)
				return resp.StatusCode, err
			}
			// A fresh connection's first request, and a busy connection's
			// next, are answered.
			for i := range 2 {
				if code, err := post(); err != nil || code != 200 {
					t.Fatalf("request %d: %d, %v", i, code, err)
				}
			}
			time.Sleep(idle + 50*time.Millisecond)
			code, err := post()
			if err == nil {
				t.Fatalf("request on a connection idle for > %v: status %d, want the connection dropped", idle, code)
			}
			eventually(t, "the dropped connection to close", func() bool { return s.Stats().ActiveConnections == 0 })
			// times=1: the next stale request is answered.
			time.Sleep(idle + 50*time.Millisecond)
			if code, err := post(); err != nil || code != 200 {
				t.Errorf("request after the drop: %d, %v", code, err)
			}
			if st := s.Stats(); st.Requests != 4 || st.ConnectionsAccepted != 2 {
				t.Errorf("stats %+v, want 4 requests over 2 connections", st)
			}
		})
	}
}

func TestFaultDropIdleSparesBusyConnections(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Fault: "drop_idle=1s"})
	c := s.Client()
	for i := range 5 {
		resp, b := call(t, c, http.MethodGet, s.URL()+"/v1/models", "")
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if st := s.Stats(); st.ConnectionsAccepted != 1 {
		t.Errorf("stats %+v, want one connection", st)
	}
}

func TestGateIdle(t *testing.T) {
	t.Parallel()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ParseFault("drop_idle=1s")
	for _, tc := range []struct {
		idle time.Duration
		want bool
	}{{0, false}, {999 * time.Millisecond, false}, {time.Second, true}, {time.Hour, true}} {
		if got := !s.gate(f, tc.idle).IsZero(); got != tc.want {
			t.Errorf("idle %v: applies = %v, want %v", tc.idle, got, tc.want)
		}
	}
}
