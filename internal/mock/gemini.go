// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

// Gemini's API (generativelanguage.googleapis.com), under /v1beta, as
// Google's servers and its SDKs speak it: generateContent,
// streamGenerateContent?alt=sse, embedContent, batchEmbedContents and the
// model list, with the key in x-goog-api-key (or the key query parameter)
// and errors in Google's shape: {"error":{"code","message","status"}}.

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/translate/gemini"
)

// geminiPrefix is the root of the mock's Gemini API.
const geminiPrefix = "/v1beta/"

// isGemini reports whether r is for the mock's Gemini API.
func isGemini(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, geminiPrefix)
}

// geminiModel is one entry of Gemini's model list.
type geminiModel struct {
	Name                       string   `json:"name"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	InputTokenLimit            int      `json:"inputTokenLimit"`
	OutputTokenLimit           int      `json:"outputTokenLimit"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

// geminiModels are the models the mock lists and serves; other names are
// Gemini's 404.
var geminiModels = []geminiModel{
	{Name: "models/gemini-2.5-flash", Version: "001", DisplayName: "Gemini 2.5 Flash", InputTokenLimit: 1048576, OutputTokenLimit: 65536,
		SupportedGenerationMethods: []string{"generateContent", "countTokens"}},
	{Name: "models/gemini-2.5-pro", Version: "2.5", DisplayName: "Gemini 2.5 Pro", InputTokenLimit: 1048576, OutputTokenLimit: 65536,
		SupportedGenerationMethods: []string{"generateContent", "countTokens"}},
	{Name: "models/gemini-embedding-001", Version: "001", DisplayName: "Gemini Embedding 001", InputTokenLimit: 2048, OutputTokenLimit: 1,
		SupportedGenerationMethods: []string{"embedContent", "countTextTokens", "countTokens"}},
}

// serveGemini routes a request under /v1beta: the key, then the method's
// builder, run with the same fault injection as the other APIs.
func (s *Server) serveGemini(w http.ResponseWriter, r *http.Request, idle time.Duration) {
	rest := strings.TrimPrefix(r.URL.Path, geminiPrefix)
	var method string
	var build buildFunc
	switch {
	case rest == "models":
		method, build = http.MethodGet, s.geminiModelList
	case strings.HasPrefix(rest, "models/") && !strings.Contains(rest, ":"):
		method, build = http.MethodGet, s.geminiModelGet
	case strings.HasPrefix(rest, "models/"):
		name, verb, _ := strings.Cut(strings.TrimPrefix(rest, "models/"), ":")
		method = http.MethodPost
		switch verb {
		case "generateContent":
			build = func(r *http.Request, body []byte) (reply, *apiError) { return s.geminiGenerate(r, body, name, false) }
		case "streamGenerateContent":
			build = func(r *http.Request, body []byte) (reply, *apiError) { return s.geminiGenerate(r, body, name, true) }
		case "embedContent":
			build = func(r *http.Request, body []byte) (reply, *apiError) { return s.geminiEmbed(body, name, false) }
		case "batchEmbedContents":
			build = func(r *http.Request, body []byte) (reply, *apiError) { return s.geminiEmbed(body, name, true) }
		}
	}
	switch {
	case build == nil:
		writeError(w, apiError{gemini: true, status: http.StatusNotFound, msg: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)})
	case r.Method != method:
		w.Header().Set("Allow", method)
		writeError(w, apiError{gemini: true, status: http.StatusMethodNotAllowed, msg: fmt.Sprintf("Invalid method for URL (%s %s)", r.Method, r.URL.Path)})
	default:
		if aerr := s.authorizeGemini(r); aerr != nil {
			writeError(w, *aerr)
			return
		}
		s.serveAPI(w, r, idle, dialectGemini, build)
	}
}

// authorizeGemini checks the key when Options.APIKey is set, as Google
// does: none is 403 PERMISSION_DENIED, a wrong one 400 INVALID_ARGUMENT
// with the reason API_KEY_INVALID in its details.
func (s *Server) authorizeGemini(r *http.Request) *apiError {
	want := s.opts.APIKey
	if want == "" {
		return nil
	}
	key := r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	switch {
	case key == "":
		return &apiError{gemini: true, status: http.StatusForbidden,
			msg: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."}
	case subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1:
		return &apiError{gemini: true, status: http.StatusBadRequest, code: "API_KEY_INVALID",
			msg: "API key not valid. Please pass a valid API key."}
	}
	return nil
}

// geminiErrorBody is e in Google's shape; e.code, when set, is the reason
// of an ErrorInfo detail.
func geminiErrorBody(e apiError) gemini.ErrorBody {
	eb := gemini.NewError(e.status, e.msg)
	if e.code != "" {
		eb.Error.Details = mustJSON([]map[string]any{{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": e.code, "domain": "googleapis.com",
			"metadata": map[string]string{"service": "generativelanguage.googleapis.com"}}})
	}
	return eb
}

// geminiFaultError is the body of a status= fault on Gemini's routes.
func geminiFaultError(status int) []byte {
	msg := fmt.Sprintf("Mock fault: %d %s.", status, http.StatusText(status))
	switch status {
	case http.StatusTooManyRequests:
		msg = "Resource has been exhausted (e.g. check quota). (mock fault)"
	case http.StatusServiceUnavailable:
		msg = "The model is overloaded. Please try again later. (mock fault)"
	}
	return append(mustJSON(gemini.NewError(status, msg)), '\n')
}

// geminiInvalid is Google's 400 for a request it cannot take.
func geminiInvalid(format string, args ...any) *apiError {
	return &apiError{gemini: true, status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// geminiKnown reports whether the mock lists model name with method
// (generateContent, or embedContent for embed), else returns Google's
// 404.
func geminiKnown(name string, embed bool) *apiError {
	verb := "generateContent"
	if embed {
		verb = "embedContent"
	}
	for _, m := range geminiModels {
		if m.Name == "models/"+name && slices.Contains(m.SupportedGenerationMethods, verb) {
			return nil
		}
	}
	return &apiError{gemini: true, status: http.StatusNotFound,
		msg: fmt.Sprintf("models/%s is not found for API version v1beta, or is not supported for %s. Call ListModels to see the list of available models and their supported methods.", name, verb)}
}

func (s *Server) geminiModelList(*http.Request, []byte) (reply, *apiError) {
	return reply{body: mustJSON(struct {
		Models []geminiModel `json:"models"`
	}{geminiModels})}, nil
}

func (s *Server) geminiModelGet(r *http.Request, _ []byte) (reply, *apiError) {
	name := strings.TrimPrefix(r.URL.Path, geminiPrefix)
	for _, m := range geminiModels {
		if m.Name == name {
			return reply{body: mustJSON(m)}, nil
		}
	}
	return reply{}, &apiError{gemini: true, status: http.StatusNotFound, msg: fmt.Sprintf("Model is not found: %s for api version v1beta", name)}
}

// geminiCall is the function the answer calls: the first declared (or the
// first allowedFunctionNames names under mode ANY), unless the mode is
// NONE or the last turn holds a functionResponse (the tool's result: the
// answer is text).
func geminiCall(req *gemini.Request) *gemini.FunctionCall {
	if len(req.Contents) > 0 {
		for _, p := range req.Contents[len(req.Contents)-1].Parts {
			if p.FunctionResponse != nil {
				return nil
			}
		}
	}
	var allowed []string
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		if tc.FunctionCallingConfig.Mode == gemini.ModeNone {
			return nil
		}
		allowed = tc.FunctionCallingConfig.AllowedFunctionNames
	}
	for _, t := range req.Tools {
		for _, d := range t.FunctionDeclarations {
			if len(allowed) > 0 && !slices.Contains(allowed, d.Name) {
				continue
			}
			schema := d.Parameters
			if len(schema) == 0 {
				schema = d.ParametersJSONSchema
			}
			return &gemini.FunctionCall{Name: d.Name, Args: toolInput(&anthropicTool{InputSchema: schema})}
		}
	}
	return nil
}

// geminiSafetyRatings are the ratings of a blocked prompt or answer.
var geminiSafetyRatings = []gemini.SafetyRating{
	{Category: "HARM_CATEGORY_HATE_SPEECH", Probability: "NEGLIGIBLE"},
	{Category: "HARM_CATEGORY_DANGEROUS_CONTENT", Probability: "HIGH", Blocked: true},
	{Category: "HARM_CATEGORY_HARASSMENT", Probability: "NEGLIGIBLE"},
	{Category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", Probability: "NEGLIGIBLE"},
}

// geminiGenerate answers generateContent, or streamGenerateContent as SSE
// (alt=sse: each chunk a whole GenerateContentResponse, "\r\n\r\n" after
// each, no end marker; the last chunk has the finishReason and the whole
// usageMetadata). The answer is the usual text, then a functionCall part
// when the request declares functions (finishReason STOP, as Gemini
// gives it for calls too).
func (s *Server) geminiGenerate(r *http.Request, body []byte, name string, stream bool) (reply, *apiError) {
	var req gemini.Request
	if err := json.Unmarshal(body, &req); err != nil {
		return reply{}, geminiInvalid("Invalid JSON payload received. %v", err)
	}
	if len(req.Contents) == 0 {
		return reply{}, geminiInvalid("* GenerateContentRequest.contents: contents is not specified")
	}
	if stream && r.URL.Query().Get("alt") != "sse" {
		return reply{}, geminiInvalid("the mock streams only with alt=sse (SSE framing)")
	}
	if e := geminiKnown(name, false); e != nil {
		return reply{}, e
	}
	var limit *int
	if req.GenerationConfig != nil {
		limit = req.GenerationConfig.MaxOutputTokens
	}
	n, finish := s.completionLength(limit)
	reason := gemini.FinishStop
	if finish == "length" {
		reason = gemini.FinishMaxTokens
	}
	call := geminiCall(&req)
	if reason != gemini.FinishStop {
		call = nil
	}
	prompt := promptTokens(body)
	output := n
	if call != nil {
		output += promptTokens(call.Args)
	}
	full := &gemini.UsageMetadata{PromptTokenCount: prompt, CandidatesTokenCount: output, TotalTokenCount: prompt + output}
	respID := s.newID("")
	version := name
	answer := func(parts []gemini.Part, finish string, u *gemini.UsageMetadata) []byte {
		c := gemini.Candidate{FinishReason: finish}
		if len(parts) > 0 {
			c.Content = &gemini.Content{Role: "model", Parts: parts}
		}
		return mustJSON(gemini.Response{Candidates: []gemini.Candidate{c}, UsageMetadata: u, ModelVersion: version, ResponseID: respID})
	}
	blocked := func(kind string) reply {
		var b []byte
		if kind == "prompt" {
			b = mustJSON(gemini.Response{PromptFeedback: &gemini.PromptFeedback{BlockReason: gemini.FinishSafety, SafetyRatings: geminiSafetyRatings},
				UsageMetadata: &gemini.UsageMetadata{PromptTokenCount: prompt, TotalTokenCount: prompt}, ModelVersion: version, ResponseID: respID})
		} else {
			b = mustJSON(gemini.Response{Candidates: []gemini.Candidate{{FinishReason: gemini.FinishSafety, SafetyRatings: geminiSafetyRatings}},
				UsageMetadata: &gemini.UsageMetadata{PromptTokenCount: prompt, TotalTokenCount: prompt}, ModelVersion: version, ResponseID: respID})
		}
		if !stream {
			return reply{body: b}
		}
		// A stream's answer is cut short: some text, then the block.
		evs := []event{{data: answer([]gemini.Part{{Text: token(1)}}, "", &gemini.UsageMetadata{PromptTokenCount: prompt, TotalTokenCount: prompt})}}
		if kind == "prompt" {
			evs = evs[:0]
		}
		return reply{stream: true, events: append(evs, event{data: b, paced: len(evs) > 0}), noDone: true, crlf: true}
	}

	if !stream {
		parts := []gemini.Part{{Text: content(n)}}
		if call != nil {
			parts = append(parts, gemini.Part{FunctionCall: call})
		}
		return reply{body: answer(parts, reason, full), blocked: blocked}, nil
	}
	running := &gemini.UsageMetadata{PromptTokenCount: prompt, TotalTokenCount: prompt}
	events := make([]event, 0, n+1)
	for i := 1; i < n; i++ {
		events = append(events, event{data: answer([]gemini.Part{{Text: token(i)}}, "", running), paced: i > 1})
	}
	last := []gemini.Part{{Text: token(n)}}
	if n == 0 {
		last = nil
	}
	if call != nil {
		last = append(last, gemini.Part{FunctionCall: call})
	}
	events = append(events, event{data: answer(last, reason, full), paced: n > 1})
	return reply{stream: true, events: events, noDone: true, crlf: true, blocked: blocked}, nil
}

// geminiEmbed answers embedContent (one content) or batchEmbedContents
// (requests, each naming the path's model as models/NAME): deterministic
// unit vectors of 8 floats, or outputDimensionality.
func (s *Server) geminiEmbed(body []byte, name string, batch bool) (reply, *apiError) {
	if e := geminiKnown(name, true); e != nil {
		return reply{}, e
	}
	var reqs []gemini.EmbedRequest
	if batch {
		var b gemini.BatchEmbedRequest
		if err := json.Unmarshal(body, &b); err != nil {
			return reply{}, geminiInvalid("Invalid JSON payload received. %v", err)
		}
		if len(b.Requests) == 0 {
			return reply{}, geminiInvalid("* BatchEmbedContentsRequest.requests: requests is not specified")
		}
		for i, r := range b.Requests {
			if r.Model != "models/"+name {
				return reply{}, geminiInvalid("* BatchEmbedContentsRequest.requests[%d].model: the model %q differs from the request's model models/%s", i, r.Model, name)
			}
		}
		reqs = b.Requests
	} else {
		var r gemini.EmbedRequest
		if err := json.Unmarshal(body, &r); err != nil {
			return reply{}, geminiInvalid("Invalid JSON payload received. %v", err)
		}
		reqs = []gemini.EmbedRequest{r}
	}
	out := make([]gemini.Embedding, len(reqs))
	for i, r := range reqs {
		dims := defaultDimensions
		if d := r.OutputDimensionality; d != nil {
			if *d < 1 || *d > maxDimensions {
				return reply{}, geminiInvalid("outputDimensionality must be between 1 and %d", maxDimensions)
			}
			dims = *d
		}
		var text strings.Builder
		for _, p := range r.Content.Parts {
			text.WriteString(p.Text)
		}
		if text.Len() == 0 {
			return reply{}, geminiInvalid("* EmbedContentRequest.content: contains an empty Part")
		}
		v := vector(mustJSON(text.String()), dims) // as OpenAI's route embeds the same string
		out[i].Values = make([]float64, dims)
		for j, f := range v {
			out[i].Values[j] = float64(f)
		}
	}
	if batch {
		return reply{body: mustJSON(gemini.BatchEmbedResponse{Embeddings: out})}, nil
	}
	return reply{body: mustJSON(gemini.EmbedResponse{Embedding: out[0]})}, nil
}
