package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestBaseURLPasswordNotShown: credentials in a base_url (a password, or a
// user name alone, which some APIs take as the key) appear nowhere the
// gateway shows: /api/pools (the dashboard's data), /metrics, /readyz,
// /v1/models, error answers and the log.
func TestBaseURLPasswordNotShown(t *testing.T) {
	m := startMock(t, mock.Options{})
	dead := closedAddr(t)
	mockHost := strings.TrimPrefix(m.URL(), "http://")
	yaml := fmt.Sprintf("upstreams:\n"+
		"  - name: live\n    base_url: http://user:urlsecret1@%s/v1\n    models: [\"gpt-*\"]\n    retry: {attempts: 1}\n"+
		"  - name: dead\n    base_url: http://tok-urlsecret2@%s/v1\n    models: [\"dead-*\"]\n    retry: {attempts: 1}\n",
		mockHost, dead)
	g := startGateway(t, yaml, nil)
	var shown strings.Builder
	for _, r := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false), 200},
		{"POST", "/v1/chat/completions", chatBody("dead-model", false), http.StatusBadGateway},
		{"POST", "/v1/chat/completions", chatBody("dead-model", true), http.StatusBadGateway},
		{"GET", "/api/pools", "", 200},
		{"GET", "/metrics", "", 200},
		{"GET", "/readyz", "", 0},
		{"GET", "/v1/models", "", 200},
	} {
		a := g.do(t, r.method, r.path, r.body)
		if r.status != 0 && a.status != r.status {
			t.Errorf("%s %s: status %d, want %d: %s", r.method, r.path, a.status, r.status, a.body)
		}
		fmt.Fprintf(&shown, "%s %s -> %d %v\n%s\n", r.method, r.path, a.status, a.header, a.body)
	}
	pools := g.do(t, "GET", "/api/pools", "").body
	for _, want := range []string{`"base_url":"http://user:xxxxx@` + mockHost + `/v1"`, `"base_url":"http://xxxxx@` + dead + `/v1"`} {
		if !strings.Contains(string(pools), want) {
			t.Errorf("/api/pools lacks %s: %s", want, pools)
		}
	}
	for _, st := range g.Pool.Stats() {
		fmt.Fprintf(&shown, "%+v\n", st)
	}
	shown.WriteString(g.logs.String())
	for _, secret := range []string{"urlsecret1", "urlsecret2"} {
		if strings.Contains(shown.String(), secret) {
			t.Errorf("%q is shown:\n%s", secret, shown.String())
		}
	}
}
