// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// Per-key limits: requests per minute (rpm) and tokens per minute (tpm).
//
// Before a request goes upstream, relay takes one request from its key's
// rpm and an estimate of its tokens from its tpm (estimateTokens). After
// the answer, the charge is settled: the estimate is replaced by the usage
// the upstream reported (the "usage" object of a JSON answer, read from its
// last usageTail bytes as they are relayed; the usage chunk of a stream,
// seen by sse.Copy's OnEvent), refunded when no tokens were spent (an
// error, no answer), or kept when the answer succeeded but said nothing of
// its usage. docs/keys.md tells users how exact this is.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/dashboard"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/ratelimit"
)

// defaultCompletionEstimate is the completion a request reserves from its
// key's tpm when it sets no max_tokens (nor max_completion_tokens,
// max_output_tokens): a typical chat answer is a few hundred tokens, and
// reserving rather more keeps a burst of concurrent requests from
// overshooting the limit by much. What was not used is refunded when the
// answer ends.
const defaultCompletionEstimate = 1024

// maxChoices bounds the "n" that multiplies a request's completion
// estimate.
const maxChoices = 128

// usageTail is how much of the end of a non-streamed answer is kept to read
// its usage from: every OpenAI-compatible API puts "usage" after the
// content, near the end, so a JSON answer of any size costs at most twice
// this much memory, and nothing is held back from the client.
const usageTail = 64 << 10

// charge is what one request took from its key's limits, and what is
// needed to settle it when the answer has been relayed.
type charge struct {
	g        *Gateway
	key      string      // the key's name; "" in open mode
	cfg      *config.Key // the key; nil in open mode
	tpm      bool        // the key has a tokens-per-minute limit
	estimate int         // tokens reserved from it
	local    bool        // taken from this instance's own buckets: Redis could not be asked
	model    string      // the model the request was routed to
	w        *respWriter // the answer's writer, once watched
	usage    *usageReader
	// strip: the gateway asked for the stream's usage chunk in the
	// client's place (streamusage.go), so it is dropped from the relay.
	strip bool
	rec   *accessLog // gets the usage and cost, for the log and the ledger
}

// limit checks key's budget, then takes one request from its rpm and the
// request's estimated tokens from its tpm, both in one call to the state
// (one round trip with Redis). It returns the charge to settle once the
// answer is relayed (c, which it fills in; nil if there is nothing to
// settle), or the error to
// answer: a 429, or a 503 when the state cannot decide and is configured
// to fail closed. By default it fails open: this instance's own buckets
// decide until Redis answers again. The answer's header h gets the key's
// rpm and tpm state, allowed or refused (setRateHeaders).
func (g *Gateway) limit(ctx context.Context, c *charge, key *config.Key, ep *endpoint, body []byte, h http.Header) (*charge, *apiError) {
	*c = charge{g: g, usage: ep.usage}
	if key != nil {
		c.key, c.cfg, c.tpm = key.Name, key, key.TPM > 0
	}
	if key == nil || key.RPM <= 0 && key.TPM <= 0 && !key.HasBudget() {
		return c, nil // settled only for metrics and the usage ledger
	}
	if key.HasBudget() {
		if aerr := g.checkBudget(ctx, key); aerr != nil {
			return nil, aerr
		}
	}
	var takes [2]ratelimit.Take
	n, est := 0, 0
	if key.RPM > 0 {
		takes[n] = ratelimit.Take{Key: rpmPrefix + key.Name, N: 1}
		n++
	}
	if c.tpm {
		if est = estimateTokens(ep.class, body); est > 0 {
			takes[n] = ratelimit.Take{Key: tpmPrefix + key.Name, N: est}
			n++
		}
	}
	if n == 0 {
		return c, nil
	}
	var each [2]ratelimit.Decision
	refused, err := g.state.lim.AllowEach(ctx, takes[:n], each[:n])
	if err != nil {
		if aerr := g.stateFailure(key.Name, "limit", err); aerr != nil || g.state.local == nil {
			return c, aerr // nothing taken, nothing to settle
		}
		if refused, err = g.state.local.AllowEach(ctx, takes[:n], each[:n]); err != nil {
			return c, nil
		}
		c.local = true
	} else {
		g.stateOK()
	}
	for i, t := range takes[:n] {
		setRateHeaders(h, strings.HasPrefix(t.Key, rpmPrefix), each[i])
	}
	if refused >= 0 {
		if strings.HasPrefix(takes[refused].Key, rpmPrefix) {
			return nil, g.refuse(key.Name, "rpm", each[refused], 1)
		}
		return nil, g.refuse(key.Name, "tpm", each[refused], est)
	}
	if c.tpm {
		c.estimate = est
	}
	return c, nil
}

// setRateHeaders sets OpenAI's rate-limit headers of a key's rpm
// (requests) or tpm bucket from its state d: x-ratelimit-limit-requests
// (the rpm), x-ratelimit-remaining-requests (what the bucket holds now)
// and x-ratelimit-reset-requests (how long until it is full again, as
// OpenAI writes it: "1s", "6m0s", "20ms"; rounded up to the millisecond),
// or the same three with -tokens.
func setRateHeaders(h http.Header, requests bool, d ratelimit.Decision) {
	kind := "Tokens"
	if requests {
		kind = "Requests"
	}
	reset := (d.Reset + time.Millisecond - 1).Truncate(time.Millisecond)
	h.Set("X-Ratelimit-Limit-"+kind, strconv.Itoa(d.Limit))
	h.Set("X-Ratelimit-Remaining-"+kind, strconv.Itoa(d.Remaining))
	h.Set("X-Ratelimit-Reset-"+kind, reset.String())
}

// keyLimits is the dashboard's view of the keys' limits: every key with
// an rpm or tpm, and what its buckets hold now, read in one call to the
// state (takes of nothing: AllowEach then only reports).
func (g *Gateway) keyLimits(ctx context.Context) ([]dashboard.KeyLimit, error) {
	var limited []config.Key
	var takes []ratelimit.Take
	for _, k := range g.cfg.Keys {
		if k.RPM > 0 {
			takes = append(takes, ratelimit.Take{Key: rpmPrefix + k.Name})
		}
		if k.TPM > 0 {
			takes = append(takes, ratelimit.Take{Key: tpmPrefix + k.Name})
		}
		if k.RPM > 0 || k.TPM > 0 {
			limited = append(limited, k)
		}
	}
	each := make([]ratelimit.Decision, len(takes))
	if len(takes) > 0 {
		if _, err := g.state.lim.AllowEach(ctx, takes, each); err != nil {
			return nil, err
		}
	}
	use := func(d ratelimit.Decision) *dashboard.LimitUse {
		return &dashboard.LimitUse{Limit: d.Limit, Remaining: d.Remaining, Used: max(d.Limit-d.Remaining, 0), ResetSeconds: d.Reset.Seconds()}
	}
	out := make([]dashboard.KeyLimit, len(limited))
	i := 0 // the next take's index, in the order of the loop above
	for j, k := range limited {
		out[j].Name = k.Name
		if k.RPM > 0 {
			out[j].RPM, i = use(each[i]), i+1
		}
		if k.TPM > 0 {
			out[j].TPM, i = use(each[i]), i+1
		}
	}
	return out, nil
}

// isRateHeader reports whether the canonical header name k is one of the
// x-ratelimit-* family.
func isRateHeader(k string) bool { return strings.HasPrefix(k, "X-Ratelimit-") }

// refuse is the 429 for a request that limit (rpm or tpm) refused; n is
// what it asked for.
func (g *Gateway) refuse(name, limit string, d ratelimit.Decision, n int) *apiError {
	if g.metrics != nil {
		g.metrics.RateLimited(name, limit)
	}
	secs := max(1, int((d.RetryAfter+999_999_999)/1e9))
	var msg string
	if limit == "rpm" {
		msg = fmt.Sprintf("rate limit reached for key %s: %d requests per minute (rpm); retry in %d s", quote(name), d.Limit, secs)
	} else {
		msg = fmt.Sprintf("rate limit reached for key %s: %d tokens per minute (tpm); this request needs about %d "+
			"(estimated from its size and max_tokens), %d are left; retry in %d s", quote(name), d.Limit, n, d.Remaining, secs)
		if n > d.Limit {
			msg += " (the estimate exceeds the whole limit: such a request waits for the key's full minute; a lower max_tokens helps)"
		}
	}
	return &apiError{status: http.StatusTooManyRequests, typ: openai.TypeRateLimit, code: "rate_limit_exceeded",
		message: msg, retryAfter: secs}
}

// adjust corrects what the key took from its tpm; a failure is logged,
// not returned: the answer is already on its way.
func (g *Gateway) adjust(ctx context.Context, name string, delta int) {
	if err := g.state.adjust(ctx, tpmPrefix+name, delta); err != nil {
		_ = g.stateFailure(name, "adjust", err)
	}
}

// estimateTokens is what a request of a route of class reserves from its
// key's tpm before it is sent: its prompt, estimated at one token per 4
// bytes of body (JSON syntax included, so rather more than less), plus,
// for a generation, its completion: max_completion_tokens, max_tokens or
// max_output_tokens when the request caps it, else
// defaultCompletionEstimate, times "n". Other routes reserve nothing;
// usage they report is still charged.
func estimateTokens(class trafficClass, body []byte) int {
	switch class {
	case classEmbed:
		return len(body) / 4
	case classGenerate:
	default:
		return 0
	}
	// The top level only, read in place: the body was checked as JSON,
	// and its messages need not be decoded for four integers. A field
	// that is not an integer keeps the default.
	var caps [3]int // max_completion_tokens, max_tokens, max_output_tokens
	n := 0
	topLevel(body, func(key, v []byte) {
		i := -1
		switch string(key) {
		case "max_completion_tokens":
			i = 0
		case "max_tokens":
			i = 1
		case "max_output_tokens":
			i = 2
		case "n":
		default:
			return
		}
		x, end, ok := parseInt(v, 0)
		if !ok || end != len(v) {
			return
		}
		if i < 0 {
			n = x
		} else {
			caps[i] = x
		}
	})
	completion := defaultCompletionEstimate
	for _, v := range caps {
		if v > 0 {
			completion = v
			break
		}
	}
	if n > 1 {
		completion *= min(n, maxChoices)
	}
	return len(body)/4 + min(completion, ratelimit.MaxTokens)
}

// watch makes w, which relays the answer of model, pick the usage out of
// it.
func (c *charge) watch(w *respWriter, model string) {
	if c == nil {
		return
	}
	c.model, c.w = model, w
	w.watch(c.usage, c.strip, c.cfg != nil && (c.cfg.RPM > 0 || c.cfg.TPM > 0))
}

// settle reconciles the key's tpm with the answer's usage, and counts the
// tokens in metrics. It runs when the request ends, however it ends, and
// does so even if the client has gone.
func (c *charge) settle(ctx context.Context) {
	if c == nil {
		return
	}
	var u openai.Usage
	known, answered := false, false
	if c.w != nil {
		c.w.done()
		u, known, answered = c.w.usage, c.w.known, c.w.ok()
	}
	delta := 0
	if c.tpm {
		switch {
		case known:
			delta = u.TotalTokens - c.estimate
		case !answered:
			delta = -c.estimate // an error or no answer: nothing spent
		}
	}
	cost := 0.0
	if known {
		cost = c.g.cost(c.model, u)
		if c.rec != nil {
			c.rec.usage, c.rec.cost = u, cost
		}
	}
	if delta != 0 || cost > 0 {
		// The state is written to even if the client has gone; a context
		// only when it is (one allocation).
		ctx = context.WithoutCancel(ctx)
	}
	switch {
	case delta != 0 && c.local:
		_ = c.g.state.local.Adjust(ctx, tpmPrefix+c.key, delta)
	case delta != 0:
		c.g.adjust(ctx, c.key, delta)
	}
	c.g.addSpend(ctx, c.cfg, cost)
	if known && c.g.metrics != nil {
		c.g.metrics.Tokens(c.key, c.model, u.PromptTokens, u.CompletionTokens)
		c.g.metrics.Cost(c.key, c.model, cost)
	}
}
