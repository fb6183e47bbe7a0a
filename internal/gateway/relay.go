// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// The request path of an API request, in three steps:
//
//   - admit: the client's key, its body and envelope (model, stream), the
//     models to try, the deadline, the key's limits;
//   - send: through the pool to the upstreams of the model, then of its
//     fallbacks, under heartbeats for a stream;
//   - respond: the answer relayed to the client (respond.go), its usage
//     read and the key's charge settled.
//
// The exchange carries one request through them. Translation between
// dialects plugs in between: the request per upstream kind where send
// makes each model's body, the answer at the start of respond.

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/internal/tracing"
	"github.com/warmgate/warmgate/openai"
)

// exchange is one API request on its way through the gateway.
type exchange struct {
	ep  *endpoint
	w   *respWriter
	r   *http.Request // the client's: its context says whether the client is still there
	ur  *http.Request // r under the request's deadline: the upstream side
	rec *accessLog

	// Set by admit.
	key    *config.Key // nil in open mode
	body   []byte
	env    envelope
	models []string // the model asked for (through its alias), then its fallbacks; {""}: no model
	ch     *charge
	cancel context.CancelFunc // the deadline's

	// Set by send.
	hb    *heartbeat
	model string         // the model whose upstreams answered
	xl    *translation   // how their answer is translated; nil: relayed as is
	resp  *http.Response // their answer, or
	err   error          // why there is none

	// Storage, so that a request allocates them with the exchange: of ch,
	// and of models when the model has no fallbacks.
	chv charge
	one [1]string
}

// relay serves a request of the relayed route x.ep (x has its ep, w, r,
// ur and rec set): admit, send, respond.
func (g *Gateway) relay(x *exchange) {
	x.rec.api = true
	defer x.end()
	if aerr := g.admit(x); aerr != nil {
		x.ep.front.writeError(x.w, aerr)
		return
	}
	g.send(x)
	g.respond(x)
}

// end releases what the exchange holds, however the request ended:
// heartbeats stop, the key's charge is settled (even if the client has
// gone), the deadline's context is released.
func (x *exchange) end() {
	x.hb.stop()
	x.ch.settle(x.r.Context())
	if x.cancel != nil {
		x.cancel()
	}
}

// admit reads and checks the request: the client's key, the body and its
// envelope, the models to try, the request's deadline, and the key's
// limits (x.ch, the charge to settle). An error is the answer to give.
func (g *Gateway) admit(x *exchange) *apiError {
	r, rec, routed := x.r, x.rec, x.ep.routed
	key, aerr := g.authenticate(r, x.ep.front)
	if aerr != nil {
		return aerr
	}
	x.key = key
	if key != nil {
		rec.key = key.Name
	}
	hdrTimeout, aerr := requestTimeout(r)
	if aerr != nil {
		return aerr
	}

	// A body that is neither JSON nor a form names no model: a key whose
	// paths refuse the request (below) is refused before it is read.
	if !routed && key != nil && bodyKind(r.Header.Get("Content-Type")) == bodyOther && !key.AllowsPath(r.URL.Path) {
		return pathNotAllowed(key, r)
	}
	if x.body, aerr = g.readBody(x.w, r); aerr != nil {
		return aerr
	}
	var form bool
	if x.env, form, aerr = bodyEnvelope(r, x.body, routed, strictBody(key)); aerr != nil {
		return aerr
	}
	env := &x.env.Envelope
	if routed && env.Model == "" {
		return &apiError{status: http.StatusBadRequest, typ: openai.TypeInvalidRequest, code: "missing_model",
			message: "request body has no \"model\": name the model to use, e.g. {\"model\":\"gpt-4.1-mini\", ...}"}
	}
	if aerr := queryModel(key, r.URL.RawQuery); aerr != nil {
		return aerr
	}
	rec.model, rec.stream = env.Model, env.Stream
	if env.Model == "" && key != nil && !key.AllowsPath(r.URL.Path) {
		return pathNotAllowed(key, r)
	}

	// The models to try: the requested one (through its alias), then its
	// fallbacks; a body without a model goes to every upstream.
	x.models = noModel
	if env.Model != "" {
		if !keyAllows(key, env.Model) {
			rec.unrouted = true
			return &apiError{status: http.StatusForbidden, typ: openai.TypePermission, code: "model_not_allowed",
				message: "this API key may not use model " + quote(env.Model)}
		}
		// Fallbacks the key may use and some upstream serves: send then
		// always ends on a model it can send. A form's model cannot be
		// rewritten: it goes as named.
		if form {
			x.one[0] = env.Model
			x.models = x.one[:]
		} else {
			x.models = g.chain(x.one[:0], env.Model, func(m string) bool { return keyAllows(key, m) && g.view(m) != nil })
		}
		if g.view(x.models[0]) == nil {
			rec.unrouted = true
			return &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "model_not_found",
				message: "the model " + quote(env.Model) + " is not served by this gateway (GET /v1/models lists the models it routes)"}
		}
	}

	// The whole request's deadline: X-Warmgate-Timeout, else the model's
	// upstreams' timeouts.total. It bounds the upstream side (ur); checks of
	// whether the client is still there keep using r.
	if d := cmp.Or(hdrTimeout, g.totalTimeout(x.models)); d > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		x.ur, x.cancel = r.WithContext(ctx), cancel
	}

	// The key's rpm and tpm (limit.go), settled when the answer is relayed.
	ch, aerr := g.limit(r.Context(), &x.chv, key, x.ep, x.body, x.w.Header())
	if aerr != nil {
		return aerr
	}
	if ch != nil {
		ch.rec = rec
	}
	x.ch = ch
	if ch != nil && x.ep.askUsage && wantsUsageOption(env) {
		if b, ok := withStreamUsageAt(x.body, x.env.optSpans); ok {
			x.body, ch.strip = b, true
		}
	}
	return nil
}

// noModel is the models list of a request that names none: it goes to
// every upstream.
var noModel = []string{""}

// send sends the request through the pool, to the upstreams of each model
// in turn while all of the previous model's failed, and keeps the last
// answer (or error) in x. A model's upstreams are tried as groups: those
// of the client's dialect, then those of the other, the request translated
// (translation.go). A stream's client gets heartbeats meanwhile.
func (g *Gateway) send(x *exchange) {
	if x.env.Stream {
		x.hb = startHeartbeat(x.w, g.cfg.Server.Heartbeat, x.ep.front.heartbeat)
	}
	var groups [maxGroups]attempt // no allocation for the groups of a request
	for i, model := range x.models {
		b := x.body
		groups[0] = attempt{view: g.anyModel}
		tries := groups[:1]
		if model == "" && g.anyModel == nil {
			x.err = &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "route_not_supported",
				message: "no upstream serves " + clip(x.r.URL.Path, maxLogged) + ": upstreams of kind bedrock take only " +
					"/v1/chat/completions and /v1/messages naming one of their models"}
			return
		}
		if model != "" {
			if tries = g.attempts(x.ep, model, &groups); len(tries) == 0 {
				x.model, x.err = model, g.cannotServe(x.ep, model)
				if i < len(x.models)-1 {
					continue
				}
				return
			}
			if model != x.env.Model {
				var err error
				if b, err = withModel(x.body, model); err != nil {
					x.model, x.err = model, errBadRequest("invalid_json", "cannot route the request: "+err.Error())
					return
				}
			}
		}
		// Each group's body; a group whose translation refuses the request
		// is left out, and the request fails with the first refusal only
		// when no group is left.
		var bodies [maxGroups][]byte
		n := 0
		var refused error
		for _, a := range tries {
			ab, err := translateRequest(a, model, b)
			if err != nil {
				refused = cmp.Or(refused, err)
				continue
			}
			if n < len(bodies) {
				tries[n], bodies[n] = a, ab
				n++
			}
		}
		if tries = tries[:n]; n == 0 {
			x.model, x.err = model, refused
			return
		}
		for j, a := range tries {
			resp, err := a.view.Do(g.outbound(x, model, bodies[j], a))
			if resp != nil {
				// The answer's Request is the request sent (its body,
				// headers and URL), which nothing reads again: a stream
				// would hold it for its whole life.
				resp.Request = nil
			}
			last := i == len(x.models)-1 && j == len(tries)-1
			if !last && failedAll(resp, err) {
				if resp != nil {
					resp.Body.Close()
				}
				if j < len(tries)-1 {
					g.log.Info("every upstream of the model's API failed; trying its upstreams of another API, translated",
						"request_id", x.rec.id, "model", clip(model, maxLogged))
					continue
				}
				g.log.Info("every upstream of the model failed; trying its fallback",
					"request_id", x.rec.id, "model", clip(model, maxLogged), "fallback", x.models[i+1])
				break
			}
			x.rec.routed, x.rec.fellBack = model, i > 0 || j > 0
			x.rec.translated = a.xl != nil
			x.model, x.resp, x.err, x.xl = model, resp, err, a.xl
			if x.env.Stream {
				x.body = nil // a stream's answer never reads the request again: its bytes go now, not when the stream ends
			}
			return
		}
	}
}

// outbound builds the request to send upstream for model: body b (never
// re-encoded), the path under /v1 (or the translation's target), the
// client's headers minus its credentials, the request id; its context
// carries model when a kind's URL depends on it (provider.WithModel).
func (g *Gateway) outbound(x *exchange, model string, b []byte, a attempt) *http.Request {
	r := x.ur
	ctx := r.Context()
	if model != "" && g.withModel {
		ctx = provider.WithModel(ctx, model)
	}
	// A *bytes.Reader body: net/http then writes the headers and the body
	// in one write, not the headers first, as for a reader it does not
	// know to be in memory.
	out, _ := http.NewRequestWithContext(ctx, r.Method, "/", bytes.NewReader(b))
	out.URL.Path, out.URL.RawQuery = strings.TrimPrefix(r.URL.Path, "/v1"), r.URL.RawQuery
	if len(b) == 0 {
		out.Body, out.GetBody, out.ContentLength = http.NoBody, nil, 0
	}
	ups := a.view.Upstreams()
	copyRequestHeader(out.Header, r.Header, func(k string) bool { return g.forwards(ups, k) })
	if a.xl != nil {
		t := a.xl.target(model, x.env.Stream)
		out.URL.Path, out.URL.RawPath, out.URL.RawQuery = t.path, t.rawPath, t.query
		for _, k := range a.xl.drop {
			out.Header.Del(k)
		}
	}
	switch {
	case len(ups) == 0 || !g.passAuth[ups[0].Name()]:
	case a.xl != nil:
		// The client's key, in the header the upstream's API reads it from.
		if k := x.ep.front.clientKey(r); k != "" {
			switch a.xl.to {
			case provider.DialectAnthropic:
				out.Header.Set("X-Api-Key", k)
			case provider.DialectGemini:
				out.Header.Set("X-Goog-Api-Key", k)
			default:
				out.Header.Set("Authorization", "Bearer "+k)
			}
		}
	default:
		for _, k := range x.ep.front.credentials {
			if v := r.Header[k]; len(v) > 0 && v[0] != "" {
				out.Header[k] = v[:1]
			}
		}
	}
	if x.rec.idv != nil {
		out.Header["X-Request-Id"] = x.rec.idv
	} else {
		out.Header.Set("X-Request-Id", x.rec.id)
	}
	// With tracing on, the upstream gets the request span's traceparent
	// instead of the client's; off, this does nothing.
	if !g.untraced {
		tracing.Inject(r.Context(), out.Header)
	}
	return out
}

// requestTimeout reads X-Warmgate-Timeout: a Go duration ("90s"), between
// 1ms and 1h. A bare number is refused rather than guessed at: "90" may
// mean seconds or milliseconds, and a wrong guess is a thousand times off.
// It bounds the whole request, stream included; past it the client gets
// 504 (or an error event mid-stream).
func requestTimeout(r *http.Request) (time.Duration, *apiError) {
	v := r.Header.Get("X-Warmgate-Timeout")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
			return 0, errBadRequest("invalid_timeout", "X-Warmgate-Timeout "+quote(v)+" has no unit: write e.g. 90s, 2m or 500ms")
		}
		return 0, errBadRequest("invalid_timeout", "X-Warmgate-Timeout "+quote(v)+" is not a duration: use e.g. 90s, 2m or 500ms")
	}
	if d < time.Millisecond || d > time.Hour {
		return 0, errBadRequest("invalid_timeout", "X-Warmgate-Timeout "+quote(v)+" is out of range: use 1ms to 1h")
	}
	return d, nil
}

// totalTimeout is the largest timeouts.total among the upstreams serving
// models (0 when none sets one).
func (g *Gateway) totalTimeout(models []string) time.Duration {
	var d time.Duration
	for _, m := range models {
		if m != "" {
			d = max(d, g.viewOf(m).total) // cached with the model's view
			continue
		}
		for _, u := range g.cfg.Upstreams {
			d = max(d, u.Timeouts.Total)
		}
	}
	return d
}
