package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/warmgate/warmgate/upstream"
)

// modelsTTL is how long the merged model list is reused: upstream model
// lists change rarely and /v1/models is called at every client start.
const modelsTTL = 30 * time.Second

type modelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string       `json:"object"`
	Data   []modelEntry `json:"data"`
}

// models answers GET /v1/models with what clients can call here: each
// upstream's own list filtered by its model globs (or, when the upstream
// cannot be asked, its literal model names), plus the aliases.
func (g *Gateway) models(w http.ResponseWriter, r *http.Request, rec *accessLog) {
	key, aerr := g.authenticate(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if key != nil {
		rec.key = key.Name
	}
	g.modelsMu.Lock()
	raw := g.modelsRaw
	if raw == nil || time.Since(g.modelsAt) > modelsTTL {
		raw = g.fetchModels(r)
		g.modelsRaw, g.modelsAt = raw, time.Now()
	}
	g.modelsMu.Unlock()
	var list modelList
	_ = json.Unmarshal(raw, &list)
	if key != nil && len(key.Models) > 0 { // show a key only what it may use
		kept := list.Data[:0:0]
		for _, m := range list.Data {
			if keyAllows(key, m.ID) {
				kept = append(kept, m)
			}
		}
		list.Data = kept
		raw, _ = json.Marshal(list)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

func (g *Gateway) fetchModels(r *http.Request) []byte {
	list := modelList{Object: "list", Data: []modelEntry{}}
	seen := map[string]bool{}
	add := func(m modelEntry) {
		if !seen[m.ID] {
			seen[m.ID] = true
			list.Data = append(list.Data, m)
		}
	}
	for _, u := range g.cfg.Upstreams {
		fetched, err := g.fetchUpstreamModels(r, u.Name)
		if err != nil {
			g.log.Warn("listing upstream models failed; using the configured names", "upstream", u.Name, "error", err.Error())
		}
		for _, m := range fetched {
			if u.MatchModel(m.ID) {
				m.Object = "model"
				add(m)
			}
		}
		if err != nil {
			for _, pat := range u.Models {
				if !strings.ContainsAny(pat, "*?[\\") {
					add(modelEntry{ID: pat, Object: "model", OwnedBy: u.Name})
				}
			}
		}
	}
	for alias := range g.cfg.Aliases {
		add(modelEntry{ID: alias, Object: "model", OwnedBy: "warmgate-alias"})
	}
	b, _ := json.Marshal(list)
	return b
}

func (g *Gateway) fetchUpstreamModels(r *http.Request, name string) ([]modelEntry, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/models", nil)
	if err != nil {
		return nil, err
	}
	if g.passAuth[name] {
		if a := r.Header.Get("Authorization"); a != "" {
			req.Header.Set("Authorization", a)
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
	var list modelList
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&list); err != nil {
		return nil, err
	}
	return list.Data, nil
}

type upstreamReady struct {
	Name            string `json:"name"`
	Ready           bool   `json:"ready"`
	ConnectionsOpen int64  `json:"connections_open"`
	Requests        int64  `json:"requests"`
	Failures        int64  `json:"failures"`
	Circuit         string `json:"circuit"`
}

// readyz answers 200 once every upstream has a warm connection or has
// answered a request and its circuit is not open, else 503; the body says
// which upstream is not ready and why.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	all := true
	var ups []upstreamReady
	for _, s := range g.pool.Stats() {
		// Answered at least once (the warm-up counts): an open connection
		// alone may still be in its TLS handshake.
		ok := s.Requests > s.Failures && s.Circuit != upstream.CircuitOpen
		all = all && ok
		ups = append(ups, upstreamReady{Name: s.Name, Ready: ok, ConnectionsOpen: s.Open, Requests: s.Requests,
			Failures: s.Failures, Circuit: s.Circuit.String()})
	}
	// The limits' state: with Redis down the gateway still serves (fail
	// open), so it stays ready; failing closed, limited keys are refused,
	// so it is not.
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	st := g.state.ready(ctx)
	cancel()
	if st.OK {
		g.stateOK() // warmgate_state_up follows a PING that went through, too
	}
	if !st.OK && st.FailClosed {
		all = false
	}
	w.Header().Set("Content-Type", "application/json")
	if !all {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ready": all, "upstreams": ups, "state": st})
}
