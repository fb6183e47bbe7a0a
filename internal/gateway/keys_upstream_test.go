package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestSeveralKeysForOneProvider: two upstreams with one base URL and two
// API keys share the traffic; each request carries exactly one of the keys.
func TestSeveralKeysForOneProvider(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[]}`)
	}))
	t.Cleanup(up.Close)
	yaml := fmt.Sprintf(`upstreams:
  - name: openai-key1
    base_url: %[1]s/v1
    api_key_env: KEY1
  - name: openai-key2
    base_url: %[1]s/v1
    api_key_env: KEY2
`, up.URL)
	g := startGateway(t, yaml, map[string]string{"KEY1": "sk-upstream-one", "KEY2": "sk-upstream-two"})
	const n = 200
	for range n {
		if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != 200 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	one, two := seen["Bearer sk-upstream-one"], seen["Bearer sk-upstream-two"]
	if one+two != n || one < n/4 || two < n/4 {
		t.Errorf("keys seen upstream: %v; want both keys used, %d requests in all", seen, n)
	}
}

// TestTotalTimeoutPerUpstream: timeouts.total bounds the whole request,
// stream included; past it a stream ends with an error event, never [DONE].
func TestTotalTimeoutPerUpstream(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 40, TokenInterval: 50 * time.Millisecond})
	g := startGateway(t, "upstreams:\n"+upstreamYAML(t, "mock", m, testModels, "timeouts: {total: 400ms}", noCircuit), nil)
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), mock.FaultHeader, "ttft=2s")
	checkError(t, a, http.StatusGatewayTimeout, "request_timeout", "timeouts.total")
	status, body := rawStream(t, g)
	if status != 200 || !strings.Contains(body, "data: ") || !strings.Contains(body, "event: error") || strings.Contains(body, "[DONE]") {
		t.Errorf("a stream longer than timeouts.total: %d\n%s\nwant some chunks, then an error event, no [DONE]", status, body)
	}
}
