// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// The paths of a routed request, chosen per request from the client's
// dialect (its row's front) and the dialects of the upstreams that serve
// the model (their kind, internal/provider):
//
//   - same dialect: the body is relayed byte for byte (only the credential
//     headers change): the fast path, whatever the dialect;
//   - another dialect the row has a translation to (its xlate): the
//     request is translated (its upstream path may depend on the model and
//     on whether it streams), and the answer, its stream (event by event,
//     as it arrives) and its errors back (package translate). An OpenAI
//     client's /v1/chat/completions goes to an anthropic upstream's
//     /messages; an Anthropic client's /v1/messages to an
//     OpenAI-compatible upstream's /chat/completions. Either goes to a
//     gemini upstream's /models/{model}:generateContent (or
//     :streamGenerateContent?alt=sse), and OpenAI's /v1/embeddings to its
//     :batchEmbedContents (gemini.go); and to a bedrock upstream's
//     /model/{model}/converse (or /converse-stream, an AWS event stream
//     read by the translation's events) (bedrock.go).
//
// A model served by upstreams of several dialects is sent to them as
// groups: the upstreams of the client's own dialect first (no
// translation), then those of each other dialect, in the config order of
// each dialect's first upstream, like fallbacks: the next group is tried
// when every upstream of the previous one failed (failedAll). Package
// upstream never sees a body's dialect.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/internal/translate"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
	"github.com/warmgate/warmgate/upstream"
)

// translation is how a route is served by upstreams of another dialect:
// where its requests go, and how request, answer, stream and errors are
// translated. A row lists one per dialect it can be translated to (its
// xlate); a row without any is served only by upstreams of its own
// dialect. Adding a dialect to a route is adding a translation to its
// row.
type translation struct {
	// to is the upstreams' dialect.
	to provider.Dialect
	// target is where a request for model goes, under the upstream's base
	// URL: a path that may depend on the model and on whether the request
	// streams (Gemini's /models/{model}:streamGenerateContent?alt=sse).
	target func(model string, stream bool) target
	// drop are client headers that mean something only in the client's
	// dialect, not sent to the other.
	drop []string
	// request translates the client's body for model (*translate.RequestError
	// when it cannot be).
	request func(model string, body []byte) ([]byte, error)
	// answer translates a successful answer's body, and returns its usage.
	answer func(x *exchange, body []byte) ([]byte, translate.Usage, error)
	// errorBody translates an upstream error answer (its status, headers
	// and body): the status and body the client gets.
	errorBody func(status int, h http.Header, body []byte) (int, []byte)
	// stream makes the translator of one stream.
	stream func(x *exchange) streamTranslator
	// events reads a successful answer as a stream of events, or returns
	// nil when the answer is not a stream (a whole answer). nil: SSE, by
	// the answer's content type (sseEvents). A dialect whose stream has
	// another framing (AWS event-stream) decodes it here into events.
	events func(resp *http.Response) eventReader
}

// target is where a translated request goes: its path under the
// upstream's base URL, the path's escaped form when it holds escapes
// ("" when it needs none), and its query.
type target struct {
	path, rawPath, query string
}

// fixedTarget is the target of a translation whose requests all go to
// path.
func fixedTarget(path string) func(string, bool) target {
	t := target{path: path}
	return func(string, bool) target { return t }
}

// eventReader is a stream's events as they arrive: sse.Reader, or a
// decoder of another framing yielding the same events. Next returns
// io.EOF at the stream's end.
type eventReader interface {
	Next() (sse.Event, error)
}

// reader is the event reader of resp, or nil when resp is not a stream.
func (xl *translation) reader(resp *http.Response) eventReader {
	if xl.events != nil {
		return xl.events(resp)
	}
	return sseEvents(resp)
}

// sseEvents reads an SSE answer (Content-Type text/event-stream); nil for
// any other.
func sseEvents(resp *http.Response) eventReader {
	if !isEventStream(resp.Header.Get("Content-Type")) {
		return nil
	}
	return sse.NewReader(resp.Body, 0)
}

// streamTranslator is translate's MessagesToChatStream,
// ChatToMessagesStream, GeminiToChatStream, BedrockToChatStream or
// PivotToMessagesStream.
type streamTranslator interface {
	Event(ev sse.Event, emit translate.Emit) error
	End() translate.StreamResult
}

// chatToAnthropic serves /v1/chat/completions from an anthropic upstream.
var chatToAnthropic = &translation{
	to:      provider.DialectAnthropic,
	target:  fixedTarget("/messages"),
	drop:    openaiOnlyHeaders,
	request: func(_ string, b []byte) ([]byte, error) { return translate.ChatRequestBodyToMessages(b) },
	answer: func(_ *exchange, b []byte) ([]byte, translate.Usage, error) {
		return translate.MessagesResponseBodyToChat(b, time.Now().Unix())
	},
	errorBody: func(status int, _ http.Header, b []byte) (int, []byte) {
		st, eb := translate.MessagesErrorToChat(status, b)
		out, _ := jsonNoEscape(eb)
		return st, out
	},
	stream: func(x *exchange) streamTranslator {
		// The usage chunk only when the client asked for it: the gateway's
		// own need for usage is met by the translator's result.
		so := x.env.StreamOptions
		return translate.NewMessagesToChatStream(translate.MessagesToChatOptions{
			IncludeUsage: so != nil && so.IncludeUsage, Created: time.Now().Unix()})
	},
}

// openaiOnlyHeaders and anthropicOnlyHeaders are the client headers that
// mean something only to their own dialect's API.
var (
	openaiOnlyHeaders    = []string{"Openai-Beta", "Openai-Organization", "Openai-Project"}
	anthropicOnlyHeaders = []string{"Anthropic-Version", "Anthropic-Beta"}
)

// messagesToOpenAI serves /v1/messages from an OpenAI-compatible upstream.
var messagesToOpenAI = &translation{
	to:      provider.DialectOpenAI,
	target:  fixedTarget("/chat/completions"),
	drop:    anthropicOnlyHeaders,
	request: func(_ string, b []byte) ([]byte, error) { return translate.MessagesRequestBodyToChat(b) },
	answer: func(_ *exchange, b []byte) ([]byte, translate.Usage, error) {
		return translate.ChatResponseBodyToMessages(b)
	},
	errorBody: func(status int, _ http.Header, b []byte) (int, []byte) {
		st, eb := translate.ChatErrorToMessages(status, b)
		out, _ := jsonNoEscape(eb)
		return st, out
	},
	stream: func(x *exchange) streamTranslator {
		return translate.NewChatToMessagesStream(x.env.Model)
	},
}

// attempt is one group of upstreams send tries for a model: its pool view
// and, for upstreams of another dialect, the translation.
type attempt struct {
	view *upstream.Pool
	xl   *translation // nil: same dialect, relayed as is
}

// maxGroups is the room for a request's groups without an allocation:
// one per dialect.
const maxGroups = 4

// attempts are the groups of model's upstreams that can serve a request of
// ep, in groups' room: those of the client's dialect first, then those of
// each other dialect ep has a translation to, in the config order of each
// dialect's first upstream (g.order), whatever the model. None when the
// model's upstreams all speak dialects ep has no translation to.
func (g *Gateway) attempts(ep *endpoint, model string, groups *[maxGroups]attempt) []attempt {
	out := groups[:0]
	if v := g.dialectView(model, ep.front.dialect); v != nil {
		out = append(out, attempt{view: v})
	}
	if len(ep.xlate) == 0 {
		return out
	}
	for _, d := range g.order {
		if d == ep.front.dialect {
			continue
		}
		if xl := ep.translationTo(d); xl != nil {
			if v := g.dialectView(model, d); v != nil {
				out = append(out, attempt{view: v, xl: xl})
			}
		}
	}
	return out
}

// translationTo is ep's translation to dialect d, or nil.
func (ep *endpoint) translationTo(d provider.Dialect) *translation {
	for _, xl := range ep.xlate {
		if xl.to == d {
			return xl
		}
	}
	return nil
}

// dialectView is the pool view of the upstreams of dialect d serving
// model, or nil. When every upstream of the model speaks d, it is the
// model's view (view) itself.
func (g *Gateway) dialectView(model string, d provider.Dialect) *upstream.Pool {
	if !g.mixed {
		if g.only != d {
			return nil
		}
		return g.view(model)
	}
	key := string(d) + "\x00" + model
	if v, ok := g.views.Load(key); ok {
		return v.(*viewEntry).pool
	}
	var names []string
	for _, u := range g.cfg.Upstreams {
		if g.dialects[u.Name] == d && u.MatchModel(model) {
			names = append(names, u.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	v := g.pool.Only(names...)
	if len(model) <= 256 && g.nviews.Load() < maxViews {
		if _, loaded := g.views.LoadOrStore(key, &viewEntry{pool: v}); !loaded {
			g.nviews.Add(1)
		}
	}
	return v
}

// initDialects records each upstream's dialect (by its kind), whether the
// upstreams speak more than one, and the order of the dialects.
func (g *Gateway) initDialects() {
	g.dialects = map[string]provider.Dialect{}
	g.only = provider.DialectOpenAI
	g.order = nil
	for i, u := range g.cfg.Upstreams {
		d := provider.DialectOf(provider.Kind(u.Kind))
		g.dialects[u.Name] = d
		if i == 0 {
			g.only = d
		} else if d != g.only {
			g.mixed = true
		}
		if !slices.Contains(g.order, d) {
			g.order = append(g.order, d)
		}
	}
	g.anyModel = g.pool
	if slices.Contains(g.order, provider.DialectBedrock) {
		var names []string
		for _, u := range g.cfg.Upstreams {
			if g.dialects[u.Name] != provider.DialectBedrock {
				names = append(names, u.Name)
			}
		}
		g.anyModel = nil
		if len(names) > 0 {
			g.anyModel = g.pool.Only(names...)
		}
	}
}

// cannotServe is the error for a request of ep whose model's upstreams all
// speak a dialect ep cannot be translated to; it names their kinds.
func (g *Gateway) cannotServe(ep *endpoint, model string) *apiError {
	var kinds []string
	for _, u := range g.cfg.Upstreams {
		if k := cmp.Or(u.Kind, "openai"); u.MatchModel(model) && !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	of := "upstreams of kind " + strings.Join(kinds, ", ")
	if ep == countTokensRow {
		return &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "endpoint_not_supported",
			message: "the model " + quote(model) + " is served by " + of + ", which have no count_tokens endpoint: " +
				"count tokens with a model served by an upstream of kind anthropic, or estimate them"}
	}
	return &apiError{status: http.StatusBadRequest, typ: openai.TypeInvalidRequest, code: "route_not_supported",
		message: "the model " + quote(model) + " is served only by " + of + ", which cannot serve " +
			ep.path + ": use /v1/chat/completions (translated) or /v1/messages with this model"}
}

// translateRequest is the body to send to the upstreams of a: translated
// when they speak the other dialect. A request that cannot be translated
// is the client's 400.
func translateRequest(a attempt, model string, body []byte) ([]byte, error) {
	if a.xl == nil {
		return body, nil
	}
	b, err := a.xl.request(model, body)
	if err != nil {
		var re *translate.RequestError
		if errors.As(err, &re) {
			return nil, errBadRequest("untranslatable_request", "the model's upstream speaks another API and the request cannot be translated to it: "+re.Error())
		}
		return nil, errBadRequest("untranslatable_request", "the request cannot be translated: "+err.Error())
	}
	return b, nil
}

// maxTranslated bounds an answer body held for translation.
const maxTranslated = 64 << 20

// relayTranslated answers with the translation of the upstream's answer
// to the client's dialect: an error answer, a whole answer, or a stream
// event by event. Headers: the status, the content type, the upstream's
// request id (as X-Upstream-Request-Id), its Retry-After and rate limit
// headers, and the gateway's X-Should-Retry.
func (g *Gateway) relayTranslated(x *exchange) {
	w, r, resp, rec, xl := x.w, x.r, x.resp, x.rec, x.xl
	h := w.Header()
	for k, vv := range resp.Header {
		switch {
		case k == "X-Request-Id", k == "Request-Id", k == "X-Amzn-Requestid":
			h["X-Upstream-Request-Id"] = vv
		case k == "Retry-After", k == "Retry-After-Ms":
			h[k] = vv
		case isRateHeader(k) && !w.ownLimits:
			h[k] = vv
		}
	}
	wait := h.Get("Retry-After") != "" || h.Get("Retry-After-Ms") != ""
	if resp.StatusCode/100 != 2 {
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil && !clientGone(r) {
			rec.err = err
		}
		status, out := xl.errorBody(resp.StatusCode, resp.Header, b)
		if v := shouldRetry(status, "", rec.retried(), wait); v != "" {
			h.Set("X-Should-Retry", v)
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(out)+1))
		w.WriteHeader(status)
		_, _ = w.Write(append(out, '\n'))
		return
	}
	if rd := xl.reader(resp); rd != nil {
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(resp.StatusCode)
		_ = w.FlushError() // the headers from here, not from deep in the copy: as relayAnswer
		g.translateStream(x, rd)
		return
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxTranslated))
	if err != nil {
		rec.err = err
		if !clientGone(r) {
			x.ep.front.writeError(w, failure(r, err))
		}
		return
	}
	out, u, err := xl.answer(x, b)
	if err != nil {
		rec.err = err
		x.ep.front.writeError(w, &apiError{status: http.StatusBadGateway, typ: openai.TypeUpstream, code: "untranslatable_answer",
			message: err.Error()})
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(resp.StatusCode)
	if _, err := w.Write(out); err != nil {
		rec.err = err
	}
	w.setUsage(u.OpenAI())
}

// translateStream relays the upstream's stream (its events read by rd)
// translated, event by event,
// each flushed as it goes out. It ends with the translator's end, which
// exists only when the upstream's stream ended properly; otherwise, the
// client gets its dialect's error event and the response is aborted (never
// an end the upstream did not send).
func (g *Gateway) translateStream(x *exchange, rd eventReader) {
	w, rec := x.w, x.rec
	t := x.xl.stream(x)
	emit := func(name string, data []byte) error {
		rec.events++
		return sse.WriteEvent(w, name, data)
	}
	var err error
	for {
		var ev sse.Event
		ev, err = rd.Next()
		if err != nil {
			break
		}
		if err = t.Event(ev, emit); err != nil || t.End().Complete {
			break
		}
	}
	res := t.End()
	if res.UsageSeen {
		w.setUsage(res.Usage.OpenAI())
	}
	if res.Complete {
		return
	}
	var se *translate.StreamError
	if errors.As(err, &se) {
		// The upstream's own error event, told in the client's dialect.
		rec.err, rec.aborted = se, se.Status
		_ = sse.WriteEvent(w, "error", se.Body)
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = sse.ErrIncomplete // the upstream ended without its end event
	}
	g.abortStream(x, err)
}

// jsonNoEscape is json.Marshal without HTML escaping.
func jsonNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
