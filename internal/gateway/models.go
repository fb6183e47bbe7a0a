// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/upstream"
)

// Model list timings.
const (
	// modelsTTL is how long the upstreams' model lists are used before
	// they are asked again: lists change rarely, and /v1/models is called
	// at every client start.
	modelsTTL = 30 * time.Second
	// modelsFetchTimeout bounds one upstream's GET /models. A list is
	// small; an upstream that has not sent it by then is represented by
	// its last list, or its configured model names, until the next
	// refresh.
	modelsFetchTimeout = 5 * time.Second
	// modelsColdWait is how long a caller waits for the first lists when
	// the gateway has none yet. Past it, it is answered with the lists in
	// hand and the configured names of the upstreams still silent; no
	// caller waits after that.
	modelsColdWait = 2 * time.Second
)

type modelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`

	// anthropic is an Anthropic upstream's own description of the
	// model, shown as it is to Anthropic clients (anthropicmodels.go);
	// nil for another upstream's.
	anthropic json.RawMessage
}

type modelList struct {
	Object string       `json:"object"`
	Data   []modelEntry `json:"data"`
}

// modelTable is the gateway's table of models: every upstream's own list
// (GET /models, filtered by its model globs), refreshed in the background
// once it is older than ttl, by one refresh at a time that asks every
// upstream at once. Callers are answered from the table as it is: a slow
// or black-holed upstream holds no caller (except, once, the first ones:
// modelsColdWait).
type modelTable struct {
	ttl time.Duration // modelsTTL; tests shorten it

	mu        sync.Mutex
	lists     [][]modelEntry // by index in cfg.Upstreams; nil: no answer yet
	startedAt time.Time      // start of the last refresh; zero: none yet
	running   chan struct{}  // closed when the refresh in flight ends; nil: none
	ready     bool           // a refresh ended, or a first caller stopped waiting
	snap      *modelSnap     // the merged table; nil: to build from lists
}

// modelSnap is the merged table at one time; never changed once built.
type modelSnap struct {
	list modelList
	raw  []byte         // list as JSON
	byID map[string]int // index in list.Data
}

// models answers GET /v1/models with what clients can call here: each
// upstream's own list filtered by its model globs (or, when the upstream
// has not answered, its literal model names), plus the aliases; a key
// limited to some models sees only those.
func (g *Gateway) models(w http.ResponseWriter, r *http.Request, rec *accessLog) {
	key, aerr := g.authenticate(r, openaiFront)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if key != nil {
		rec.key = key.Name
	}
	snap := g.modelSnapshot(r)
	raw := snap.raw
	if key != nil && len(key.Models) > 0 { // show a key only what it may use
		list := modelList{Object: "list", Data: []modelEntry{}}
		for _, m := range snap.list.Data {
			if keyAllows(key, m.ID) {
				list.Data = append(list.Data, m)
			}
		}
		raw, _ = json.Marshal(list)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

// model answers GET /v1/models/{id} from the model table. A model the
// table lacks but some upstream's globs serve is asked of those upstreams
// only; one no upstream serves, or the key may not use, is a 404.
func (g *Gateway) model(w *respWriter, r *http.Request, rec *accessLog, id string) {
	if id == "" { // "/v1/models/"
		g.models(w, r, rec)
		return
	}
	key, aerr := g.authenticate(r, openaiFront)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if key != nil {
		rec.key = key.Name
	}
	rec.model = id
	if !keyAllows(key, id) {
		// As if it did not exist: GET /v1/models does not list it either.
		writeError(w, &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "model_not_found",
			message: "this API key may not use model " + quote(id) + " (GET /v1/models lists the models it may use)"})
		return
	}
	snap := g.modelSnapshot(r)
	if i, ok := snap.byID[id]; ok {
		b, _ := json.Marshal(snap.list.Data[i])
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	}
	if v := g.dialectView(id, provider.DialectOpenAI); v != nil {
		g.askModel(w, r, rec, passthroughRow, id, v) // its answer is in the client's dialect
		return
	}
	if v := g.view(id); v != nil {
		// Served only by upstreams of another dialect (Bedrock Runtime
		// cannot describe a model; Anthropic's and Gemini's answers are
		// in their own shape): the gateway describes the model it routes.
		b, _ := json.Marshal(modelEntry{ID: id, Object: "model", OwnedBy: v.Upstreams()[0].Name()})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	}
	writeError(w, &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "model_not_found",
		message: "the model " + quote(id) + " is not served by this gateway (GET /v1/models lists the models it routes)"})
}

// askModel relays GET /models/{id} to the upstreams of view, which speak
// the dialect of ep's client, and their answer as it is.
func (g *Gateway) askModel(w *respWriter, r *http.Request, rec *accessLog, ep *endpoint, id string, view *upstream.Pool) {
	x := exchange{ep: ep, w: w, r: r, ur: r, rec: rec}
	resp, err := view.Do(g.outbound(&x, id, nil, attempt{view: view}))
	if err != nil {
		rec.err = err
		var ue *upstream.Error
		if errors.As(err, &ue) {
			rec.upstream = ue.Upstream
		}
		ep.front.writeError(w, statusFor(err))
		return
	}
	defer resp.Body.Close()
	rec.attempt, _ = upstream.AttemptOf(resp)
	rec.upstream = rec.attempt.Upstream
	x.resp = resp
	g.relayAnswer(&x)
}

// modelSnapshot returns the model table, starting a refresh when it is
// older than its ttl. Only when no list has come in yet does the caller
// wait, for the refresh or modelsColdWait, whichever ends first.
func (g *Gateway) modelSnapshot(r *http.Request) *modelSnap {
	t := &g.modelTab
	t.mu.Lock()
	if t.running == nil && (t.startedAt.IsZero() || time.Since(t.startedAt) > t.ttl) {
		t.startedAt, t.running = time.Now(), make(chan struct{})
		go g.refreshModels(context.WithoutCancel(r.Context()), r.Header.Get("Authorization"), t.running)
	}
	wait := t.running
	if t.ready {
		wait = nil
	}
	t.mu.Unlock()
	if wait != nil {
		timer := time.NewTimer(modelsColdWait)
		select {
		case <-wait:
		case <-timer.C:
		case <-r.Context().Done():
		}
		timer.Stop()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ready = true
	if t.snap == nil {
		t.snap = g.buildModels()
	}
	return t.snap
}

// refreshModels asks every upstream for its list at once, each bounded by
// modelsFetchTimeout, and puts each list in the table as it comes; an
// upstream that fails keeps its last list. auth is the Authorization of
// the caller that started it, sent to upstreams that take the client's
// (passAuth). It closes done when every upstream has answered or failed.
func (g *Gateway) refreshModels(ctx context.Context, auth string, done chan struct{}) {
	t := &g.modelTab
	var wg sync.WaitGroup
	for i, u := range g.cfg.Upstreams {
		if g.dialects[u.Name] == provider.DialectBedrock {
			continue // Bedrock Runtime has no model list: the configured names are listed
		}
		wg.Go(func() {
			fetched, err := g.fetchUpstreamModels(ctx, auth, u.Name)
			if err != nil {
				g.log.Warn("listing upstream models failed; GET /v1/models shows its last list, or its configured names",
					"upstream", u.Name, "error", err.Error())
				return
			}
			list := []modelEntry{}
			for _, m := range fetched {
				if u.MatchModel(m.ID) {
					m.Object = "model"
					list = append(list, m)
				}
			}
			t.mu.Lock()
			t.lists[i], t.snap = list, nil
			t.mu.Unlock()
		})
	}
	wg.Wait()
	t.mu.Lock()
	t.running, t.ready = nil, true
	t.mu.Unlock()
	close(done)
}

// buildModels merges the table: each upstream's list in config order (its
// literal model names while it has none), then the aliases, each id once.
// t.mu is held.
func (g *Gateway) buildModels() *modelSnap {
	s := &modelSnap{list: modelList{Object: "list", Data: []modelEntry{}}, byID: map[string]int{}}
	add := func(m modelEntry) {
		if _, seen := s.byID[m.ID]; !seen {
			s.byID[m.ID] = len(s.list.Data)
			s.list.Data = append(s.list.Data, m)
		}
	}
	for i, u := range g.cfg.Upstreams {
		if list := g.modelTab.lists[i]; list != nil {
			for _, m := range list {
				add(m)
			}
		} else {
			for _, pat := range u.Models {
				if !strings.ContainsAny(pat, "*?[\\") {
					add(modelEntry{ID: pat, Object: "model", OwnedBy: u.Name})
				}
			}
		}
		for _, m := range slices.Sorted(maps.Keys(u.Deployments)) { // an Azure upstream's: its list names deployments' models, not these
			if u.MatchModel(m) {
				add(modelEntry{ID: m, Object: "model", OwnedBy: u.Name})
			}
		}
	}
	for _, alias := range slices.Sorted(maps.Keys(g.cfg.Aliases)) {
		add(modelEntry{ID: alias, Object: "model", OwnedBy: "warmgate-alias"})
	}
	s.raw, _ = json.Marshal(s.list)
	return s
}

func (g *Gateway) fetchUpstreamModels(ctx context.Context, auth, name string) ([]modelEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, modelsFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/models", nil)
	if err != nil {
		return nil, err
	}
	gem := g.dialects[name] == provider.DialectGemini
	if g.passAuth[name] && auth != "" {
		if k, ok := strings.CutPrefix(auth, "Bearer "); ok && gem {
			req.Header.Set("X-Goog-Api-Key", k) // where Gemini reads the key
		} else {
			req.Header.Set("Authorization", auth)
		}
	}
	resp, err := g.pool.Only(name).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &apiError{message: "status " + resp.Status}
	}
	var list struct {
		// Data is OpenAI's list, or Anthropic's: its entries are kept as
		// they are for Anthropic clients.
		Data []json.RawMessage `json:"data"`
		// Models is Gemini's list: {"models":[{"name":"models/ID"}]}, its
		// first page (50 models).
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&list); err != nil {
		return nil, err
	}
	out := make([]modelEntry, 0, len(list.Data)+len(list.Models))
	for _, raw := range list.Data {
		var m modelEntry
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		if m.OwnedBy == "" { // Anthropic's list says nothing of it
			m.OwnedBy = name
		}
		if g.dialects[name] == provider.DialectAnthropic {
			m.anthropic = raw
		}
		out = append(out, m)
	}
	if gem {
		for _, m := range list.Models {
			out = append(out, modelEntry{ID: strings.TrimPrefix(m.Name, "models/"), OwnedBy: name})
		}
	}
	return out, nil
}
