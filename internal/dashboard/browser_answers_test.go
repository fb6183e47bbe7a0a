// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/warmgate/warmgate/internal/mock"
)

// status sends one request through the gateway with key ("" for none) and
// returns the status it got.
func (g *gw) status(t *testing.T, path, body, key string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestDashboardShowsWhatClientsGot: the page shows what API clients got by
// status class, the gateway's own refusals (401, 429, 503) included, and a
// card whose circuit is open as unhealthy, not as a green reuse figure; each
// card names its protocol.
func TestDashboardShowsWhatClientsGot(t *testing.T) {
	const adminKey, slowKey = "sk-admin-dashboard-test", "sk-slow-dashboard-test"
	chrome := chromium(t)
	alpha := startMock(t, mock.Options{})
	broken := startMock(t, mock.Options{Fault: "status=500"})
	g := startGateway(t, "upstreams:\n"+
		upstreamYAML(t, "alpha", alpha, `["gpt-*"]`)+
		upstreamYAML(t, "broken", broken, `["text-embedding-*"]`)+
		"    retry: {attempts: 1}\n    circuit: {failures: 1, cooldown: 10m}\n"+
		"keys:\n  - {name: team, key_env: CLIENT_KEY}\n  - {name: slow, key_env: SLOW_KEY, rpm: 1}\n"+
		"admin: {key_env: ADMIN_KEY}\n",
		map[string]string{"CLIENT_KEY": clientKey, "SLOW_KEY": slowKey, "ADMIN_KEY": adminKey})

	const chat = `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`
	const embed = `{"model":"text-embedding-3-small","input":"hi"}`
	// 12 chats on alpha: 11 of them reuse its connection.
	want := []struct {
		path, body, key string
		status          int
	}{
		{"/v1/chat/completions", chat, "", 401},
		{"/v1/chat/completions", chat, "wrong-key", 401},
		{"/v1/chat/completions", chat, slowKey, 200},
		{"/v1/chat/completions", chat, slowKey, 429},
		{"/v1/embeddings", embed, clientKey, 500}, // the upstream's, then broken's circuit opens
		{"/v1/embeddings", embed, clientKey, 503}, // the gateway's: no healthy upstream
	}
	for _, w := range want {
		if got := g.status(t, w.path, w.body, w.key); got != w.status {
			t.Fatalf("POST %s with key %q: %d, want %d", w.path, w.key, got, w.status)
		}
	}
	for range 11 {
		if got := g.status(t, "/v1/chat/completions", chat, clientKey); got != 200 {
			t.Fatalf("chat: %d", got)
		}
	}

	b := startBrowser(t, chrome)
	b.do(t, "opening the dashboard with the admin key",
		chromedp.Navigate(g.base+"/dashboard"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`sessionStorage.setItem('warmgate.adminKey', %s)`, jsString(adminKey))),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#answers`)))

	classNum := func(cls string) string {
		return fmt.Sprintf(`(document.querySelector('[data-class=%q] .num') || {}).textContent`, cls)
	}
	b.waitFor(t, "the status classes count what clients got",
		classNum("2xx")+` === '12' && `+classNum("4xx")+` === '2' && `+classNum("429")+` === '1' && `+classNum("5xx")+` === '2'`)
	if n := eval[int](t, b, `document.querySelectorAll('#answer-classes [data-class] svg').length`); n != 4 {
		t.Errorf("%d status class sparklines, want 4", n)
	}

	// broken's circuit is open: its card says so, in red, and its reuse
	// figure is not drawn as healthy.
	b.waitFor(t, "broken's card is unhealthy", `document.querySelector('[data-upstream="broken"]').dataset.health === 'unhealthy'`)
	card := `document.querySelector('[data-upstream="broken"]')`
	if cls := eval[string](t, b, card+`.className`); !strings.Contains(cls, "unhealthy") {
		t.Errorf("broken's card class %q, want unhealthy", cls)
	}
	if cls := eval[string](t, b, card+`.querySelector('.reuse-value').className`); strings.Contains(cls, "good") {
		t.Errorf("broken's reuse figure is drawn %q: an open circuit must not look healthy", cls)
	}
	if txt := eval[string](t, b, card+`.querySelector('.alert').innerText`); !strings.Contains(txt, "circuit is open") {
		t.Errorf("broken's card alert = %q, want it to say the circuit is open", txt)
	}
	if colour := eval[string](t, b, `getComputedStyle(`+card+`).borderTopColor`); colour == eval[string](t, b, `getComputedStyle(document.querySelector('[data-upstream="alpha"]')).borderTopColor`) {
		t.Errorf("broken's card border %s is alpha's: the unhealthy card does not stand out", colour)
	}

	// alpha is healthy, green, and says its protocol; the labels say what
	// the figures are.
	b.waitFor(t, "alpha's reuse is green", `document.querySelector('[data-upstream="alpha"] .reuse-value').className.includes('good')`)
	alphaTxt := eval[string](t, b, `document.querySelector('[data-upstream="alpha"]').innerText`)
	for _, s := range []string{"http/1.1", "attempts / s", "active connection"} {
		if !strings.Contains(alphaTxt, s) {
			t.Errorf("alpha's card does not say %q:\n%s", s, alphaTxt)
		}
	}
	if h := eval[string](t, b, `document.querySelector('[data-upstream="alpha"]').dataset.health`); h != "healthy" {
		t.Errorf("alpha's health = %q, want healthy", h)
	}
	checkScreenshot(t, b, "dashboard-answers.png")
	// The one console entry allowed: the 401 of the first load, before the
	// key was set.
	if msgs := b.messages(func(m consoleMsg) bool {
		return m.source == "network" && strings.Contains(m.text, "401") && strings.Contains(m.text, "/api/pools")
	}); len(msgs) > 0 {
		t.Errorf("the page wrote %d console message(s), want none:\n%v", len(msgs), msgs)
	}
}
