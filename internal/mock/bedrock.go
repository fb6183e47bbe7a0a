// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/warmgate/warmgate/internal/translate/bedrock"
)

// This file speaks AWS Bedrock Runtime's Converse API: POST
// /model/{modelId}/converse (JSON) and /converse-stream (AWS event-stream
// binary framing, written with aws-sdk-go-v2's eventstream.Encoder), and
// GET /async-invoke (ListAsyncInvokes, the kind's warm-up request), each
// checked for its Signature Version 4 with aws-sdk-go-v2's signer.

// isBedrock reports whether path is one of Bedrock Runtime's.
func isBedrock(path string) bool {
	return strings.HasPrefix(path, "/model/") || path == "/async-invoke"
}

// bedrockError is an error answer of Bedrock: the status, the
// X-Amzn-ErrorType header (type), and the body {"message":...}.
type bedrockError struct {
	status int
	typ    string
	msg    string
}

func writeBedrockError(w http.ResponseWriter, e bedrockError) {
	// The header as AWS sends it: the type, then the service's namespace.
	w.Header().Set(bedrock.ErrorTypeHeader, e.typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	writeJSON(w, e.status, bedrock.ErrorBody{Message: e.msg})
}

// bedrockFaultError is the error of a status= fault: the type Bedrock
// answers that status with.
func bedrockFaultError(status int) bedrockError {
	e := bedrockError{status: status, typ: bedrock.ErrInternalServer, msg: fmt.Sprintf("Mock fault: %d %s.", status, http.StatusText(status))}
	switch status {
	case http.StatusTooManyRequests:
		e.typ, e.msg = bedrock.ErrThrottling, "Too many requests, please wait before trying again. (mock fault)"
	case http.StatusBadRequest:
		e.typ = bedrock.ErrValidation
	case http.StatusForbidden:
		e.typ = bedrock.ErrAccessDenied
	case http.StatusNotFound:
		e.typ = bedrock.ErrResourceNotFound
	case http.StatusRequestTimeout:
		e.typ = bedrock.ErrModelTimeout
	case http.StatusFailedDependency:
		e.typ = bedrock.ErrModelError
	case http.StatusServiceUnavailable:
		e.typ, e.msg = bedrock.ErrServiceUnavailable, "Bedrock is unable to process your request. (mock fault)"
	default:
		if status < 500 {
			e.typ = bedrock.ErrValidation
		}
	}
	return e
}

// sigMaxSkew is how far a request's X-Amz-Date may be from the server's
// clock: AWS's own limit.
const sigMaxSkew = 5 * time.Minute

// sigMismatch is AWS's message for a signature that does not verify.
const sigMismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// verifySigV4 checks r's Signature Version 4 (header form) against the
// credentials, as AWS does: it signs the request again, over the headers
// its Authorization names and body's hash, with aws-sdk-go-v2's signer,
// and compares. The errors are AWS's types and words.
func verifySigV4(r *http.Request, body []byte, accessKey, secretKey string, now time.Time) *bedrockError {
	deny := func(typ, msg string) *bedrockError {
		return &bedrockError{status: http.StatusForbidden, typ: typ, msg: msg}
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return deny("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return deny(bedrock.ErrIncompleteSignature, "Authorization header requires the AWS4-HMAC-SHA256 algorithm.")
	}
	var credential, signedHeaders, signature string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			signature = v
		}
	}
	scope := strings.Split(credential, "/") // AKID/DATE/REGION/SERVICE/aws4_request
	if len(scope) != 5 || signedHeaders == "" || signature == "" || scope[4] != "aws4_request" {
		return deny(bedrock.ErrIncompleteSignature, "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
	}
	if subtle.ConstantTimeCompare([]byte(scope[0]), []byte(accessKey)) != 1 {
		return deny(bedrock.ErrUnrecognizedClient, "The security token included in the request is invalid.")
	}
	if scope[3] != "bedrock" {
		return deny(bedrock.ErrInvalidSignature, "Credential should be scoped to correct service: 'bedrock'.")
	}
	date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || date.Format("20060102") != scope[1] {
		return deny(bedrock.ErrIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header, matching the credential's date.")
	}
	if d := now.Sub(date); d > sigMaxSkew || d < -sigMaxSkew {
		return deny(bedrock.ErrInvalidSignature, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			date.Format("20060102T150405Z"), now.Add(-sigMaxSkew).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z")))
	}

	// The request again, with only what was signed.
	u := &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	again := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	for _, name := range strings.Split(signedHeaders, ";") {
		switch name {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		case "x-amz-date":
		case "x-amz-security-token":
			creds.SessionToken = r.Header.Get(name) // the signer adds it back
		default:
			again.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, again, hex.EncodeToString(sum[:]), scope[3], scope[2], date); err != nil {
		return deny(bedrock.ErrIncompleteSignature, "The request cannot be signed again: "+err.Error())
	}
	_, want, _ := strings.Cut(again.Header.Get("Authorization"), "Signature=")
	if subtle.ConstantTimeCompare([]byte(want), []byte(signature)) != 1 {
		return deny(bedrock.ErrInvalidSignature, sigMismatch)
	}
	return nil
}

// serveBedrock runs one request of Bedrock's dialect: its route, body and
// signature, then the fault, then the answer.
func (s *Server) serveBedrock(w http.ResponseWriter, r *http.Request, idle time.Duration) {
	h := w.Header()
	h.Set("X-Amzn-Requestid", h.Get("X-Request-Id"))
	// Routed by the path's segments as sent, as Bedrock does: a model id's
	// "/" (an ARN's) must come escaped (%2F).
	var model, op string
	if seg := strings.Split(r.URL.EscapedPath(), "/"); len(seg) == 4 && seg[1] == "model" {
		model, _ = url.PathUnescape(seg[2])
		op = seg[3]
	}
	method := http.MethodPost
	switch {
	case r.URL.Path == "/async-invoke":
		method = http.MethodGet
	case op != "converse" && op != "converse-stream":
		writeBedrockError(w, bedrockError{status: http.StatusNotFound, typ: "UnknownOperationException",
			msg: fmt.Sprintf("Unknown operation (mock): %s %s", r.Method, r.URL.Path)})
		return
	}
	if r.Method != method {
		h.Set("Allow", method)
		writeBedrockError(w, bedrockError{status: http.StatusMethodNotAllowed, typ: "UnknownOperationException",
			msg: fmt.Sprintf("Invalid method for URL (%s %s)", r.Method, r.URL.Path)})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeBedrockError(w, bedrockError{status: http.StatusRequestEntityTooLarge, typ: bedrock.ErrValidation, msg: "Request body too large."})
		}
		return // otherwise the client is gone
	}
	if s.opts.AWSAccessKeyID != "" {
		if e := verifySigV4(r, body, s.opts.AWSAccessKeyID, s.opts.AWSSecretAccessKey, time.Now()); e != nil {
			s.log.Debug("mock: bedrock signature refused", "type", e.typ)
			writeBedrockError(w, *e)
			return
		}
	}
	f, err := s.requestFault(r)
	if err != nil {
		writeBedrockError(w, bedrockError{status: http.StatusBadRequest, typ: bedrock.ErrValidation, msg: FaultHeader + ": " + err.Error()})
		return
	}
	var rep reply
	switch op {
	case "":
		rep = reply{body: []byte(`{"asyncInvokeSummaries":[]}`)}
	default:
		var e *bedrockError
		if rep, e = s.converse(model, body, op == "converse-stream"); e != nil {
			writeBedrockError(w, *e)
			return
		}
	}

	f = s.gate(f, idle)
	ctx := r.Context()
	switch {
	case f.dropIdle > 0:
		drop(w, r)
	case f.status != 0 && !(f.hasException && rep.stream): // with exception_after_chunks, status names the exception
		if f.hasTTFT && !wait(ctx, f.ttft) {
			return
		}
		if f.hasRetryAfter {
			h.Set("Retry-After", strconv.Itoa(f.retryAfter))
		}
		if f.html {
			writeBody(w, r, f.status, "text/html; charset=utf-8", htmlPage(f.status), f)
			return
		}
		e := bedrockFaultError(f.status)
		h.Set(bedrock.ErrorTypeHeader, e.typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
		writeBody(w, r, f.status, "application/json", append(mustJSON(bedrock.ErrorBody{Message: e.msg}), '\n'), f)
	default:
		if !wait(ctx, s.firstDelay(rep.stream, f)) {
			return
		}
		if rep.stream {
			s.writeEventStream(w, r, rep, f)
		} else {
			writeBody(w, r, http.StatusOK, "application/json", rep.body, f)
		}
	}
}

// converse answers Converse and ConverseStream: a text of Options.Tokens
// tokens (capped by inferenceConfig.maxTokens), and when the request has
// tools a toolUse block calling the first (or the one toolChoice names)
// after it; a forced call (toolChoice any or tool) has no text, and an
// answer to a toolResult calls no tool.
func (s *Server) converse(model string, body []byte, stream bool) (reply, *bedrockError) {
	invalid := func(format string, args ...any) *bedrockError {
		return &bedrockError{status: http.StatusBadRequest, typ: bedrock.ErrValidation, msg: fmt.Sprintf(format, args...)}
	}
	var req bedrock.Request
	if err := json.Unmarshal(body, &req); err != nil {
		return reply{}, invalid("Malformed input request, please reformat your input and try again. (mock: %v)", err)
	}
	if model == "" {
		return reply{}, invalid("The provided model identifier is invalid.")
	}
	if len(req.Messages) == 0 {
		return reply{}, invalid("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
	}
	for i, m := range req.Messages {
		if m.Role != bedrock.RoleUser && m.Role != bedrock.RoleAssistant {
			return reply{}, invalid("messages.%d.role: the role must be user or assistant", i)
		}
	}
	var maxTokens *int
	if req.InferenceConfig != nil {
		maxTokens = req.InferenceConfig.MaxTokens
	}
	n, finish := s.completionLength(maxTokens)
	tool, forced := converseTool(&req)
	stop := bedrock.StopEndTurn
	if finish == "length" {
		stop, tool = bedrock.StopMaxTokens, nil
	} else if tool != nil {
		stop = bedrock.StopToolUse
	}
	withText := tool == nil || !forced
	if !withText {
		n = 0
	}
	var call *bedrock.ToolUse
	output := n
	if tool != nil {
		call = &bedrock.ToolUse{ToolUseID: s.newID("tooluse_"), Name: tool.Name, Input: toolInput(&anthropicTool{InputSchema: tool.InputSchema.JSON})}
		output += promptTokens(call.Input)
	}
	sys, _ := json.Marshal(req.System)
	tools, _ := json.Marshal(req.ToolConfig)
	msgs, _ := json.Marshal(req.Messages)
	input := promptTokens(sys) + promptTokens(msgs) + promptTokens(tools)
	usage := bedrock.Usage{InputTokens: input, OutputTokens: output, TotalTokens: input + output}
	metrics := json.RawMessage(`{"latencyMs":` + strconv.Itoa(int(s.opts.Latency/time.Millisecond)) + `}`)

	if !stream {
		msg := bedrock.Message{Role: bedrock.RoleAssistant, Content: []bedrock.ContentBlock{}}
		if withText {
			msg.Content = append(msg.Content, bedrock.TextBlock(content(n)))
		}
		if call != nil {
			msg.Content = append(msg.Content, bedrock.ContentBlock{ToolUse: call})
		}
		return reply{body: mustJSON(bedrock.Response{Output: bedrock.Output{Message: &msg}, StopReason: stop, Usage: usage, Metrics: metrics})}, nil
	}
	return reply{stream: true, events: converseEvents(withText, n, call, stop, usage, metrics)}, nil
}

// converseTool returns the tool the answer calls and whether the request
// forces a call: nil when it has no tools or the last turn holds a
// toolResult.
func converseTool(req *bedrock.Request) (*bedrock.ToolSpec, bool) {
	tc := req.ToolConfig
	if tc == nil {
		return nil, false
	}
	last := req.Messages[len(req.Messages)-1]
	for _, b := range last.Content {
		if b.ToolResult != nil {
			return nil, false
		}
	}
	var name string
	forced := false
	if c := tc.ToolChoice; c != nil {
		forced = c.Any != nil || c.Tool != nil
		if c.Tool != nil {
			name = c.Tool.Name
		}
	}
	for _, t := range tc.Tools {
		if t.ToolSpec != nil && (name == "" || t.ToolSpec.Name == name) {
			return t.ToolSpec, forced
		}
	}
	return nil, false
}

// converseEvents is ConverseStream's events for an answer, in Bedrock's
// order: messageStart; the text's deltas (a text block has no start) and
// its contentBlockStop; the tool use's contentBlockStart, input deltas and
// contentBlockStop; messageStop; metadata with the usage. Each payload
// carries Bedrock's random-length padding field "p".
func converseEvents(withText bool, n int, call *bedrock.ToolUse, stop string, usage bedrock.Usage, metrics json.RawMessage) []event {
	pad := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	ev := func(name string, v bedrock.StreamEvent, paced bool, i int) event {
		b := mustJSON(v)
		if len(b) > 2 {
			b = append(b[:len(b)-1], ',')
		} else {
			b = b[:1]
		}
		b = append(b, `"p":"`+pad[:1+i%len(pad)]+`"}`...)
		return event{name: name, data: b, paced: paced}
	}
	index := func(i int) *int { return &i }
	events := []event{ev(bedrock.EventMessageStart, bedrock.StreamEvent{Role: bedrock.RoleAssistant}, false, 0)}
	block := 0
	if withText {
		for i := 1; i <= n; i++ {
			t := token(i)
			events = append(events, ev(bedrock.EventContentBlockDelta, bedrock.StreamEvent{ContentBlockIndex: index(block), Delta: &bedrock.BlockDelta{Text: &t}}, i > 1, i))
		}
		events = append(events, ev(bedrock.EventContentBlockStop, bedrock.StreamEvent{ContentBlockIndex: index(block)}, false, n+1))
		block++
	}
	if call != nil {
		events = append(events, ev(bedrock.EventContentBlockStart, bedrock.StreamEvent{ContentBlockIndex: index(block),
			Start: &bedrock.BlockStart{ToolUse: &bedrock.ToolUseStart{ToolUseID: call.ToolUseID, Name: call.Name}}}, false, 1))
		for i, piece := range jsonPieces(string(call.Input))[1:] {
			events = append(events, ev(bedrock.EventContentBlockDelta, bedrock.StreamEvent{ContentBlockIndex: index(block),
				Delta: &bedrock.BlockDelta{ToolUse: &bedrock.ToolUseDelta{Input: piece}}}, i > 0, i))
		}
		events = append(events, ev(bedrock.EventContentBlockStop, bedrock.StreamEvent{ContentBlockIndex: index(block)}, false, 2))
	}
	return append(events,
		ev(bedrock.EventMessageStop, bedrock.StreamEvent{StopReason: stop}, false, 3),
		ev(bedrock.EventMetadata, bedrock.StreamEvent{Usage: &usage, Metrics: metrics}, false, 4))
}

// streamException is the exception type (the :exception-type header) a
// ConverseStream fault's exception_after_chunks sends, by its status: the
// type Bedrock gives the status, or modelStreamErrorException without one.
func streamException(status int) (string, string) {
	switch status {
	case 0, http.StatusFailedDependency:
		return bedrock.ExceptionModelStreamError, "The model failed while streaming its answer. (mock fault)"
	case http.StatusTooManyRequests:
		return bedrock.ExceptionThrottling, "Too many tokens, please wait before trying again. (mock fault)"
	case http.StatusServiceUnavailable:
		return bedrock.ExceptionServiceUnavailable, "Bedrock is unable to process your request. (mock fault)"
	case http.StatusBadRequest:
		return bedrock.ExceptionValidation, "The request is not valid for this model. (mock fault)"
	}
	return bedrock.ExceptionInternalServer, fmt.Sprintf("Mock fault: %d %s.", status, http.StatusText(status))
}

// writeEventStream sends a ConverseStream answer: each event one
// event-stream message, flushed, the first at once and paced ones
// TokenInterval apart, with the fault's reset, exception and stall.
func (s *Server) writeEventStream(w http.ResponseWriter, r *http.Request, rep reply, f Fault) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if f.hasReset && f.reset == 0 {
		abort(rc)
	}
	ctx := r.Context()
	enc := eventstream.NewEncoder()
	exception := func() {
		typ, msg := streamException(f.status)
		_ = bedrock.EncodeException(w, enc, typ, msg)
		_ = rc.Flush()
	}
	if f.hasException && f.exception == 0 {
		exception()
		return
	}
	for i, ev := range rep.events {
		if ev.paced && !wait(ctx, s.opts.TokenInterval) {
			return
		}
		if err := bedrock.Encode(w, enc, ev.name, ev.data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if f.hasReset && i+1 == f.reset {
			abort(rc)
		}
		if f.hasException && i+1 == f.exception {
			exception()
			return
		}
		if i == 0 && f.stall > 0 && !wait(ctx, f.stall) {
			return
		}
	}
}
