// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/openai"
)

// GET /v1/models and GET /v1/models/{id} share their paths between the
// dialects. A client that sends anthropic-version (every Anthropic SDK
// does, OpenAI's never) is served by these rows: the same model table, in
// Anthropic's shape, with Anthropic's errors and paging.
var (
	anthropicModelsRow = &endpoint{path: "/v1/models", method: http.MethodGet, front: anthropicFront, class: classOther,
		serve: func(g *Gateway, w *respWriter, r *http.Request, rec *accessLog) { g.anthropicModels(w, r, rec) }}
	anthropicModelRow = &endpoint{path: "/v1/models/*", method: http.MethodGet, front: anthropicFront,
		serve: func(g *Gateway, w *respWriter, r *http.Request, rec *accessLog) {
			g.anthropicModel(w, r, rec, strings.TrimPrefix(r.URL.Path, "/v1/models/"))
		}}
	// anthropicModelAsk is the route of the exchange that asks the
	// Anthropic upstreams for a model the table lacks.
	anthropicModelAsk = &endpoint{path: "/v1/models/*", method: http.MethodGet, front: anthropicFront}
)

// forClient returns the row that serves r: ep, or for an Anthropic client
// of the model routes, their Anthropic twin.
func forClient(ep *endpoint, r *http.Request) *endpoint {
	if (ep == modelsRow || ep == modelRow) && r.Header.Get("Anthropic-Version") != "" {
		if ep == modelsRow {
			return anthropicModelsRow
		}
		return anthropicModelRow
	}
	return ep
}

// anthropicModel is a model as Anthropic's API describes it.
type anthropicModel struct {
	Type        string `json:"type"` // "model"
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"` // RFC 3339; the epoch when unknown, as Anthropic's own
}

// anthropicModelPage is one page of Anthropic's model list.
type anthropicModelPage struct {
	Data    []json.RawMessage `json:"data"`
	HasMore bool              `json:"has_more"`
	FirstID *string           `json:"first_id"` // null for an empty page
	LastID  *string           `json:"last_id"`
}

// anthropicModelOf describes m in Anthropic's shape: as an Anthropic
// upstream's list did, else with its id as its name and the time an
// OpenAI list gave (the epoch for a configured name).
func anthropicModelOf(m modelEntry) json.RawMessage {
	if m.anthropic != nil {
		return m.anthropic
	}
	b, _ := json.Marshal(anthropicModel{Type: "model", ID: m.ID, DisplayName: m.ID,
		CreatedAt: time.Unix(m.Created, 0).UTC().Format(time.RFC3339)})
	return b
}

// Anthropic's paging of GET /v1/models: limit defaults to 20, from 1 to
// 1000.
const (
	anthropicModelsLimit    = 20
	anthropicModelsMaxLimit = 1000
)

// anthropicModels answers an Anthropic client's GET /v1/models: the model
// table (as models answers it) a page at a time, by limit, after_id and
// before_id, as Anthropic's API pages it.
func (g *Gateway) anthropicModels(w *respWriter, r *http.Request, rec *accessLog) {
	key, aerr := g.authenticate(r, anthropicFront)
	if aerr != nil {
		writeAnthropicError(w, aerr)
		return
	}
	if key != nil {
		rec.key = key.Name
	}
	q := r.URL.Query()
	limit := anthropicModelsLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > anthropicModelsMaxLimit {
			writeAnthropicError(w, errBadRequest("invalid_limit", "limit "+quote(v)+" is not a whole number from 1 to "+
				strconv.Itoa(anthropicModelsMaxLimit)))
			return
		}
		limit = n
	}
	after, before := q.Get("after_id"), q.Get("before_id")
	if after != "" && before != "" {
		writeAnthropicError(w, errBadRequest("invalid_cursor", "send after_id or before_id, not both"))
		return
	}
	var list []modelEntry
	for _, m := range g.modelSnapshot(r).list.Data {
		if keyAllows(key, m.ID) { // a key limited to some models sees only those
			list = append(list, m)
		}
	}
	find := func(id string) int {
		for i, m := range list {
			if m.ID == id {
				return i
			}
		}
		return -1
	}
	lo, hi := 0, min(limit, len(list))
	more := hi < len(list)
	for _, c := range []struct{ name, id string }{{"after_id", after}, {"before_id", before}} {
		if c.id == "" {
			continue
		}
		i := find(c.id)
		if i < 0 {
			writeAnthropicError(w, errBadRequest("invalid_cursor", c.name+" "+quote(c.id)+
				" is not a model in the list (use first_id or last_id of a page)"))
			return
		}
		if c.name == "after_id" {
			lo, hi = i+1, min(i+1+limit, len(list))
			more = hi < len(list)
		} else {
			lo, hi = max(0, i-limit), i
			more = lo > 0
		}
	}
	page := anthropicModelPage{Data: make([]json.RawMessage, 0, hi-lo), HasMore: more}
	for _, m := range list[lo:hi] {
		page.Data = append(page.Data, anthropicModelOf(m))
	}
	if hi > lo {
		page.FirstID, page.LastID = &list[lo].ID, &list[hi-1].ID
	}
	b, _ := json.Marshal(page)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// anthropicModel answers an Anthropic client's GET /v1/models/{id}: from
// the model table, else from the Anthropic upstreams that serve it, else,
// for a model only other dialects' upstreams serve, as the gateway
// describes it; a model no upstream serves, or the key may not use, is a
// 404.
func (g *Gateway) anthropicModel(w *respWriter, r *http.Request, rec *accessLog, id string) {
	if id == "" { // "/v1/models/"
		g.anthropicModels(w, r, rec)
		return
	}
	key, aerr := g.authenticate(r, anthropicFront)
	if aerr != nil {
		writeAnthropicError(w, aerr)
		return
	}
	if key != nil {
		rec.key = key.Name
	}
	rec.model = id
	notFound := &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "model_not_found",
		message: "the model " + quote(id) + " is not served by this gateway (GET /v1/models lists the models it routes)"}
	if !keyAllows(key, id) {
		// As if it did not exist: GET /v1/models does not list it either.
		notFound.message = "this API key may not use model " + quote(id) + " (GET /v1/models lists the models it may use)"
		writeAnthropicError(w, notFound)
		return
	}
	snap := g.modelSnapshot(r)
	m, ok := modelEntry{ID: id}, false
	if i, in := snap.byID[id]; in {
		m, ok = snap.list.Data[i], true
	} else if v := g.dialectView(id, provider.DialectAnthropic); v != nil {
		g.askModel(w, r, rec, anthropicModelAsk, id, v) // its answer is in Anthropic's shape
		return
	} else {
		ok = g.view(id) != nil
	}
	if !ok {
		writeAnthropicError(w, notFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(anthropicModelOf(m))
}
