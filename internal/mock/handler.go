// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds a request body; OpenAI's own limit is larger, but no test
// or benchmark sends more.
const maxBody = 8 << 20

// serveHTTP is the server's handler: connection bookkeeping, /mock/stats,
// then routing to the API endpoints.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var idle time.Duration
	if c := connFrom(r.Context()); c != nil {
		if r.TLS != nil {
			c.countHandshake() // a request proves the handshake done
		}
		idle = c.begin()
		defer c.end()
		w.Header().Set("X-Mock-Conn-Id", strconv.FormatInt(c.id, 10))
	}
	if r.URL.Path == "/mock/stats" {
		s.serveStats(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/mock/") {
		writeError(w, apiError{status: http.StatusNotFound, msg: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)})
		return
	}
	s.requests.Add(1)
	s.inflight.Add(1)
	defer s.inflight.Add(-1)

	h := w.Header()
	anthropic := isAnthropic(r)
	id := fmt.Sprintf("req_mock%012x", s.seq.Add(1))
	h.Set("X-Request-Id", id)
	if isBedrock(r.URL.Path) {
		h.Set("X-Mock-Has-Authorization", strconv.FormatBool(r.Header.Get("Authorization") != ""))
		s.log.Debug("mock: request", "method", r.Method, "path", r.URL.Path, "proto", r.Proto,
			"conn", h.Get("X-Mock-Conn-Id"), "fault", r.Header.Get(FaultHeader))
		s.serveBedrock(w, r, idle)
		return
	}
	if anthropic {
		h.Set("Request-Id", id) // Anthropic's name for it; its SDKs read this one
	}
	h.Set("X-Mock-Has-Authorization", strconv.FormatBool(r.Header.Get("Authorization") != ""))
	h.Set("X-Mock-Has-Api-Key", strconv.FormatBool(r.Header.Get("X-Api-Key") != ""))
	if s.opts.AdvertiseKeepAlive && r.ProtoMajor == 1 {
		h.Set("Keep-Alive", fmt.Sprintf("timeout=%d", int(s.opts.IdleTimeout/time.Second)))
	}
	s.log.Debug("mock: request", "method", r.Method, "path", r.URL.Path, "proto", r.Proto,
		"conn", h.Get("X-Mock-Conn-Id"), "fault", r.Header.Get(FaultHeader))
	if isGemini(r) { // Gemini's API, under /v1beta (gemini.go)
		s.serveGemini(w, r, idle)
		return
	}

	var ok bool
	if r, ok = s.azureRoute(w, r); !ok { // Azure's paths, served by the OpenAI routes (azure.go)
		return
	}
	method, build := s.route(r.URL.Path, anthropic)
	switch {
	case build == nil:
		writeError(w, apiError{anthropic: anthropic, status: http.StatusNotFound, msg: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)})
	case r.Method != method:
		h.Set("Allow", method)
		writeError(w, apiError{anthropic: anthropic, status: http.StatusMethodNotAllowed, code: "method_not_supported",
			msg: fmt.Sprintf("Invalid method for URL (%s %s)", r.Method, r.URL.Path)})
	default:
		if aerr := s.authorize(r, anthropic); aerr != nil {
			writeError(w, *aerr)
			return
		}
		d := dialectOpenAI
		if anthropic {
			d = dialectAnthropic
		}
		s.serveAPI(w, r, idle, d, build)
	}
}

// isAnthropic reports whether r is in Anthropic's dialect: its Messages
// API paths, or /v1/models asked with an anthropic-version header (as
// Anthropic's API requires and no OpenAI client sends).
func isAnthropic(r *http.Request) bool {
	p := r.URL.Path
	return p == "/v1/messages" || strings.HasPrefix(p, "/v1/messages/") ||
		(p == "/v1/models" || strings.HasPrefix(p, "/v1/models/")) && r.Header.Get("Anthropic-Version") != ""
}

// authorize checks the request's key when Options.APIKey is set: OpenAI's
// dialect wants "Authorization: Bearer KEY"; Anthropic's "x-api-key: KEY"
// (or the Bearer form its newer SDKs send) and an anthropic-version.
func (s *Server) authorize(r *http.Request, anthropic bool) *apiError {
	want := s.opts.APIKey
	if want == "" || isAzure(r) { // azureRoute checked it
		return nil
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !anthropic {
		if subtle.ConstantTimeCompare([]byte(bearer), []byte(want)) != 1 {
			return &apiError{status: http.StatusUnauthorized, code: "invalid_api_key",
				msg: "Incorrect API key provided (mock)."}
		}
		return nil
	}
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		key = bearer
	}
	switch {
	case key == "":
		return &apiError{anthropic: true, status: http.StatusUnauthorized, msg: "x-api-key header is required"}
	case subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1:
		return &apiError{anthropic: true, status: http.StatusUnauthorized, msg: "invalid x-api-key"}
	case r.Header.Get("Anthropic-Version") == "":
		return &apiError{anthropic: true, status: http.StatusBadRequest, msg: "anthropic-version: header is required"}
	}
	return nil
}

// buildFunc turns a validated request into the reply to send.
type buildFunc func(r *http.Request, body []byte) (reply, *apiError)

// route maps a path to its method and reply builder; nil for unknown paths.
// anthropic says the request is in Anthropic's dialect (isAnthropic).
func (s *Server) route(path string, anthropic bool) (string, buildFunc) {
	switch {
	case path == "/v1/messages":
		return http.MethodPost, s.messages
	case path == "/v1/messages/count_tokens":
		return http.MethodPost, s.countTokens
	case anthropic && path == "/v1/models":
		return http.MethodGet, s.anthropicModels
	case anthropic && strings.HasPrefix(path, "/v1/models/"):
		return http.MethodGet, s.anthropicModel
	case path == "/v1/chat/completions":
		return http.MethodPost, s.chat
	case path == "/v1/completions":
		return http.MethodPost, s.completion
	case path == "/v1/embeddings":
		return http.MethodPost, s.embeddings
	case path == "/v1/models":
		return http.MethodGet, s.models
	case strings.HasPrefix(path, "/v1/models/"):
		return http.MethodGet, s.model
	}
	return "", nil
}

// reply is what an endpoint answers when no fault intervenes.
type reply struct {
	stream bool
	body   []byte  // the JSON answer, when !stream
	events []event // the SSE events, when stream
	// noDone ends a stream with its last event, without OpenAI's
	// "data: [DONE]" (Anthropic's streams end with message_stop).
	noDone bool
	// crlf ends each event with "\r\n\r\n", as Gemini's streams do.
	crlf bool
	// blocked, when set, is the reply a safety=KIND fault answers instead
	// (Gemini's routes: a prompt or an answer blocked by safety filters).
	blocked func(kind string) reply
}

// dialect is the API whose shapes a request's errors and faults take.
type dialect uint8

const (
	dialectOpenAI dialect = iota
	dialectAnthropic
	dialectGemini
)

// event is one SSE event: its data, and its name ("event:" line) when it
// has one; paced events wait TokenInterval first.
type event struct {
	name  string
	data  []byte
	paced bool
}

// serveAPI runs one API request: fault spec, body, reply, then the fault's
// verdict on how (or whether) to send it.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, idle time.Duration, d dialect, build buildFunc) {
	anthropic, gemini := d == dialectAnthropic, d == dialectGemini
	f, err := s.requestFault(r)
	if err != nil {
		writeError(w, apiError{anthropic: anthropic, gemini: gemini, status: http.StatusBadRequest, code: "invalid_mock_fault", msg: FaultHeader + ": " + err.Error()})
		return
	}
	var body []byte
	if r.Method == http.MethodPost {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				writeError(w, apiError{anthropic: anthropic, gemini: gemini, status: http.StatusRequestEntityTooLarge, msg: "Request body too large."})
			}
			return // otherwise the client is gone
		}
	}
	rep, aerr := build(r, body)
	if aerr != nil {
		writeError(w, *aerr)
		return
	}

	f = s.gate(f, idle)
	if f.contentFilter == "output" && f.status == 0 && !anthropic {
		rep = contentFiltered(rep)
	}
	if f.safety != "" && rep.blocked != nil {
		rep = rep.blocked(f.safety)
	}
	ctx := r.Context()
	switch {
	case f.dropIdle > 0:
		s.log.Debug("mock: fault drop_idle: closing the connection unanswered", "idle", idle)
		drop(w, r)
	case f.status != 0:
		if f.hasTTFT && !wait(ctx, f.ttft) {
			return
		}
		if f.hasRetryAfter {
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		}
		if f.hasRetryAfterMs {
			w.Header().Set("Retry-After-Ms", strconv.Itoa(f.retryAfterMs))
		}
		if isAzure(r) {
			setAzureRetry(w.Header(), f)
		}
		if anthropic && f.status == http.StatusTooManyRequests {
			setAnthropicRateLimit(w.Header(), 0)
		}
		switch {
		case f.html:
			writeBody(w, r, f.status, "text/html; charset=utf-8", htmlPage(f.status), f)
		case anthropic:
			writeBody(w, r, f.status, "application/json", anthropicFaultError(f.status, w.Header().Get("Request-Id")), f)
		case f.contentFilter == "prompt":
			writeBody(w, r, f.status, "application/json", contentFilterError(), f)
		case isAzure(r):
			writeBody(w, r, f.status, "application/json", azureFaultError(f.status, f), f)

		case gemini:
			writeBody(w, r, f.status, "application/json", geminiFaultError(f.status), f)
		default:
			writeBody(w, r, f.status, "application/json", faultError(f.status), f)
		}
	default:
		if !wait(ctx, s.firstDelay(rep.stream, f)) {
			return
		}
		if anthropic {
			setAnthropicRateLimit(w.Header(), anthropicRequestsLimit-1)
		}
		if rep.stream {
			s.writeStream(w, r, rep, f)
		} else {
			writeBody(w, r, http.StatusOK, "application/json", rep.body, f)
		}
	}
}

// writeBody sends a complete (non-streaming) answer, with the fault's stall
// between headers and body and its reset after part of the body.
func writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte, f Fault) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	if f.stall > 0 {
		_ = rc.Flush()
		if !wait(r.Context(), f.stall) {
			return
		}
	}
	if f.hasReset {
		if f.reset > 0 {
			_, _ = w.Write(body[:len(body)/2])
		}
		abort(rc)
	}
	_, _ = w.Write(body)
}

// writeStream sends an SSE answer, flushing each event: the first event at
// once (its wait, TTFT, is behind us), then paced events TokenInterval apart.
func (s *Server) writeStream(w http.ResponseWriter, r *http.Request, rep reply, f Fault) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if f.hasReset && f.reset == 0 {
		abort(rc)
	}
	ctx := r.Context()
	buf := make([]byte, 0, 256)
	for i, ev := range rep.events {
		if ev.paced && !wait(ctx, s.opts.TokenInterval) {
			return
		}
		buf = buf[:0]
		if ev.name != "" {
			buf = append(append(append(buf, "event: "...), ev.name...), '\n')
		}
		end := "\n\n"
		if rep.crlf {
			end = "\r\n\r\n"
		}
		buf = append(append(append(buf, "data: "...), ev.data...), end...)
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if f.hasReset && i+1 == f.reset {
			abort(rc)
		}
		if i == 0 && f.stall > 0 && !wait(ctx, f.stall) {
			return
		}
	}
	if !rep.noDone {
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}
	_ = rc.Flush()
}

// abort flushes what was written, then aborts the answer: net/http closes
// an HTTP/1 connection and resets an HTTP/2 stream, and logs nothing.
func abort(rc *http.ResponseController) {
	_ = rc.Flush()
	panic(http.ErrAbortHandler)
}

// drop closes the request's connection without answering: hijack and close
// on HTTP/1; on HTTP/2 close the whole connection under the stream, which
// is what a server timing out an idle connection does.
func drop(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		if nc, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = nc.Close()
			return
		}
	}
	if c := connFrom(r.Context()); c != nil {
		_ = c.Close()
	}
	panic(http.ErrAbortHandler)
}

// wait waits d, or less if ctx ends first; it reports whether ctx is alive.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// serveStats answers GET /mock/stats.
func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, apiError{status: http.StatusMethodNotAllowed, code: "method_not_supported",
			msg: fmt.Sprintf("Invalid method for URL (%s %s)", r.Method, r.URL.Path)})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.Stats())
}

// apiError is an error answer: OpenAI-shaped, or Anthropic-shaped when
// anthropic is set (then typ, "" by default, is found from the status, and
// code and param are not shown).
type apiError struct {
	anthropic bool
	gemini    bool // Gemini's shape: {"error":{"code","message","status"}}
	status    int
	typ       string // "" = invalid_request_error
	code      string // "" = null
	param     string // "" = null
	msg       string
}

type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e apiError) body() errorBody {
	o := errorObject{Message: e.msg, Type: e.typ}
	if o.Type == "" {
		o.Type = "invalid_request_error"
	}
	if e.param != "" {
		o.Param = &e.param
	}
	if e.code != "" {
		o.Code = &e.code
	}
	return errorBody{Error: o}
}

func writeError(w http.ResponseWriter, e apiError) {
	if e.gemini {
		writeJSON(w, e.status, geminiErrorBody(e))
		return
	}
	if e.anthropic {
		writeJSON(w, e.status, anthropicErrorBody(e.status, e.typ, e.msg, w.Header().Get("Request-Id")))
		return
	}
	writeJSON(w, e.status, e.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own, marshalable types come here
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// faultError is the body of a status= fault, worded like OpenAI's own.
func faultError(status int) []byte {
	e := apiError{status: status, msg: fmt.Sprintf("Mock fault: %d %s.", status, http.StatusText(status))}
	switch {
	case status == http.StatusTooManyRequests:
		e.typ, e.code = "requests", "rate_limit_exceeded"
		e.msg = "Rate limit reached (mock fault). Please try again later."
	case status == http.StatusUnauthorized:
		e.code = "invalid_api_key"
	case status == http.StatusServiceUnavailable:
		e.typ = "server_error"
		e.msg = "The server is overloaded or not ready yet (mock fault)."
	case status >= 500:
		e.typ = "server_error"
	}
	b, _ := json.Marshal(e.body())
	return append(b, '\n')
}

// htmlPage is the kind of page a proxy or CDN answers when the API behind it
// fails: not JSON, which clients must survive.
func htmlPage(status int) []byte {
	t := fmt.Sprintf("%d %s", status, http.StatusText(status))
	return []byte("<html>\r\n<head><title>" + t + "</title></head>\r\n<body>\r\n<center><h1>" + t +
		"</h1></center>\r\n<hr><center>warmgate-mock</center>\r\n</body>\r\n</html>\r\n")
}

// firstDelay is how long an answer waits before its first byte: the
// server's latency, or its time to first token for a stream, or the
// fault's ttft.
func (s *Server) firstDelay(stream bool, f Fault) time.Duration {
	switch {
	case f.hasTTFT:
		return f.ttft
	case stream:
		return s.opts.TTFT
	}
	return s.opts.Latency
}
