// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// GET /v1/models and GET /v1/models/{id}: the gateway answers both from
// its own model table (every upstream's list, filtered by its globs, plus
// the aliases), which it refreshes in the background without holding
// callers.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// modelsUpstream is an upstream that serves other models than the mock:
// GET /v1/models lists ids, and GET /v1/models/{id} answers 200 for every
// id it serves (more than it lists) and 404 otherwise. While held (hold),
// its GET /v1/models is black-holed: it blocks until the test releases it
// (unblock; at the latest when the test ends) or the gateway gives up.
type modelsUpstream struct {
	*httptest.Server
	ids     []string
	serves  func(id string) bool
	arrived chan struct{} // gets a value when a held list request arrives
	lists   atomic.Int32  // GET /v1/models received
	ended   atomic.Int32  // held list requests that ended, released or given up
	gets    atomic.Int32  // GET /v1/models/{id} received

	mu      sync.Mutex
	holding bool
	release chan struct{}
}

func startModelsUpstream(t *testing.T, serves func(string) bool, ids ...string) *modelsUpstream {
	t.Helper()
	u := &modelsUpstream{ids: ids, serves: serves, arrived: make(chan struct{}, 16)}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serveHTTP))
	t.Cleanup(u.Close)
	t.Cleanup(u.unblock) // before Close, which waits for handlers
	return u
}

// hold black-holes the list requests from now on.
func (u *modelsUpstream) hold() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.holding {
		u.holding, u.release = true, make(chan struct{})
	}
}

// unblock releases the held list requests, and answers the next ones.
func (u *modelsUpstream) unblock() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.holding {
		u.holding = false
		close(u.release)
	}
}

func (u *modelsUpstream) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "req_models_upstream")
	switch id, ok := strings.CutPrefix(r.URL.Path, "/v1/models/"); {
	case r.URL.Path == "/v1/models":
		u.lists.Add(1)
		u.mu.Lock()
		holding, release := u.holding, u.release
		u.mu.Unlock()
		if holding {
			u.arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			defer u.ended.Add(1)
		}
		data := []map[string]any{}
		for _, id := range u.ids {
			data = append(data, map[string]any{"id": id, "object": "model", "created": 1, "owned_by": "other"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
	case ok && u.serves(id):
		u.gets.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "model", "created": 1, "owned_by": "other"})
	case ok:
		u.gets.Add(1)
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":{"message":"The model '%s' does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}`, id)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":{"message":"Invalid URL","type":"invalid_request_error","param":null,"code":null}}`)
	}
}

// TestModelGetIsAnsweredByTheGateway: GET /v1/models/{id} is answered from
// the gateway's model table, whichever upstream would be picked for a
// request without a model (here "other", tried first, which does not serve
// the mock's models and would answer 404): ids from any upstream's list,
// aliases, and for a key limited to some models only those. An id that no
// list has but some upstream's globs serve is asked of that upstream only;
// an id no upstream serves is the gateway's 404.
func TestModelGetIsAnsweredByTheGateway(t *testing.T) {
	m := startMock(t, mock.Options{})
	other := startModelsUpstream(t, func(id string) bool { return strings.HasPrefix(id, "llama-") }, "llama-3")
	env := map[string]string{"K_ALL": "sk-all-0123456789", "K_MINI": "sk-mini-0123456789"}
	yaml := "upstreams:\n" +
		"  - {name: other, base_url: " + other.URL + "/v1, priority: 0, models: [\"llama-*\"], circuit: {disable: true}}\n" +
		upstreamYAML(t, "mock", m, testModels, "priority: 1", fastRetry, noCircuit) +
		"aliases: {fast: gpt-4.1-mini}\n" +
		"keys:\n  - {name: all, key_env: K_ALL}\n  - {name: mini, key_env: K_MINI, models: [\"gpt-4.1-mini\", \"fast\"]}\n"
	g := startGateway(t, yaml, env)
	tests := []struct {
		name, key, id string
		owner         string // the answer's owned_by; "" for a 404
		msg           string // a part of the 404's message
		upstreamGets  int32  // GET /v1/models/{id} that reached "other"
	}{
		{name: "the mock's model", key: "K_ALL", id: "gpt-4.1", owner: "system"},
		{name: "another of the mock's", key: "K_ALL", id: "text-embedding-3-small", owner: "system"},
		{name: "other's listed model", key: "K_ALL", id: "llama-3", owner: "other"},
		{name: "alias", key: "K_ALL", id: "fast", owner: "warmgate-alias"},
		{name: "served by other's globs, not listed", key: "K_ALL", id: "llama-guard", owner: "other", upstreamGets: 1},
		{name: "no upstream serves it", key: "K_ALL", id: "no-such-model", msg: "not served by this gateway"},
		{name: "limited key, its model", key: "K_MINI", id: "gpt-4.1-mini", owner: "system"},
		{name: "limited key, its alias", key: "K_MINI", id: "fast", owner: "warmgate-alias"},
		{name: "limited key, another model", key: "K_MINI", id: "gpt-4.1", msg: "may not use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := other.gets.Load()
			a := g.do(t, http.MethodGet, "/v1/models/"+tt.id, "", "Authorization", "Bearer "+env[tt.key])
			if got := other.gets.Load() - before; got != tt.upstreamGets {
				t.Errorf("GET /v1/models/%s reached the upstream \"other\" %d times, want %d", tt.id, got, tt.upstreamGets)
			}
			if tt.owner == "" {
				checkError(t, a, http.StatusNotFound, "model_not_found", tt.msg, fmt.Sprintf("%q", tt.id))
				return
			}
			var got struct{ ID, Object, OwnedBy string }
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(a.body, &raw); a.status != http.StatusOK || err != nil {
				t.Fatalf("GET /v1/models/%s: %d %s", tt.id, a.status, a.body)
			}
			_ = json.Unmarshal(raw["id"], &got.ID)
			_ = json.Unmarshal(raw["object"], &got.Object)
			_ = json.Unmarshal(raw["owned_by"], &got.OwnedBy)
			if got.ID != tt.id || got.Object != "model" || got.OwnedBy != tt.owner {
				t.Errorf("GET /v1/models/%s = %s, want id %q, object model, owned_by %q", tt.id, a.body, tt.id, tt.owner)
			}
		})
	}
}

// TestSDKModelsGet: the official SDK's Models.Get against the gateway,
// which answers from its table whichever upstream is tried first; an id
// with a slash (which the SDK sends escaped) too, and a 404 comes back as
// the SDK's *openai.Error.
func TestSDKModelsGet(t *testing.T) {
	m := startMock(t, mock.Options{})
	other := startModelsUpstream(t, func(string) bool { return false }, "meta-llama/Llama-3.1-8B")
	yaml := "upstreams:\n" +
		"  - {name: other, base_url: " + other.URL + "/v1, priority: 0, models: [\"meta-llama/*\"], circuit: {disable: true}}\n" +
		upstreamYAML(t, "mock", m, testModels, "priority: 1", fastRetry, noCircuit)
	g := startGateway(t, yaml, nil)
	c := sdkClient(t, g, "sk-client")
	for id, owner := range map[string]string{"gpt-4.1-mini": "system", "meta-llama/Llama-3.1-8B": "other"} {
		md, err := c.Models.Get(t.Context(), id)
		if err != nil {
			t.Fatalf("Models.Get(%q): %v", id, err)
		}
		if md.ID != id || md.OwnedBy != owner {
			t.Errorf("Models.Get(%q) = id %q, owned_by %q; want owned_by %q", id, md.ID, md.OwnedBy, owner)
		}
	}
	_, err := c.Models.Get(t.Context(), "no-such-model")
	if apiErr := sdkError(t, err, http.StatusNotFound); apiErr.Code != "model_not_found" {
		t.Errorf("code %q, want model_not_found", apiErr.Code)
	}
}

// TestModelsListDoesNotWaitForABlackHoledUpstream: an upstream that never
// answers GET /v1/models holds no caller past the first wait. The answers
// come while its request is still pending (the fixture blocks it until the
// test releases it): at first, the healthy upstream's list and the
// configured names of the silent one; once it has answered, its own list,
// still served while a later refresh hangs on it.
func TestModelsListDoesNotWaitForABlackHoledUpstream(t *testing.T) {
	m := startMock(t, mock.Options{})
	hole := startModelsUpstream(t, func(string) bool { return true }, "llama-3", "llama-guard")
	hole.hold()
	yaml := "upstreams:\n" + upstreamYAML(t, "mock", m, testModels, fastRetry, noCircuit) +
		"  - {name: hole, base_url: " + hole.URL + "/v1, models: [\"llama-3\", \"llama-*\"], circuit: {disable: true}}\n"
	g := startGateway(t, yaml, nil)
	ids := func() []string {
		t.Helper()
		a := g.do(t, http.MethodGet, "/v1/models", "")
		var list struct{ Data []struct{ ID string } }
		if err := json.Unmarshal(a.body, &list); a.status != http.StatusOK || err != nil {
			t.Fatalf("GET /v1/models: %d %s", a.status, a.body)
		}
		var out []string
		for _, d := range list.Data {
			out = append(out, d.ID)
		}
		slices.Sort(out)
		return out
	}
	mockModels := []string{"gpt-4.1", "gpt-4.1-mini", "gpt-4o-mini", "text-embedding-3-small"}
	// phase checks two calls made while the hole holds a list request:
	// both answered before it ended, with want, from one request to it.
	phase := func(name string, want []string) {
		t.Helper()
		ended, lists := hole.ended.Load(), hole.lists.Load()
		for i := range 2 {
			got := ids()
			if hole.ended.Load() != ended {
				t.Fatalf("%s, call %d: answered only after the black-holed list request ended", name, i+1)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s, call %d: models %q, want %q", name, i+1, got, want)
			}
		}
		select {
		case <-hole.arrived:
		case <-time.After(requestTimeout):
			t.Fatalf("%s: the gateway never asked the black-holed upstream for its list", name)
		}
		if n := hole.lists.Load() - lists; n != 1 {
			t.Errorf("%s: the black-holed upstream was asked %d times, want 1 (one refresh at a time)", name, n)
		}
	}
	// No list yet: the mock's, and the hole's configured name.
	phase("first calls", slices.Sorted(slices.Values(append(slices.Clone(mockModels), "llama-3"))))

	// Released, it answers, and its list comes in without another refresh.
	hole.unblock()
	eventually(t, 5*time.Second, "the released upstream's list in GET /v1/models", func() bool {
		return slices.Contains(ids(), "llama-guard")
	})

	// Stale at once and black-holed again: callers get the last lists
	// while the refresh hangs.
	hole.hold()
	g.Handler.SetModelsTTL(0)
	phase("stale table", slices.Sorted(slices.Values(append(slices.Clone(mockModels), "llama-3", "llama-guard"))))
}
