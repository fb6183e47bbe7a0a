package gateway

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/warmgate/warmgate/internal/tracing"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
	"github.com/warmgate/warmgate/upstream"
)

// relay is the request path: authenticate, read the body, route by model,
// send through the pool, relay the answer. routed says the route requires a
// JSON body with a model; other /v1/ paths pass through to the upstreams of
// the model if the body names one, else to every upstream.
func (g *Gateway) relay(w http.ResponseWriter, r *http.Request, rec *accessLog, routed bool) {
	rec.api = true
	key, aerr := g.authenticate(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if key != nil {
		rec.key = key.Name
	}
	hdrTimeout, aerr := requestTimeout(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}

	// A body that is neither JSON nor a form names no model: a key whose
	// paths refuse the request (below) is refused before it is read.
	if !routed && key != nil && bodyKind(r.Header.Get("Content-Type")) == bodyOther && !key.AllowsPath(r.URL.Path) {
		writeError(w, pathNotAllowed(key, r))
		return
	}
	body, aerr := g.readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	e, form, aerr := bodyEnvelope(r, body, routed, strictBody(key))
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	env := &e.Envelope
	if routed && env.Model == "" {
		writeError(w, &apiError{status: http.StatusBadRequest, typ: openai.TypeInvalidRequest, code: "missing_model",
			message: "request body has no \"model\": name the model to use, e.g. {\"model\":\"gpt-4.1-mini\", ...}"})
		return
	}
	if aerr := queryModel(key, r.URL.RawQuery); aerr != nil {
		writeError(w, aerr)
		return
	}
	rec.model, rec.stream = env.Model, env.Stream
	if env.Model == "" && key != nil && !key.AllowsPath(r.URL.Path) {
		writeError(w, pathNotAllowed(key, r))
		return
	}

	// The models to try: the requested one (through its alias), then its
	// fallbacks; a body without a model goes to every upstream.
	models := []string{""}
	if env.Model != "" {
		if !keyAllows(key, env.Model) {
			rec.unrouted = true
			writeError(w, &apiError{status: http.StatusForbidden, typ: openai.TypePermission, code: "model_not_allowed",
				message: "this API key may not use model " + quote(env.Model)})
			return
		}
		// Fallbacks the key may use and some upstream serves: the loop below
		// then always ends on a model it can send. A form's model cannot be
		// rewritten: it goes as named.
		if form {
			models[0] = env.Model
		} else {
			models = g.chain(env.Model, func(m string) bool { return keyAllows(key, m) && g.view(m) != nil })
		}
		if g.view(models[0]) == nil {
			rec.unrouted = true
			writeError(w, &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "model_not_found",
				message: "the model " + quote(env.Model) + " is not served by this gateway (GET /v1/models lists the models it routes)"})
			return
		}
	}

	// The whole request's deadline: X-Warmgate-Timeout, else the model's
	// upstreams' timeouts.total. It bounds the upstream side (ur); checks of
	// whether the client is still there keep using r.
	ur := r
	if d := cmp.Or(hdrTimeout, g.totalTimeout(models)); d > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		ur = r.WithContext(ctx)
	}

	// The key's rpm and tpm (limit.go), settled when the answer is relayed.
	ch, aerr := g.limit(r.Context(), key, apiRoute(r.URL.Path), body, w.Header())
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if ch != nil {
		ch.rec = rec
	}
	defer ch.settle(r.Context())
	if ch != nil && wantsUsageOption(apiRoute(r.URL.Path), env) {
		if b, ok := withStreamUsageAt(body, e.optSpans); ok {
			body, ch.strip = b, true
		}
	}

	var hb *heartbeat
	if env.Stream {
		hb = startHeartbeat(w, g.cfg.Server.Heartbeat)
	}
	defer hb.stop()
	for i, model := range models {
		view, b := g.pool, body
		if model != "" {
			view = g.view(model) // non-nil: chain kept only served models
			if model != env.Model {
				var err error
				if b, err = withModel(body, model); err != nil {
					writeError(w, errBadRequest("invalid_json", "cannot route the request: "+err.Error()))
					return
				}
			}
		}
		resp, err := view.Do(g.outbound(ur, b, view, rec.id))
		if i < len(models)-1 && failedAll(resp, err) {
			if resp != nil {
				resp.Body.Close()
			}
			g.log.Info("every upstream of the model failed; trying its fallback",
				"request_id", rec.id, "model", clip(model, maxLogged), "fallback", models[i+1])
			continue
		}
		rec.routed, rec.fellBack = model, i > 0
		if hb.stop() { // the 200 went out with a heartbeat
			if resp != nil {
				defer resp.Body.Close()
				rec.attempt, _ = upstream.AttemptOf(resp)
				rec.upstream = rec.attempt.Upstream
			}
			cw := ch.watch(w, model)
			if u, ok := cw.(*usageWriter); ok {
				u.status, u.stream = http.StatusOK, true // the heartbeat sent them
			}
			g.relayCommitted(cw, r, resp, err, rec)
			return
		}
		if err != nil {
			rec.err = err
			var ue *upstream.Error
			if errors.As(err, &ue) {
				rec.upstream = ue.Upstream
			}
			e := failure(r, err)
			e.retried = e.retried || rec.fellBack
			writeError(w, e)
			return
		}
		defer resp.Body.Close()
		rec.attempt, _ = upstream.AttemptOf(resp)
		rec.upstream = rec.attempt.Upstream
		g.respond(ch.watch(w, model), r, resp, rec)
		return
	}
}

// outbound builds the request to send upstream: body b (never re-encoded),
// the path under /v1, the client's headers minus its credentials, the
// request id.
func (g *Gateway) outbound(r *http.Request, b []byte, view *upstream.Pool, id string) *http.Request {
	out, _ := http.NewRequestWithContext(r.Context(), r.Method, "/", bytes.NewReader(b))
	out.URL.Path, out.URL.RawQuery = strings.TrimPrefix(r.URL.Path, "/v1"), r.URL.RawQuery
	if len(b) == 0 {
		out.Body, out.GetBody, out.ContentLength = http.NoBody, nil, 0
	}
	ups := view.Upstreams()
	copyRequestHeader(out.Header, r.Header, func(k string) bool { return g.forwards(ups, k) })
	if len(ups) > 0 && g.passAuth[ups[0].Name()] {
		if a := r.Header.Get("Authorization"); a != "" {
			out.Header.Set("Authorization", a)
		}
	}
	out.Header.Set("X-Request-Id", id)
	// With tracing on, the upstream gets the request span's traceparent
	// instead of the client's; off, this does nothing.
	tracing.Inject(r.Context(), out.Header)
	return out
}

// respond copies the upstream's answer to the client: headers and status as
// they are, then the body, event by event for a stream.
func (g *Gateway) respond(w http.ResponseWriter, r *http.Request, resp *http.Response, rec *accessLog) {
	stream := isEventStream(resp.Header.Get("Content-Type"))
	var buf *[]byte
	var first []byte
	whole := false
	if !stream {
		// Hold the body (whole, up to maxHeld) before committing the
		// status: an upstream that stalls past stream_idle or fails
		// mid-body then gets the client a proper error answer (504, 502)
		// instead of a 200 with a cut body, or no response at all.
		buf = copyBufs.Get().(*[]byte)
		defer copyBufs.Put(buf)
		var err error
		first, whole, err = holdAnswer(resp.Body, resp.ContentLength, *buf)
		if err != nil {
			rec.err = err
			if !clientGone(r) {
				writeError(w, failure(r, err))
			}
			return
		}
	}
	h := w.Header()
	own := ownRateHeaders(w)
	for k, vv := range resp.Header {
		switch {
		case hopHeaders[k]:
		case own && isRateHeader(k): // the gateway's own replace them (limit.go)
		case k == "X-Request-Id":
			// The client keeps the id it sent (or the one we made, which is
			// in our logs); the upstream's own id, the one its provider's
			// support asks for, travels under another name.
			h["X-Upstream-Request-Id"] = vv
		case k == "Location", k == "Content-Location":
			// An upstream's own address is not the client's business, nor
			// a place to send it: only paths under the base URL are kept.
			if len(vv) == 1 {
				if loc := g.relayLocation(vv[0], rec.upstream, r.URL.Path); loc != "" {
					h[k] = []string{loc}
				}
			}
		default:
			h[k] = vv
		}
	}
	wait := h.Get("Retry-After") != "" || h.Get("Retry-After-Ms") != ""
	if v := shouldRetry(resp.StatusCode, "", rec.retried(), wait); v != "" {
		h.Set("X-Should-Retry", v) // the gateway's judgement, after its retries, over the upstream's
	}
	if stream {
		h.Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		res, err := sse.Copy(r.Context(), w, resp.Body, streamOptions(w, r.URL.Path))
		rec.events = res.Events
		switch {
		case err != nil && res.Done:
			// The client has the whole answer; only the log needs to know,
			// and only of an upstream failing after its end: a client that
			// closes once it read the end (the SDKs do) did nothing wrong.
			if r.Context().Err() == nil && !errors.Is(err, sse.ErrClientGone) {
				rec.err = err
			}
		case err != nil:
			g.abortStream(w, r, err, rec)
		}
		return
	}
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(first)
	if err == nil && !whole {
		// The buffer is free again: first has been written.
		_, err = io.CopyBuffer(writerOnly{w}, resp.Body, *buf)
	}
	if err != nil {
		rec.err = err
		if !clientGone(r) {
			// The upstream failed mid-body past what was held: the status
			// is already sent, so abort the connection rather than end the
			// answer as if whole.
			rec.aborted = failure(r, err).status
			panic(http.ErrAbortHandler)
		}
	}
}

// abortStream ends a stream that failed after bytes reached the client. The
// one policy: if the upstream failed, send an OpenAI-shaped error event,
// then abort the response so the client cannot mistake it for a complete
// answer. Never a synthetic [DONE].
func (g *Gateway) abortStream(w http.ResponseWriter, r *http.Request, err error, rec *accessLog) {
	err = streamError(err, rec)
	rec.err = err
	if clientGone(r) || errors.Is(err, sse.ErrClientGone) {
		return // the client left; nothing to tell it
	}
	e := failure(r, err)
	rec.aborted = e.status
	b, _ := json.Marshal(openai.NewError(e.typ, e.code, "stream interrupted: "+e.message))
	_ = sse.WriteEvent(w, "error", b)
	_ = http.NewResponseController(w).Flush()
	panic(http.ErrAbortHandler)
}

// copyBufs are the buffers non-streamed answers are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writerOnly hides the ResponseWriter's ReadFrom, which would copy through
// a buffer of its own instead of the pooled one.
type writerOnly struct{ io.Writer }

func tooLarge(n int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, typ: openai.TypeInvalidRequest, code: "body_too_large",
		message: "request body is larger than the gateway's limit of " + formatBytes(n) + " (server.max_body_bytes)"}
}

// hopHeaders are connection-level headers that a proxy must not forward
// (RFC 9110 section 7.6.1), in canonical form.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// routingHeaders name another host or path for the request than its own
// URL; some front proxies and frameworks route by them (IIS and Symfony by
// X-Original-URL, nginx setups by X-Forwarded-Host or Forwarded). A client
// must not choose where an upstream's infrastructure sends the request, so
// they are never forwarded.
var routingHeaders = map[string]bool{
	"X-Original-Url": true, "X-Rewrite-Url": true, "X-Forwarded-Host": true, "X-Forwarded-Prefix": true,
	"X-Host": true, "Forwarded": true,
}

// copyRequestHeader forwards the client's headers minus hop-by-hop ones,
// routing ones, the client's credentials (the upstream's own are set per
// attempt), Accept-Encoding (the transport negotiates compression itself)
// and the forwardable ones (billing selectors, client-address claims) that
// pass does not let through.
func copyRequestHeader(dst, src http.Header, pass func(canonicalName string) bool) {
	for k, vv := range src {
		switch {
		case hopHeaders[k], routingHeaders[k]:
		case forwardable[k] && !pass(k):
		case k == "Authorization", k == "X-Api-Key", k == "Api-Key", k == "Content-Length", k == "Accept-Encoding", k == "Host", k == "Cookie":
		default:
			dst[k] = vv
		}
	}
	if c := src.Get("Connection"); c != "" { // and headers named by Connection
		for _, f := range strings.Split(c, ",") {
			dst.Del(strings.TrimSpace(f))
		}
	}
}

func isEventStream(ct string) bool { return mediaType(ct, "text/event-stream") }

// mediaType reports whether the Content-Type ct is of the media type mt
// (lower case), whatever its parameters: what mime.ParseMediaType would
// say for a well-formed value, without its allocations.
func mediaType(ct, mt string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), mt)
}

// jsonErrorText makes a json error readable without echoing the body.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at byte " + itoa(int(se.Offset))
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + quote(te.Field) + " must be a " + te.Type.String() + ", not a JSON " + te.Value
	}
	return err.Error()
}
