// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Client keys and their limits, end to end: the key in each header form,
// rpm and tpm over real sockets, the reconciliation of tpm with the usage
// the upstream reports, token metrics, and the client's key never reaching
// the upstream.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/warmgate/warmgate/internal/mock"
)

// Keys of the limit tests, by their environment variable.
var limitEnv = map[string]string{
	"KEY_PLAIN": "sk-wg-plain-0123456789abcdef",
	"KEY_MINI":  "sk-wg-mini-0123456789abcdef",
	"KEY_RPM":   "sk-wg-rpm-0123456789abcdef",
	"ADMIN_KEY": "sk-wg-admin-0123456789abcdef",
}

// limitKeysYAML has a key without limits, one limited to a model, one with
// rpm: 3, and the admin key (for /metrics).
const limitKeysYAML = `keys:
  - name: plain
    key_env: KEY_PLAIN
  - name: mini-only
    key_env: KEY_MINI
    models: ["gpt-4.1-mini"]
  - name: rpm3
    key_env: KEY_RPM
    rpm: 3
admin: {key_env: ADMIN_KEY}
`

func bearerOf(env string) []string { return []string{"Authorization", "Bearer " + limitEnv[env]} }

func adminHdr() []string { return bearerOf("ADMIN_KEY") }

// TestClientKeys: the key is accepted as "Authorization: Bearer", "api-key"
// or "x-api-key"; a missing or wrong one is a 401, a model the key may not
// use a 403. The mock, which has no key of its own here, never receives an
// Authorization header.
func TestClientKeys(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+limitKeysYAML, limitEnv)
	plain := limitEnv["KEY_PLAIN"]
	tests := []struct {
		name   string
		model  string
		hdr    []string
		status int
		code   string
		msg    []string
	}{
		{name: "Authorization: Bearer", hdr: []string{"Authorization", "Bearer " + plain}, status: 200},
		{name: "bearer in lower case", hdr: []string{"Authorization", "bearer " + plain}, status: 200},
		{name: "api-key", hdr: []string{"api-key", plain}, status: 200},
		{name: "x-api-key", hdr: []string{"x-api-key", plain}, status: 200},
		{name: "X-Api-Key beside a Basic Authorization", hdr: []string{"Authorization", "Basic Zm9vOmJhcg==", "X-Api-Key", plain}, status: 200},
		{name: "missing", status: 401, code: "missing_api_key", msg: []string{"Authorization: Bearer", "api-key", "x-api-key"}},
		{name: "empty bearer", hdr: []string{"Authorization", "Bearer  "}, status: 401, code: "missing_api_key"},
		{name: "wrong, Bearer", hdr: []string{"Authorization", "Bearer " + plain + "x"}, status: 401, code: "invalid_api_key"},
		{name: "wrong, api-key", hdr: []string{"api-key", "sk-wrong"}, status: 401, code: "invalid_api_key"},
		{name: "wrong, x-api-key", hdr: []string{"x-api-key", "sk-wrong"}, status: 401, code: "invalid_api_key"},
		{name: "wrong Bearer wins over a right x-api-key", hdr: []string{"Authorization", "Bearer sk-wrong", "x-api-key", plain}, status: 401, code: "invalid_api_key"},
		{name: "model allowed", model: "gpt-4.1-mini", hdr: []string{"api-key", limitEnv["KEY_MINI"]}, status: 200},
		{name: "model not allowed", model: "gpt-4.1", hdr: []string{"api-key", limitEnv["KEY_MINI"]}, status: 403,
			code: "model_not_allowed", msg: []string{`"gpt-4.1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := tt.model
			if model == "" {
				model = "gpt-4.1-mini"
			}
			for _, stream := range []bool{false, true} {
				a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody(model, stream), tt.hdr...)
				if tt.status != http.StatusOK {
					checkError(t, a, tt.status, tt.code, tt.msg...)
					continue
				}
				if a.status != http.StatusOK {
					t.Fatalf("stream=%v: status %d, want 200: %s", stream, a.status, a.body)
				}
				if got := a.header.Get("X-Mock-Has-Authorization"); got != "false" {
					t.Errorf("stream=%v: X-Mock-Has-Authorization = %q: the client's key reached the upstream", stream, got)
				}
			}
		})
	}
	// Every form works on /v1/models too.
	for _, h := range []string{"Authorization", "api-key", "x-api-key"} {
		v := plain
		if h == "Authorization" {
			v = "Bearer " + plain
		}
		if a := g.do(t, http.MethodGet, "/v1/models", "", h, v); a.status != http.StatusOK {
			t.Errorf("GET /v1/models with %s: %d %s", h, a.status, a.body)
		}
	}
	if strings.Contains(g.logs.String(), plain) {
		t.Error("the client key is in the gateway's log")
	}
}

// recorder is a fake upstream that answers every request with a fixed
// chat completion and keeps the headers it received.
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost { // not a warm-up or health request
			rec.mu.Lock()
			rec.headers = append(rec.headers, r.Header.Clone())
			rec.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) take() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.headers
	r.headers = nil
	return h
}

// TestClientKeyNeverForwarded: whichever header carries the client's key,
// no header the upstream receives contains it; an upstream with a key of
// its own gets that key, one without gets no credentials at all.
func TestClientKeyNeverForwarded(t *testing.T) {
	for _, upKey := range []string{"", "sk-upstream-0123456789"} {
		t.Run(fmt.Sprintf("upstream key %v", upKey != ""), func(t *testing.T) {
			rec := startRecorder(t)
			env := map[string]string{"KEY_PLAIN": limitEnv["KEY_PLAIN"], "ADMIN_KEY": limitEnv["ADMIN_KEY"],
				"KEY_MINI": limitEnv["KEY_MINI"], "KEY_RPM": limitEnv["KEY_RPM"], "UP_KEY": upKey}
			yaml := "upstreams:\n  - name: rec\n    base_url: " + rec.URL + "/v1\n"
			if upKey != "" {
				yaml += "    api_key_env: UP_KEY\n"
			}
			g := startGateway(t, yaml+limitKeysYAML, env)
			key := limitEnv["KEY_PLAIN"]
			forms := [][]string{{"Authorization", "Bearer " + key}, {"api-key", key}, {"x-api-key", key},
				{"Authorization", "Bearer " + key, "api-key", key, "x-api-key", key}}
			for _, hdr := range forms {
				a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), hdr...)
				if a.status != http.StatusOK {
					t.Fatalf("%q: status %d: %s", hdr, a.status, a.body)
				}
				got := rec.take()
				if len(got) != 1 {
					t.Fatalf("%q: the upstream got %d requests, want 1", hdr, len(got))
				}
				for name, vv := range got[0] {
					for _, v := range vv {
						if strings.Contains(v, key) {
							t.Errorf("%q: the upstream got the client's key in %s", hdr, name)
						}
					}
				}
				for _, name := range []string{"Api-Key", "X-Api-Key"} {
					if v, ok := got[0][name]; ok {
						t.Errorf("%q: the upstream got %s: %q", hdr, name, v)
					}
				}
				want := ""
				if upKey != "" {
					want = "Bearer " + upKey
				}
				if a := got[0].Get("Authorization"); a != want {
					t.Errorf("%q: the upstream got Authorization %q, want %q", hdr, a, want)
				}
			}
		})
	}
}

// retryAfter returns the answer's Retry-After in seconds, failing the test
// unless it is a whole number of seconds.
func retryAfter(t *testing.T, a answer) int {
	t.Helper()
	s := a.header.Get("Retry-After")
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("Retry-After = %q, want whole seconds", s)
	}
	return n
}

// TestRPMLimit: a key with rpm: 3 makes 3 requests, then gets a 429 in
// OpenAI's shape with Retry-After (a minute's worth at most); a stream is
// refused the same way before it starts. Other keys are not limited.
func TestRPMLimit(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+limitKeysYAML, limitEnv)
	for i := range 3 {
		if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", i == 1), bearerOf("KEY_RPM")...); a.status != 200 {
			t.Fatalf("request %d: status %d: %s", i+1, a.status, a.body)
		}
	}
	for _, stream := range []bool{false, true} {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", stream), bearerOf("KEY_RPM")...)
		checkError(t, a, http.StatusTooManyRequests, "rate_limit_exceeded", "requests per minute", `"rpm3"`, "retry in")
		var e errorShape
		_ = json.Unmarshal(a.body, &e)
		if *e.Error.Type != "rate_limit_error" {
			t.Errorf("error.type = %q, want rate_limit_error", *e.Error.Type)
		}
		if s := retryAfter(t, a); s <= 0 || s > 60 {
			t.Errorf("Retry-After = %d, want 1..60", s)
		}
		if a.header.Get("X-Request-Id") == "" {
			t.Error("429 without X-Request-Id")
		}
	}
	for i := range 10 {
		if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), bearerOf("KEY_PLAIN")...); a.status != 200 {
			t.Fatalf("key without limits, request %d: status %d: %s", i+1, a.status, a.body)
		}
	}
	value := scrape(t, g, adminHdr()...)
	if v := value("warmgate_ratelimited_total", "key", "rpm3", "limit", "rpm"); v != 2 {
		t.Errorf(`warmgate_ratelimited_total{key="rpm3",limit="rpm"} = %v, want 2`, v)
	}
}

// TestRPMRefills: after its Retry-After, a refused key is let through
// again. rpm: 30 refills one request every 2s.
func TestRPMRefills(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+"keys:\n  - name: k\n    key_env: K\n    rpm: 30\n", map[string]string{"K": "sk-k-0123456789"})
	hdr := []string{"x-api-key", "sk-k-0123456789"}
	start := time.Now()
	n := 0
	var refused answer
	for ; n < 100; n++ {
		a := g.do(t, http.MethodPost, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`, hdr...)
		if a.status == http.StatusTooManyRequests {
			refused = a
			break
		}
		if a.status != 200 {
			t.Fatalf("request %d: %d %s", n+1, a.status, a.body)
		}
	}
	// Each 2s of the loop may have refilled one more.
	if most := 30 + int(time.Since(start)/(2*time.Second)); n < 30 || n > most {
		t.Fatalf("%d requests allowed, want 30..%d", n, most)
	}
	secs := retryAfter(t, refused)
	if secs < 1 || secs > 2 {
		t.Fatalf("Retry-After = %d, want 1 or 2 (one request every 2s)", secs)
	}
	time.Sleep(time.Duration(secs) * time.Second)
	if a := g.do(t, http.MethodPost, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`, hdr...); a.status != 200 {
		t.Fatalf("after Retry-After: %d %s", a.status, a.body)
	}
}

// chatWithMax is a chat request with max_tokens; streamed with
// stream_options.include_usage when usage is set.
func chatWithMax(model string, maxTokens int, stream, usage bool) string {
	opts := ""
	if usage {
		opts = `,"stream_options":{"include_usage":true}`
	}
	mt := ""
	if maxTokens > 0 {
		mt = fmt.Sprintf(`,"max_tokens":%d`, maxTokens)
	}
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"Tell me about keep-alive."}],"stream":%t%s%s}`,
		model, stream, opts, mt)
}

// estimate is the documented reservation (docs/keys.md): body bytes / 4,
// plus max_tokens, or 1024 without it.
func estimate(body string, maxTokens int) int {
	if maxTokens <= 0 {
		maxTokens = 1024
	}
	return len(body)/4 + maxTokens
}

// answerUsage is the usage in a JSON answer or in a stream's usage chunk.
func answerUsage(t *testing.T, a answer) (prompt, completion, total int) {
	t.Helper()
	var u struct {
		Usage *struct {
			Prompt     int `json:"prompt_tokens"`
			Completion int `json:"completion_tokens"`
			Total      int `json:"total_tokens"`
		} `json:"usage"`
	}
	if !strings.HasPrefix(a.header.Get("Content-Type"), "text/event-stream") {
		if err := json.Unmarshal(a.body, &u); err != nil || u.Usage == nil {
			t.Fatalf("no usage in %s", a.body)
		}
		return u.Usage.Prompt, u.Usage.Completion, u.Usage.Total
	}
	var found bool
	err := readEvents(bufio.NewReader(bytes.NewReader(a.body)), func(ev sseEvent) bool {
		if ev.data != "[DONE]" && json.Unmarshal([]byte(ev.data), &u) == nil && u.Usage != nil {
			found = true
		}
		return true
	})
	if err != nil || !found {
		t.Fatalf("no usage chunk in the stream (err %v): %s", err, a.body)
	}
	return u.Usage.Prompt, u.Usage.Completion, u.Usage.Total
}

// untilRefused sends body with hdr until a 429 (at most max requests) and
// returns how many were answered 200, and the 429.
func untilRefused(t *testing.T, g *gw, body string, max int, hdr ...string) (int, answer) {
	t.Helper()
	for n := 0; n < max; n++ {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", body, hdr...)
		if a.status == http.StatusTooManyRequests {
			return n, a
		}
		if a.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", n+1, a.status, a.body)
		}
	}
	t.Fatalf("no 429 after %d requests", max)
	return 0, answer{}
}

// TestTPMFollowsRealUsage: tpm reserves an estimate up front (body/4 +
// max_tokens) and reconciles with the usage the upstream reports. Requests
// ask for max_tokens 2000 but use about 400 tokens; the key's tpm is the
// estimate plus 3.5 times the real usage. With reconciliation the key makes
// exactly 4 requests (each needs the whole estimate free, and spends only
// its usage); charging estimates it would make 1. The margin of half a
// request absorbs the refill while the test runs.
func TestTPMFollowsRealUsage(t *testing.T) {
	const maxTokens, completion = 2000, 400
	m := startMock(t, mock.Options{Tokens: completion})
	cases := []struct {
		name          string
		stream, usage bool
	}{
		{"json", false, false},
		{"stream with include_usage", true, true},
		{"stream without include_usage", true, false}, // the gateway asks for it
	}
	env := map[string]string{"ADMIN_KEY": limitEnv["ADMIN_KEY"]}
	keys := "keys:\n"
	for i, c := range cases {
		body := chatWithMax("gpt-4.1-mini", maxTokens, c.stream, c.usage)
		// The mock counts the same usage with or without a stream.
		_, _, used := answerUsage(t, mockDirect(t, m, http.MethodPost, "/v1/chat/completions", chatWithMax("gpt-4.1-mini", maxTokens, false, false)))
		est := estimate(body, maxTokens)
		if est <= 3*used {
			t.Fatalf("estimate %d is not well above the usage %d: the test proves nothing", est, used)
		}
		env[fmt.Sprint("K", i)] = fmt.Sprint("sk-tpm-", i, "-0123456789")
		keys += fmt.Sprintf("  - name: tpm%d\n    key_env: K%d\n    tpm: %d\n", i, i, est+3*used+used/2)
	}
	g := startGateway(t, defaultYAML(t, m)+keys+"admin: {key_env: ADMIN_KEY}\n", env)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := chatWithMax("gpt-4.1-mini", maxTokens, c.stream, c.usage)
			n, refused := untilRefused(t, g, body, 20, "Authorization", "Bearer "+env[fmt.Sprint("K", i)])
			if n != 4 {
				t.Errorf("%d requests allowed, want 4 (the real usage counts, not the estimate)", n)
			}
			checkError(t, refused, http.StatusTooManyRequests, "rate_limit_exceeded", "tokens per minute", fmt.Sprintf(`"tpm%d"`, i), "retry in")
			if s := retryAfter(t, refused); s <= 0 || s > 60 {
				t.Errorf("Retry-After = %d, want 1..60", s)
			}
		})
	}
	value := scrape(t, g, adminHdr()...)
	for i := range cases {
		if v := value("warmgate_ratelimited_total", "key", fmt.Sprint("tpm", i), "limit", "tpm"); v != 1 {
			t.Errorf(`warmgate_ratelimited_total{key="tpm%d",limit="tpm"} = %v, want 1`, i, v)
		}
	}
}

// TestTPMSettlement: what happens to the reservation when the usage is not
// the plain one: an upstream error refunds it; a usage above the estimate
// is charged, leaving the key in debt (a Retry-After beyond a minute).
func TestTPMSettlement(t *testing.T) {
	small := startMock(t, mock.Options{Tokens: 400})
	big := startMock(t, mock.Options{Tokens: 3000})
	yaml := "upstreams:\n" +
		upstreamYAML(t, "small", small, `models: ["gpt-*"]`, fastRetry, noCircuit) +
		upstreamYAML(t, "big", big, `models: ["big-*"]`, fastRetry, noCircuit)

	plainBody := chatWithMax("gpt-4.1-mini", 2000, false, false)
	est := estimate(plainBody, 2000)
	_, _, used := answerUsage(t, mockDirect(t, small, http.MethodPost, "/v1/chat/completions", plainBody))
	bigBody := chatWithMax("big-1", 0, false, false)
	bigEst := estimate(bigBody, 0)
	_, _, bigUsed := answerUsage(t, mockDirect(t, big, http.MethodPost, "/v1/chat/completions", bigBody))
	const bigTPM = 2000
	if bigEst > bigTPM || bigUsed <= bigTPM {
		t.Fatalf("big: estimate %d, usage %d, tpm %d: the test needs estimate <= tpm < usage", bigEst, bigUsed, bigTPM)
	}

	env := map[string]string{"KE": "sk-errors-0123456789", "KB": "sk-big-0123456789"}
	yaml += fmt.Sprintf("keys:\n  - name: errors\n    key_env: KE\n    tpm: %d\n", est+used/2) +
		fmt.Sprintf("  - name: big\n    key_env: KB\n    tpm: %d\n", bigTPM)
	g := startGateway(t, yaml, env)

	t.Run("upstream errors are refunded", func(t *testing.T) {
		hdr := []string{"Authorization", "Bearer " + env["KE"]}
		for i := range 3 {
			a := g.do(t, http.MethodPost, "/v1/chat/completions", plainBody, append(hdr, mock.FaultHeader, "status=400")...)
			if a.status != http.StatusBadRequest {
				t.Fatalf("failed request %d: status %d, want the upstream's 400: %s", i+1, a.status, a.body)
			}
		}
		if n, _ := untilRefused(t, g, plainBody, 10, hdr...); n != 1 {
			t.Errorf("after 3 failed requests, %d allowed; want 1 (room for one estimate)", n)
		}
	})
	t.Run("usage above the estimate is charged", func(t *testing.T) {
		hdr := []string{"Authorization", "Bearer " + env["KB"]}
		if a := g.do(t, http.MethodPost, "/v1/chat/completions", bigBody, hdr...); a.status != 200 {
			t.Fatalf("first request: %d %s", a.status, a.body)
		}
		a := g.do(t, http.MethodPost, "/v1/chat/completions", bigBody, hdr...)
		checkError(t, a, http.StatusTooManyRequests, "rate_limit_exceeded", "tokens per minute")
		// In debt by bigUsed-bigTPM, and bigEst more are needed, at
		// bigTPM a minute; the test's own time may have refilled a little.
		want := ((bigEst+bigUsed-bigTPM)*60 + bigTPM - 1) / bigTPM
		if s := retryAfter(t, a); s < want-1 || s > want {
			t.Errorf("Retry-After = %d, want %d (the debt of the real usage)", s, want)
		}
	})
}

// TestTokensMetric: the usage of answers, JSON or streamed, and of
// embeddings, is counted in warmgate_tokens_total by key and model, also
// in open mode.
func TestTokensMetric(t *testing.T) {
	m := startMock(t, mock.Options{})
	for _, open := range []bool{false, true} {
		t.Run(fmt.Sprintf("open %v", open), func(t *testing.T) {
			yaml, hdr, key := defaultYAML(t, m), bearerOf("KEY_PLAIN"), "plain"
			if !open {
				yaml += limitKeysYAML
			} else {
				hdr, key = nil, ""
			}
			g := startGateway(t, yaml, limitEnv)
			var prompt, completion int
			for _, body := range []string{chatWithMax("gpt-4.1-mini", 0, false, false), chatWithMax("gpt-4.1-mini", 0, true, true), chatWithMax("gpt-4.1-mini", 5, false, false)} {
				a := g.do(t, http.MethodPost, "/v1/chat/completions", body, hdr...)
				p, c, _ := answerUsage(t, a)
				prompt, completion = prompt+p, completion+c
			}
			a := g.do(t, http.MethodPost, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hello there"}`, hdr...)
			embPrompt, _, _ := answerUsage(t, a)

			var admin []string
			if !open {
				admin = adminHdr()
			}
			value := scrape(t, g, admin...)
			for _, c := range []struct {
				model, kind string
				want        int
			}{
				{"gpt-4.1-mini", "prompt", prompt}, {"gpt-4.1-mini", "completion", completion},
				{"text-embedding-3-small", "prompt", embPrompt}, {"text-embedding-3-small", "completion", 0},
			} {
				if v := value("warmgate_tokens_total", "key", key, "model", c.model, "kind", c.kind); v != float64(c.want) {
					t.Errorf(`warmgate_tokens_total{key=%q,model=%q,kind=%q} = %v, want %d`, key, c.model, c.kind, v, c.want)
				}
			}
		})
	}
}

// TestUsageInAnswers: where the gateway finds the usage of an answer, with
// an upstream that sends crafted answers. Each case has its own model, so
// its tokens have their own series.
func TestUsageInAnswers(t *testing.T) {
	huge := strings.Repeat("lorem ipsum ", 30_000) // 360 KB: beyond the kept tail
	cases := []struct {
		name               string
		status             int
		contentType, body  string
		prompt, completion int
	}{
		{"json", 200, "application/json",
			`{"id":"a","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":11,"completion_tokens":22,"total_tokens":33}}`, 11, 22},
		{"json, pretty", 200, "application/json; charset=utf-8",
			"{\n  \"usage\" : {\n    \"prompt_tokens\" : 4,\n    \"completion_tokens\" : 5,\n    \"total_tokens\" : 9\n  }\n}\n", 4, 5},
		{"json larger than the tail", 200, "application/json",
			`{"choices":[{"message":{"content":"` + huge + `"}}],"usage":{"prompt_tokens":7,"completion_tokens":90000,"total_tokens":90007}}`, 7, 90000},
		{"a usage quoted in the content is not the usage", 200, "application/json",
			`{"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11},"choices":[{"message":{"content":"say \"usage\": {\"prompt_tokens\": 999} and \\\\"}}]}`, 5, 6},
		{"responses API", 200, "application/json",
			`{"object":"response","output":[],"usage":{"input_tokens":7,"input_tokens_details":{"cached_tokens":0},"output_tokens":8,"total_tokens":15},"metadata":{}}`, 7, 8},
		{"no usage", 200, "application/json", `{"object":"list","data":[]}`, 0, 0},
		{"an error with a usage", 400, "application/json", `{"error":{"message":"no"},"usage":{"prompt_tokens":50,"completion_tokens":50}}`, 0, 0},
		{"chat stream", 200, "text/event-stream",
			"data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n" +
				"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n" +
				"data: [DONE]\n\n", 3, 1},
		{"responses stream", 200, "text/event-stream",
			"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\n\n" +
				"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"output\":[],\"usage\":{\"input_tokens\":12,\"output_tokens\":13,\"total_tokens\":25}}}\n\n", 12, 13},
		{"stream without usage", 200, "text/event-stream", "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", 0, 0},
	}
	byModel := map[string]int{}
	for i := range cases {
		byModel[fmt.Sprint("case-", i)] = i
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct{ Model string }
		_ = json.NewDecoder(r.Body).Decode(&env)
		c := cases[byModel[env.Model]]
		w.Header().Set("Content-Type", c.contentType)
		w.WriteHeader(c.status)
		_, _ = io.WriteString(w, c.body)
	}))
	t.Cleanup(up.Close)
	g := startGateway(t, "upstreams:\n  - name: up\n    base_url: "+up.URL+"/v1\n"+limitKeysYAML, limitEnv)
	for i, c := range cases {
		path := "/v1/chat/completions"
		if strings.HasPrefix(c.name, "responses") {
			path = "/v1/responses" // where a stream of Responses events is complete
		}
		a := g.do(t, http.MethodPost, path, fmt.Sprintf(`{"model":"case-%d","messages":[]}`, i), bearerOf("KEY_PLAIN")...)
		if a.status != c.status || string(a.body) != c.body {
			t.Fatalf("%s: answer changed on the way: status %d, %d bytes; want %d, %d bytes", c.name, a.status, len(a.body), c.status, len(c.body))
		}
	}
	value := scrape(t, g, adminHdr()...)
	for i, c := range cases {
		model := fmt.Sprint("case-", i)
		p := value("warmgate_tokens_total", "key", "plain", "model", model, "kind", "prompt")
		cm := value("warmgate_tokens_total", "key", "plain", "model", model, "kind", "completion")
		if p != float64(c.prompt) || cm != float64(c.completion) {
			t.Errorf("%s: tokens counted %v prompt, %v completion; want %d, %d", c.name, p, cm, c.prompt, c.completion)
		}
	}
}

// TestKeyModelGlobsCrossSlash: a key's model globs are the config's model
// globs, whose * matches "/" too: a key allowed "*" (or "*llama*") may use
// "meta-llama/Llama-3.1-8B" and sees it in GET /v1/models; a key allowed
// only "gpt-*" may not.
func TestKeyModelGlobsCrossSlash(t *testing.T) {
	m := startMock(t, mock.Options{})
	env := map[string]string{"K_ALL": "sk-all-0123456789", "K_LLAMA": "sk-llama-0123456789", "K_GPT": "sk-gpt-0123456789"}
	yaml := "upstreams:\n" + upstreamYAML(t, "mock", m, `models: ["*"]`, fastRetry, noCircuit) +
		"aliases: {\"org/fast\": \"meta-llama/Llama-3.1-8B\"}\n" +
		`keys:
  - {name: all, key_env: K_ALL, models: ["*"]}
  - {name: llama, key_env: K_LLAMA, models: ["*llama*"]}
  - {name: gpt, key_env: K_GPT, models: ["gpt-*"]}
`
	g := startGateway(t, yaml, env)
	const model = "meta-llama/Llama-3.1-8B"
	for _, tt := range []struct {
		key    string
		model  string
		status int
	}{
		{"K_ALL", model, 200},
		{"K_LLAMA", model, 200},
		{"K_ALL", "org/fast", 200}, // an alias with a slash
		{"K_GPT", model, 403},
		{"K_GPT", "gpt-4.1-mini", 200},
	} {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody(tt.model, false), "Authorization", "Bearer "+env[tt.key])
		if tt.status == 403 {
			checkError(t, a, 403, "model_not_allowed", model)
			continue
		}
		if a.status != tt.status {
			t.Errorf("%s with %s: status %d, want %d: %s", tt.key, tt.model, a.status, tt.status, a.body)
		}
	}
	// GET /v1/models shows a key what it may use: the alias "org/fast" for
	// the key allowed "*", not for the one allowed "gpt-*".
	for key, want := range map[string]bool{"K_ALL": true, "K_GPT": false} {
		a := g.do(t, http.MethodGet, "/v1/models", "", "Authorization", "Bearer "+env[key])
		if got := strings.Contains(string(a.body), `"id":"org/fast"`); a.status != 200 || got != want {
			t.Errorf("GET /v1/models for %s: %d, lists org/fast: %v, want %v: %s", key, a.status, got, want, a.body)
		}
	}
}

// TestKeysGovernPassThroughPaths: a request that names no model goes to a
// pass-through endpoint (/v1/files, /v1/batches, ...). A key limited to
// some models may not send one unless its paths allow it (403
// path_not_allowed, saying which config key lets it through, and nothing
// reaches the upstream); a key without models keeps every path, and a
// request that names a model is governed by the models alone.
func TestKeysGovernPassThroughPaths(t *testing.T) {
	m := startMock(t, mock.Options{})
	env := map[string]string{"K_PLAIN": "sk-plain-0123456789", "K_MINI": "sk-mini-0123456789", "K_FILES": "sk-files-0123456789"}
	yaml := defaultYAML(t, m) + `keys:
  - {name: plain, key_env: K_PLAIN}
  - {name: mini-only, key_env: K_MINI, models: ["gpt-4.1-mini"]}
  - {name: files, key_env: K_FILES, models: ["gpt-4.1-mini"], paths: ["/v1/files*"]}
`
	g := startGateway(t, yaml, env)
	tests := []struct {
		name         string
		key          string
		method, path string
		body, ctype  string
		refused      []string // parts of the 403's message; nil: it passes through
	}{
		{name: "no models: files", key: "K_PLAIN", method: "GET", path: "/v1/files"},
		{name: "no models: batches", key: "K_PLAIN", method: "POST", path: "/v1/batches", body: `{"input_file_id":"file-1"}`},
		{name: "models: files", key: "K_MINI", method: "GET", path: "/v1/files",
			refused: []string{`"mini-only"`, "keys[].models", `paths: ["/v1/files*"]`}},
		{name: "models: batches", key: "K_MINI", method: "POST", path: "/v1/batches", body: `{"input_file_id":"file-1"}`,
			refused: []string{`paths: ["/v1/batches*"]`}},
		{name: "models: multipart upload without a model", key: "K_MINI", method: "POST", path: "/v1/audio/transcriptions",
			body: "--b\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\nen\r\n--b--\r\n", ctype: "multipart/form-data; boundary=b",
			refused: []string{`paths: ["/v1/audio*"]`}},
		{name: "models: a body that names an allowed model", key: "K_MINI", method: "POST", path: "/v1/images/generations",
			body: `{"model":"gpt-4.1-mini","prompt":"x"}`},
		{name: "paths: files", key: "K_FILES", method: "GET", path: "/v1/files/file-abc/content"},
		{name: "paths: batches", key: "K_FILES", method: "GET", path: "/v1/batches",
			refused: []string{`"files"`, "keys[].paths", `"/v1/batches*"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{"Authorization", "Bearer " + env[tt.key]}
			if tt.ctype != "" {
				hdr = append(hdr, "Content-Type", tt.ctype)
			}
			a := g.do(t, tt.method, tt.path, tt.body, hdr...)
			reached := a.header.Get("X-Upstream-Request-Id") != ""
			if tt.refused != nil {
				checkError(t, a, http.StatusForbidden, "path_not_allowed", tt.refused...)
				if reached {
					t.Error("a refused request reached the upstream")
				}
				return
			}
			if !reached {
				t.Errorf("%s %s: did not reach the upstream: %d %s", tt.method, tt.path, a.status, a.body)
			}
		})
	}
	// An upload that cannot name a model (neither JSON nor a form) is
	// refused before its body is read: the 403 comes while the client has
	// sent 3 bytes of the megabyte it announced. (A form is read: its
	// "model" field names a model; TestModelCheckCannotBeBypassed.)
	t.Run("refused before the body", func(t *testing.T) {
		conn, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(requestTimeout))
		fmt.Fprintf(conn, "POST /v1/files HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n--b", env["K_MINI"])
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer before the body was sent: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
	})
}

// providerLimits is an upstream that answers every chat completion with
// rate-limit headers of its own, as OpenAI does: they describe the
// gateway's provider key, not the client's.
func providerLimits(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Ratelimit-Limit-Requests", "5000")
		h.Set("X-Ratelimit-Remaining-Requests", "4999")
		h.Set("X-Ratelimit-Reset-Requests", "12ms")
		h.Set("X-Ratelimit-Limit-Tokens", "2000000")
		h.Set("X-Ratelimit-Remaining-Tokens", "1999000")
		h.Set("X-Ratelimit-Reset-Tokens", "30ms")
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","created":1,"model":"gpt-4.1-mini","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRateLimitHeaders: answers to a key with an rpm or tpm carry OpenAI's
// x-ratelimit-{limit,remaining,reset}-{requests,tokens} for the key's own
// buckets, in place of the upstream's (which describe the provider key);
// a refused request carries them too. A key without limits gets the
// upstream's unchanged.
func TestRateLimitHeaders(t *testing.T) {
	up := providerLimits(t)
	env := map[string]string{"K_BOTH": "sk-both-0123456789", "K_RPM": "sk-rpm-0123456789", "K_FREE": "sk-free-0123456789"}
	yaml := "upstreams:\n  - {name: up, base_url: " + up.URL + "/v1}\n" + `keys:
  - {name: both, key_env: K_BOTH, rpm: 3, tpm: 10000}
  - {name: rpm-only, key_env: K_RPM, rpm: 60}
  - {name: free, key_env: K_FREE}
`
	g := startGateway(t, yaml, env)
	body := chatBody("gpt-4.1-mini", false)
	est := len(body)/4 + 1024 // the tpm estimate: body/4 + the default completion
	get := func(a answer, name string) string { return a.header.Get(name) }

	// The first request of "both": its buckets were full. The tpm charge
	// is settled to the real usage (2 tokens) once the answer ends.
	a := g.do(t, http.MethodPost, "/v1/chat/completions", body, "Authorization", "Bearer "+env["K_BOTH"])
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	for name, want := range map[string]string{
		"x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "2", "x-ratelimit-reset-requests": "20s",
		"x-ratelimit-limit-tokens": "10000", "x-ratelimit-remaining-tokens": strconv.Itoa(10000 - est),
		"x-ratelimit-reset-tokens": (time.Duration(est) * time.Minute / 10000).Round(time.Millisecond).String(),
	} {
		if got := get(a, name); got != want {
			t.Errorf("%s = %q, want %q (the key's own, not the upstream's)", name, got, want)
		}
	}
	// Through the official SDK: it sees the headers too.
	c := sdkClient(t, g, env["K_BOTH"])
	var resp *http.Response
	_, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4.1-mini"), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatalf("SDK: %v", err)
	}
	if got := resp.Header.Get("x-ratelimit-remaining-requests"); got != "1" {
		t.Errorf("SDK: x-ratelimit-remaining-requests = %q, want 1", got)
	}
	if d, err := time.ParseDuration(resp.Header.Get("x-ratelimit-reset-requests")); err != nil || d <= 20*time.Second || d > 40*time.Second {
		t.Errorf("SDK: x-ratelimit-reset-requests = %q, want a duration in (20s, 40s]", resp.Header.Get("x-ratelimit-reset-requests"))
	}
	// The third is allowed, the fourth refused: the 429 has them too.
	g.do(t, http.MethodPost, "/v1/chat/completions", body, "Authorization", "Bearer "+env["K_BOTH"])
	_, err = c.Chat.Completions.New(t.Context(), chatParams("gpt-4.1-mini"), option.WithResponseInto(&resp))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fourth request: %v, want a 429", err)
	}
	if got := resp.Header.Get("x-ratelimit-remaining-requests"); got != "0" || resp.Header.Get("x-ratelimit-limit-tokens") != "10000" {
		t.Errorf("429: x-ratelimit-remaining-requests = %q, limit-tokens %q; want 0 and 10000", got, resp.Header.Get("x-ratelimit-limit-tokens"))
	}

	// A key with an rpm only: its requests trio; none of the upstream's.
	a = g.do(t, http.MethodPost, "/v1/chat/completions", body, "Authorization", "Bearer "+env["K_RPM"])
	if get(a, "x-ratelimit-limit-requests") != "60" || get(a, "x-ratelimit-remaining-requests") != "59" || get(a, "x-ratelimit-reset-requests") != "1s" {
		t.Errorf("rpm-only: requests headers %q %q %q, want 60 59 1s", get(a, "x-ratelimit-limit-requests"),
			get(a, "x-ratelimit-remaining-requests"), get(a, "x-ratelimit-reset-requests"))
	}
	for _, name := range []string{"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"} {
		if v := get(a, name); v != "" {
			t.Errorf("rpm-only: %s = %q relayed from the upstream, want none", name, v)
		}
	}
	// A key without limits: the upstream's, unchanged.
	a = g.do(t, http.MethodPost, "/v1/chat/completions", body, "Authorization", "Bearer "+env["K_FREE"])
	if get(a, "x-ratelimit-limit-requests") != "5000" || get(a, "x-ratelimit-reset-tokens") != "30ms" {
		t.Errorf("free: %q %q, want the upstream's 5000 and 30ms", get(a, "x-ratelimit-limit-requests"), get(a, "x-ratelimit-reset-tokens"))
	}
}

// keyLimitsOf reads keys.limits of GET /api/pools (the dashboard's data).
func keyLimitsOf(t *testing.T, g *gw) map[string]map[string]*struct{ Limit, Remaining, Used int } {
	t.Helper()
	a := g.do(t, http.MethodGet, "/api/pools", "", adminHdr()...)
	var doc struct {
		Keys struct {
			Limits []struct {
				Name     string
				RPM, TPM *struct{ Limit, Remaining, Used int }
			}
		}
	}
	if err := json.Unmarshal(a.body, &doc); a.status != http.StatusOK || err != nil {
		t.Fatalf("GET /api/pools: %d %v %s", a.status, err, a.body)
	}
	out := map[string]map[string]*struct{ Limit, Remaining, Used int }{}
	for _, k := range doc.Keys.Limits {
		out[k.Name] = map[string]*struct{ Limit, Remaining, Used int }{"rpm": k.RPM, "tpm": k.TPM}
	}
	return out
}

// TestDashboardKeyLimits: the dashboard's data lists every key with an rpm
// or tpm and what it has used of them, as its x-ratelimit-* headers say.
func TestDashboardKeyLimits(t *testing.T) {
	m := startMock(t, mock.Options{})
	env := map[string]string{"K_BOTH": "sk-both-0123456789", "K_RPM": "sk-rpm-0123456789", "K_FREE": "sk-free-0123456789",
		"ADMIN_KEY": limitEnv["ADMIN_KEY"]}
	yaml := defaultYAML(t, m) + `keys:
  - {name: both, key_env: K_BOTH, rpm: 3, tpm: 120}
  - {name: rpm-only, key_env: K_RPM, rpm: 1}
  - {name: free, key_env: K_FREE}
admin: {key_env: ADMIN_KEY}
`
	g := startGateway(t, yaml, env)
	// tpm 120 refills two tokens a second: the two answers' 48 tokens (the
	// mock's usage) stay visible for long enough.
	for range 2 {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4.1-mini","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`,
			"Authorization", "Bearer "+env["K_BOTH"])
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	}
	lims := keyLimitsOf(t, g)
	if len(lims) != 2 || lims["free"] != nil {
		t.Fatalf("keys.limits = %v, want both and rpm-only (not free)", lims)
	}
	if r := lims["both"]["rpm"]; r == nil || r.Limit != 3 || r.Used != 2 || r.Remaining != 1 {
		t.Errorf("both's rpm = %+v, want limit 3, used 2, remaining 1", r)
	}
	if tp := lims["both"]["tpm"]; tp == nil || tp.Limit != 120 || tp.Used < 30 || tp.Used > 48 || tp.Used+tp.Remaining != 120 {
		t.Errorf("both's tpm = %+v, want limit 120 and the 48 tokens of two answers used (less what refilled since)", tp)
	}
	if r := lims["rpm-only"]; r["rpm"] == nil || r["rpm"].Used != 0 || r["tpm"] != nil {
		t.Errorf("rpm-only = rpm %+v, tpm %+v; want rpm used 0, no tpm", r["rpm"], r["tpm"])
	}
}
