// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file builds the answers of the API endpoints, shaped like OpenAI's.

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type usage struct {
	PromptTokens     int  `json:"prompt_tokens"`
	CompletionTokens *int `json:"completion_tokens,omitempty"` // absent for embeddings
	TotalTokens      int  `json:"total_tokens"`
}

func newUsage(prompt, completion int) usage {
	return usage{PromptTokens: prompt, CompletionTokens: &completion, TotalTokens: prompt + completion}
}

// promptTokens estimates tokens the usual way: about 4 bytes per token.
func promptTokens(raw []byte) int {
	return max(1, len(raw)/4)
}

// token returns the i-th (1-based) piece of the deterministic content
// "word1 word2 …", so that concatenated pieces equal content(n).
func token(i int) string {
	if i == 1 {
		return "word1"
	}
	return " word" + strconv.Itoa(i)
}

func content(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(token(i))
	}
	return b.String()
}

// completionLength is Options.Tokens, capped by the request's limit; the
// finish reason says which won.
// The first positive limit in limits is the one that counts.
func (s *Server) completionLength(limits ...*int) (int, string) {
	for _, l := range limits {
		if l == nil || *l <= 0 {
			continue
		}
		if *l < s.opts.Tokens {
			return *l, "length"
		}
		break
	}
	return s.opts.Tokens, "stop"
}

func (s *Server) newID(prefix string) string {
	return fmt.Sprintf("%smock%012x", prefix, s.seq.Add(1))
}

// decode parses a request body; the error is OpenAI's 400.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{status: http.StatusBadRequest,
			msg: "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.) " + err.Error()}
	}
	return nil
}

func missing(param string) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, code: "missing_required_parameter",
		msg: fmt.Sprintf("Missing required parameter: '%s'.", param)}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own, marshalable types come here
	}
	return b
}

// isArray reports whether raw is a non-empty JSON array.
func isArray(raw json.RawMessage) bool {
	var items []json.RawMessage
	return json.Unmarshal(raw, &items) == nil && len(items) > 0
}

// ---- /v1/chat/completions ----

type chatRequest struct {
	Model               string          `json:"model"`
	Messages            json.RawMessage `json:"messages"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Tools               []chatTool      `json:"tools"`
}

// chatTool is a tool of a chat request: a function and its parameters.
type chatTool struct {
	Type     string `json:"type"`
	Function struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// chatToolCall is a tool call of an answer, or a fragment of one in a
// stream chunk.
type chatToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             usage        `json:"usage"`
	SystemFingerprint string       `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int         `json:"index"`
	Message      chatMessage `json:"message"`
	Logprobs     *struct{}   `json:"logprobs"`
	FinishReason string      `json:"finish_reason"`
}

type chatMessage struct {
	Role      string         `json:"role"`
	Content   string         `json:"content"`
	Refusal   *string        `json:"refusal"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
}

type chatChunk struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Created           int64             `json:"created"`
	Model             string            `json:"model"`
	SystemFingerprint string            `json:"system_fingerprint"`
	Choices           []chatChunkChoice `json:"choices"`
	Usage             json.RawMessage   `json:"usage,omitempty"` // null on every chunk but the last when include_usage
}

type chatChunkChoice struct {
	Index        int       `json:"index"`
	Delta        chatDelta `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type chatDelta struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content,omitempty"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
}

// chatCall is the tool call a chat answer makes: the first function tool
// of the request, with an input giving each required parameter a value of
// its type (as on the Messages route); none when the request has no tools
// or its last message is a tool result.
func (s *Server) chatCall(req *chatRequest) *chatToolCall {
	var msgs []struct {
		Role string `json:"role"`
	}
	if json.Unmarshal(req.Messages, &msgs) != nil || len(msgs) == 0 || msgs[len(msgs)-1].Role == "tool" {
		return nil
	}
	for _, t := range req.Tools {
		if t.Type == "function" && t.Function.Name != "" {
			c := &chatToolCall{ID: s.newID("call_"), Type: "function"}
			c.Function.Name = t.Function.Name
			c.Function.Arguments = string(toolInput(&anthropicTool{InputSchema: t.Function.Parameters}))
			return c
		}
	}
	return nil
}

const fingerprint = "fp_warmgate_mock"

func (s *Server) chat(r *http.Request, body []byte) (reply, *apiError) {
	var req chatRequest
	if e := decode(body, &req); e != nil {
		return reply{}, e
	}
	if req.Model == "" {
		return reply{}, missing("model")
	}
	if !isArray(req.Messages) {
		return reply{}, missing("messages")
	}
	n, finish := s.completionLength(req.MaxCompletionTokens, req.MaxTokens)
	call := s.chatCall(&req)
	output := n
	if call != nil && finish == "stop" {
		finish, output = "tool_calls", n+promptTokens([]byte(call.Function.Arguments))
	} else {
		call = nil
	}
	u := newUsage(promptTokens(req.Messages), output)
	id, created := s.newID("chatcmpl-"), time.Now().Unix()

	if !req.Stream {
		msg := chatMessage{Role: "assistant", Content: content(n)}
		if call != nil {
			msg.ToolCalls = []chatToolCall{*call}
		}
		return reply{body: mustJSON(chatCompletion{
			ID: id, Object: "chat.completion", Created: created, Model: req.Model,
			Choices: []chatChoice{{Message: msg, FinishReason: finish}},
			Usage:   u, SystemFingerprint: fingerprint,
		})}, nil
	}

	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	chunk := func(d chatDelta, finish *string) []byte {
		c := chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: req.Model,
			SystemFingerprint: fingerprint, Choices: []chatChunkChoice{{Delta: d, FinishReason: finish}}}
		if includeUsage {
			c.Usage = json.RawMessage("null")
		}
		return mustJSON(c)
	}
	empty := ""
	events := make([]event, 0, n+3)
	events = append(events, event{data: chunk(chatDelta{Role: "assistant", Content: &empty}, nil)})
	for i := 1; i <= n; i++ {
		t := token(i)
		events = append(events, event{data: chunk(chatDelta{Content: &t}, nil), paced: i > 1})
	}
	if call != nil { // its id and name, then its arguments in pieces
		zero := 0
		head := *call
		head.Index, head.Function.Arguments = &zero, ""
		events = append(events, event{data: chunk(chatDelta{ToolCalls: []chatToolCall{head}}, nil), paced: true})
		for _, p := range jsonPieces(call.Function.Arguments) {
			var frag chatToolCall
			frag.Index, frag.Function.Arguments = &zero, p
			events = append(events, event{data: chunk(chatDelta{ToolCalls: []chatToolCall{frag}}, nil), paced: true})
		}
	}
	events = append(events, event{data: chunk(chatDelta{}, &finish)})
	if includeUsage {
		events = append(events, event{data: mustJSON(chatChunk{ID: id, Object: "chat.completion.chunk", Created: created,
			Model: req.Model, SystemFingerprint: fingerprint, Choices: []chatChunkChoice{}, Usage: mustJSON(u)})})
	}
	return reply{stream: true, events: events}, nil
}

// ---- /v1/completions ----

type completionRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Stream        bool            `json:"stream"`
	StreamOptions *streamOptions  `json:"stream_options"`
	MaxTokens     *int            `json:"max_tokens"`
}

type textCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []textChoice `json:"choices"`
	Usage             *usage       `json:"usage,omitempty"`
	SystemFingerprint string       `json:"system_fingerprint"`
}

type textChoice struct {
	Text         string    `json:"text"`
	Index        int       `json:"index"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

func (s *Server) completion(r *http.Request, body []byte) (reply, *apiError) {
	var req completionRequest
	if e := decode(body, &req); e != nil {
		return reply{}, e
	}
	if req.Model == "" {
		return reply{}, missing("model")
	}
	if len(req.Prompt) == 0 || string(req.Prompt) == "null" {
		return reply{}, missing("prompt")
	}
	n, finish := s.completionLength(req.MaxTokens)
	u := newUsage(promptTokens(req.Prompt), n)
	id, created := s.newID("cmpl-"), time.Now().Unix()
	obj := func(choices []textChoice, u *usage) []byte {
		return mustJSON(textCompletion{ID: id, Object: "text_completion", Created: created, Model: req.Model,
			Choices: choices, Usage: u, SystemFingerprint: fingerprint})
	}
	if !req.Stream {
		return reply{body: obj([]textChoice{{Text: content(n), FinishReason: &finish}}, &u)}, nil
	}
	events := make([]event, 0, n+2)
	for i := 1; i <= n; i++ {
		events = append(events, event{data: obj([]textChoice{{Text: token(i)}}, nil), paced: i > 1})
	}
	events = append(events, event{data: obj([]textChoice{{FinishReason: &finish}}, nil)})
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		events = append(events, event{data: obj([]textChoice{}, &u)})
	}
	return reply{stream: true, events: events}, nil
}

// ---- /v1/embeddings ----

type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
}

type embeddingList struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  usage       `json:"usage"`
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string
}

// defaultDimensions keeps answers small; "dimensions" asks for more.
const (
	defaultDimensions = 8
	maxDimensions     = 4096
)

func (s *Server) embeddings(r *http.Request, body []byte) (reply, *apiError) {
	var req embeddingRequest
	if e := decode(body, &req); e != nil {
		return reply{}, e
	}
	if req.Model == "" {
		return reply{}, missing("model")
	}
	inputs, e := splitInput(req.Input)
	if e != nil {
		return reply{}, e
	}
	dims := defaultDimensions
	if req.Dimensions != nil {
		if *req.Dimensions < 1 || *req.Dimensions > maxDimensions {
			return reply{}, &apiError{status: http.StatusBadRequest, param: "dimensions",
				msg: fmt.Sprintf("dimensions must be between 1 and %d.", maxDimensions)}
		}
		dims = *req.Dimensions
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		return reply{}, &apiError{status: http.StatusBadRequest, param: "encoding_format",
			msg: fmt.Sprintf("Invalid value for 'encoding_format': %q. Supported values are: 'float' and 'base64'.", req.EncodingFormat)}
	}
	list := embeddingList{Object: "list", Model: req.Model, Data: make([]embedding, len(inputs))}
	for i, in := range inputs {
		v := vector(in, dims)
		list.Data[i] = embedding{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			b := make([]byte, 0, 4*len(v))
			for _, f := range v {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
			}
			list.Data[i].Embedding = base64.StdEncoding.EncodeToString(b)
		}
	}
	p := promptTokens(req.Input)
	list.Usage = usage{PromptTokens: p, TotalTokens: p}
	return reply{body: mustJSON(list)}, nil
}

// splitInput returns one raw JSON value per embedding input: a string, an
// array of strings, an array of token ids (one input), or an array of arrays
// of token ids.
func splitInput(raw json.RawMessage) ([]json.RawMessage, *apiError) {
	invalid := &apiError{status: http.StatusBadRequest, param: "input",
		msg: "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, missing("input")
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return nil, invalid
		}
		return []json.RawMessage{raw}, nil
	case raw[0] != '[':
		return nil, invalid
	}
	var tokens []int
	if json.Unmarshal(raw, &tokens) == nil {
		if len(tokens) == 0 {
			return nil, invalid
		}
		return []json.RawMessage{raw}, nil // a flat token array is one input
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil || len(items) == 0 {
		return nil, invalid
	}
	for _, it := range items {
		var str string
		var toks []int
		if (json.Unmarshal(it, &str) != nil || str == "") && (json.Unmarshal(it, &toks) != nil || len(toks) == 0) {
			return nil, invalid
		}
	}
	return items, nil
}

// vector is a deterministic unit vector derived from the input, so equal
// inputs embed equally.
func vector(in []byte, dims int) []float32 {
	h := fnv.New64a()
	_, _ = h.Write(in)
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x9e3779b97f4a7c15))
	v := make([]float32, dims)
	var norm float64
	for i := range v {
		x := rng.Float64()*2 - 1
		v[i] = float32(x)
		norm += x * x
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}

// ---- /v1/models ----

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

var knownModels = []modelObject{
	{ID: "gpt-4.1", Object: "model", Created: 1744316542, OwnedBy: "system"},
	{ID: "gpt-4.1-mini", Object: "model", Created: 1744318173, OwnedBy: "system"},
	{ID: "gpt-4o-mini", Object: "model", Created: 1721172741, OwnedBy: "system"},
	{ID: "text-embedding-3-small", Object: "model", Created: 1705948997, OwnedBy: "system"},
}

func (s *Server) models(*http.Request, []byte) (reply, *apiError) {
	return reply{body: mustJSON(struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{"list", knownModels})}, nil
}

func (s *Server) model(r *http.Request, _ []byte) (reply, *apiError) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/models/")
	for _, m := range knownModels {
		if m.ID == id {
			return reply{body: mustJSON(m)}, nil
		}
	}
	return reply{}, &apiError{status: http.StatusNotFound, param: "model", code: "model_not_found",
		msg: fmt.Sprintf("The model '%s' does not exist", id)}
}
