// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// Spend budgets per key (budget_daily, budget_monthly, in US dollars at the
// config's prices), and what the gateway does when the state that keeps
// limits and spend cannot be reached.

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/openai"
)

// stateLogEvery bounds the warning lines about a failing state: with Redis
// down, every request fails the same way.
const stateLogEvery = 5 * time.Second

// checkBudget refuses a request of a key that has spent its daily or
// monthly budget: 429 insufficient_quota, with Retry-After until the
// budget resets (midnight UTC, the first of the month). The request that
// crosses the budget was let through: spend is known only at its end.
func (g *Gateway) checkBudget(ctx context.Context, key *config.Key) *apiError {
	day, month, err := g.state.spend.Spent(ctx, key.Name)
	if err != nil {
		return g.stateFailure(key.Name, "spend", err)
	}
	now := time.Now().UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	switch {
	case key.BudgetDaily > 0 && day >= key.BudgetDaily:
		return g.overBudget(key.Name, "day", "daily", day, key.BudgetDaily, midnight, now)
	case key.BudgetMonthly > 0 && month >= key.BudgetMonthly:
		next := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		return g.overBudget(key.Name, "month", "monthly", month, key.BudgetMonthly, next, now)
	}
	return nil
}

func (g *Gateway) overBudget(name, period, adj string, spent, budget float64, reset, now time.Time) *apiError {
	if g.metrics != nil {
		g.metrics.BudgetExceeded(name, period)
	}
	secs := max(1, int(reset.Sub(now).Round(time.Second)/time.Second))
	return &apiError{status: http.StatusTooManyRequests, typ: "insufficient_quota", code: "budget_exceeded",
		message: fmt.Sprintf("key %s has spent $%.4f of its %s budget of $%.2f; it resets at %s",
			quote(name), spent, adj, budget, reset.Format("2006-01-02 15:04 UTC")),
		retryAfter: secs}
}

// cost is what usage of model costs at the config's prices, in US
// dollars; 0 for a model without a price.
func (g *Gateway) cost(model string, u openai.Usage) float64 {
	p, ok := g.cfg.Price(model)
	if !ok {
		return 0
	}
	return (float64(u.PromptTokens)*p.Prompt + float64(u.CompletionTokens)*p.Completion) / 1e6
}

// addSpend adds cost to the key's spend when it has a budget.
func (g *Gateway) addSpend(ctx context.Context, key *config.Key, cost float64) {
	if key == nil || !key.HasBudget() || cost <= 0 {
		return
	}
	if err := g.state.addSpend(ctx, key.Name, cost); err != nil {
		_ = g.stateFailure(key.Name, "spend", err)
	}
}

// stateFailure handles a call to the state that failed, or was not made
// during the backoff after a failure (state.go): counted, logged (at most
// every stateLogEvery); the state itself has recorded it for /readyz. It
// returns the 503 to answer when the state fails closed, else nil: the
// request goes on.
func (g *Gateway) stateFailure(name, op string, err error) *apiError {
	st := g.state
	if g.metrics != nil {
		g.metrics.StateError(st.backend, op)
	}
	now := time.Now().UnixNano()
	if last := st.logged.Load(); now-last >= int64(stateLogEvery) && st.logged.CompareAndSwap(last, now) {
		action := "each instance keeps rpm and tpm with its own buckets and lets budgets through (fail open; " +
			"redis.fail_closed: true refuses requests of limited keys instead); Redis is asked again after a backoff of up to 5s"
		if st.failClosed {
			action = "refusing requests of limited keys with 503 (redis.fail_closed: true)"
		}
		g.log.Error("rate-limit state unavailable: "+action, "backend", st.backend, "op", op, "key", name,
			"error", err.Error(), "failures", st.failures.Swap(0)+1)
	} else {
		st.failures.Add(1)
	}
	if !st.failClosed {
		return nil
	}
	return &apiError{status: http.StatusServiceUnavailable, typ: openai.TypeServer, code: "limits_unavailable",
		message:    "the gateway cannot check this key's limits right now (its shared state is unreachable); retry shortly",
		retryAfter: 1}
}

// stateOK marks the state as answering again.
func (g *Gateway) stateOK() {
	if g.state.backend == "memory" {
		return
	}
	if g.metrics != nil {
		g.metrics.StateOK(g.state.backend)
	}
	if g.state.down.Load() {
		g.state.succeeded()
	}
}
