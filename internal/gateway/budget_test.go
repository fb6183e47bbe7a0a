// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/internal/redistest"
)

// budgetYAML prices every gpt model at $1,000 per million tokens, so that
// one mock answer costs a few cents.
const budgetPrices = "prices: {\"gpt-*\": {prompt: 1000, completion: 1000}}\n"

// TestBudgets: a key that has spent its daily (or monthly) budget is
// refused with 429 insufficient_quota until the budget resets; the request
// that crosses the budget completes; other keys are not affected.
func TestBudgets(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 16})
	body := chatBody("gpt-4.1-mini", false)
	a := mockDirect(t, m, http.MethodPost, "/v1/chat/completions", body)
	p, c, _ := answerUsage(t, a)
	cost := float64(p+c) * 1000 / 1e6
	env := map[string]string{"KD": "sk-daily-0123456789", "KM": "sk-monthly-0123456789", "KF": "sk-free-0123456789", "ADMIN_KEY": limitEnv["ADMIN_KEY"]}
	yaml := defaultYAML(t, m) + budgetPrices + "admin: {key_env: ADMIN_KEY}\nkeys:\n" +
		fmt.Sprintf("  - {name: daily, key_env: KD, budget_daily: %v}\n", 2.5*cost) +
		fmt.Sprintf("  - {name: monthly, key_env: KM, budget_monthly: %v}\n", 2.5*cost) +
		"  - {name: free, key_env: KF}\n"
	g := startGateway(t, yaml, env)
	for _, c := range []struct{ key, env, period, word string }{{"daily", "KD", "day", "daily"}, {"monthly", "KM", "month", "monthly"}} {
		t.Run(c.key, func(t *testing.T) {
			auth := []string{"Authorization", "Bearer " + env[c.env]}
			n, refused := untilRefused(t, g, body, 10, auth...)
			if n != 3 {
				t.Errorf("%d requests allowed, want 3 (budget 2.5 requests: the third crosses it and completes)", n)
			}
			checkError(t, refused, http.StatusTooManyRequests, "budget_exceeded", c.word+" budget", "resets at")
			if !strings.Contains(string(refused.body), `"type":"insufficient_quota"`) {
				t.Errorf("error type is not insufficient_quota: %s", refused.body)
			}
			secs, _ := strconv.Atoi(refused.header.Get("Retry-After"))
			limit := 86400
			if c.period == "month" {
				limit = 31 * 86400
			}
			if secs < 1 || secs > limit {
				t.Errorf("Retry-After = %q, want until the %s resets", refused.header.Get("Retry-After"), c.period)
			}
			if v := scrape(t, g, adminHdr()...)("warmgate_budget_exceeded_total", "key", c.key, "period", c.period); v != 1 {
				t.Errorf("warmgate_budget_exceeded_total{key=%q,period=%q} = %v, want 1", c.key, c.period, v)
			}
		})
	}
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", body, "Authorization", "Bearer "+env["KF"]); a.status != http.StatusOK {
		t.Errorf("a key without a budget: %d %s", a.status, a.body)
	}
}

// TestBudgetSharedThroughRedis: what a key spends through one instance
// counts on the other: the other refuses the key at its first request.
func TestBudgetSharedThroughRedis(t *testing.T) {
	r := redistest.Start(t)
	m := startMock(t, mock.Options{Tokens: 16})
	body := chatBody("gpt-4.1-mini", false)
	p, c, _ := answerUsage(t, mockDirect(t, m, http.MethodPost, "/v1/chat/completions", body))
	cost := float64(p+c) * 1000 / 1e6
	env := map[string]string{"KD": "sk-daily-0123456789"}
	yaml := defaultYAML(t, m) + budgetPrices + fmt.Sprintf("redis: {url: %q}\n", r.URL()) +
		fmt.Sprintf("keys:\n  - {name: daily, key_env: KD, budget_daily: %v}\n", 1.5*cost)
	a, b := startGateway(t, yaml, env), startGateway(t, yaml, env)
	auth := []string{"Authorization", "Bearer " + env["KD"]}
	for i := range 2 { // the second crosses the budget
		if ans := a.do(t, http.MethodPost, "/v1/chat/completions", body, auth...); ans.status != http.StatusOK {
			t.Fatalf("request %d on instance A: %d %s", i+1, ans.status, ans.body)
		}
	}
	// B has never served the key: its first request is refused, once B's
	// spend cache (1s) has not kept an older total.
	time.Sleep(1100 * time.Millisecond)
	ans := b.do(t, http.MethodPost, "/v1/chat/completions", body, auth...)
	checkError(t, ans, http.StatusTooManyRequests, "budget_exceeded")
}
