// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// The endpoint table: every public API path is one row, and everything the
// gateway knows of a path is in its row: the dialect its clients speak
// (the front: how their key and request are read, how errors, heartbeats
// and mid-stream failures are written to them), whether it is routed by
// model, what its requests reserve from a key's tokens per minute, how
// usage is read from its answers and how a complete stream of it ends.
// Adding an endpoint is adding a row.

import (
	"net/http"
	"strings"
)

// endpoint is one row of the endpoint table.
type endpoint struct {
	// path is the route as clients call it; the passthrough row's is
	// "/v1/*". It is also the route's label in logs and metrics.
	path string
	// method is the one method the route takes (others get a 405); ""
	// for any.
	method string
	// routed says the route takes a JSON body that must name a model, and
	// that a variant of its path (a trailing slash, capitals) is the same
	// route (apiRoute). Other rows match their path exactly, and the
	// passthrough row sends a body without a model to every upstream.
	routed bool
	// front is the dialect of the route's clients.
	front *front
	// class is what its requests reserve from their key's tpm before they
	// are sent (estimateTokens).
	class trafficClass
	// usage is how the usage is read from its answers, for tpm limits,
	// budgets, prices, the ledger and metrics.
	usage *usageReader
	// askUsage says its streams carry their usage only when the request
	// asks for it: the gateway asks in the client's place (streamusage.go).
	askUsage bool
	// end is how a complete stream of it ends (streamend.go), made fresh
	// for each stream; nil: its streams are relayed as they come, unjudged.
	end func() streamEnd
	// xlate is how the route is served by upstreams of other dialects, one
	// translation per dialect (translation.go); none: only by upstreams of
	// its own.
	xlate []*translation
	// serve answers the route itself, instead of the relay (GET /v1/models).
	serve func(g *Gateway, w *respWriter, r *http.Request, rec *accessLog)
}

// trafficClass is what a route's requests reserve from their key's tpm.
type trafficClass int

const (
	// classOther reserves nothing; usage the answer reports is still
	// charged.
	classOther trafficClass = iota
	// classGenerate reserves the prompt (estimated from the body's size)
	// and the completion (the request's max_tokens, or a default).
	classGenerate
	// classEmbed reserves the prompt: an embedding has no completion.
	classEmbed
)

// The rows. Routes routed by model are listed first; passthroughRow takes
// every other path under /v1/.
var (
	chatRow = &endpoint{path: "/v1/chat/completions", method: http.MethodPost, routed: true, front: openaiFront,
		class: classGenerate, usage: openaiUsage, askUsage: true, end: newChatEnd, xlate: []*translation{chatToAnthropic, chatToGemini, chatToBedrock}}
	completionsRow = &endpoint{path: "/v1/completions", method: http.MethodPost, routed: true, front: openaiFront,
		class: classGenerate, usage: openaiUsage, askUsage: true, end: newChatEnd}
	embeddingsRow = &endpoint{path: "/v1/embeddings", method: http.MethodPost, routed: true, front: openaiFront,
		class: classEmbed, usage: openaiUsage, xlate: []*translation{embeddingsToGemini}}
	responsesRow = &endpoint{path: "/v1/responses", method: http.MethodPost, routed: true, front: openaiFront,
		class: classGenerate, usage: openaiUsage, end: func() streamEnd { return streamEnd{end: responsesEnd} }}
	modelsRow = &endpoint{path: "/v1/models", method: http.MethodGet, front: openaiFront, class: classOther,
		serve: func(g *Gateway, w *respWriter, r *http.Request, rec *accessLog) { g.models(w, r, rec) }}
	// modelRow is GET /v1/models/{id}; other methods on the path pass
	// through (DELETE of a fine-tuned model).
	modelRow = &endpoint{path: "/v1/models/*", method: http.MethodGet, front: openaiFront,
		serve: func(g *Gateway, w *respWriter, r *http.Request, rec *accessLog) {
			g.model(w, r, rec, strings.TrimPrefix(r.URL.Path, "/v1/models/"))
		}}
	// passthroughRow relays any other /v1/ path to the upstreams of the
	// body's model, if it names one, else to every upstream.
	passthroughRow = &endpoint{path: "/v1/*", front: openaiFront, class: classOther, usage: openaiUsage}
)

// endpoints is the table, by path.
var endpoints = tableOf(chatRow, completionsRow, embeddingsRow, responsesRow, modelsRow, messagesRow, countTokensRow)

func tableOf(rows ...*endpoint) map[string]*endpoint {
	m := make(map[string]*endpoint, len(rows))
	for _, e := range rows {
		m[e.path] = e
	}
	return m
}

// endpointFor returns the row serving method on the clean path p, or nil
// for a path outside the API (not under /v1/).
func endpointFor(p, method string) *endpoint {
	if e := endpoints[p]; e != nil {
		return e
	}
	// "/v1/Chat/completions/" too: some upstreams take it for the route.
	if e := endpoints[apiRoute(p)]; e != nil && e.routed {
		return e
	}
	switch {
	case strings.HasPrefix(p, "/v1/models/") && method == http.MethodGet:
		return modelRow
	case strings.HasPrefix(p, "/v1/"):
		return passthroughRow
	}
	return nil
}

// label is the route's name in logs and metrics: its own path, or "/v1/*"
// for a variant of it and for the passthrough (a bounded set either way).
func (e *endpoint) label(p string) string {
	if e == modelRow || p != e.path {
		return passthroughRow.path
	}
	return e.path
}
