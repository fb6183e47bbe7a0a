// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/warmgate/warmgate/upstream"
)

// lifecycle is what /readyz knows of the running Server beyond its config:
// whether the warm-up still runs and whether shutdown began. One per
// Server, shared by every Gateway its reloads install; nil for a Gateway
// made by New alone, which is then ready as soon as it exists.
type lifecycle struct {
	warming  atomic.Int32 // warm-ups running (Server.Warm, Server.StartWarm)
	draining atomic.Bool  // shutdown began: balancers must stop sending
}

// upstreamReady is one upstream's line in /readyz's details.
type upstreamReady struct {
	Name            string `json:"name"`
	Ready           bool   `json:"ready"`
	ConnectionsOpen int64  `json:"connections_open"`
	Requests        int64  `json:"requests"`
	Failures        int64  `json:"failures"`
	Circuit         string `json:"circuit"`
}

// readyz answers whether this instance can serve: 200 {"status":"ready"}
// once the warm-up is done, unless shutdown began or the limits' state
// backend is down while redis.fail_closed refuses limited keys; else 503
// {"status":"not ready"}. The instance, not an upstream: an upstream that
// is down or has an open circuit never makes it 503, or every replica
// behind a load balancer would go unready at once over one provider's
// outage. The details (why not, each upstream's health, the state
// backend) are shown only to requests that pass the admin check: they
// name upstreams and counts.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	var reasons []string
	if l := g.life; l != nil {
		if l.draining.Load() {
			reasons = append(reasons, "shutting down: load balancers should stop sending; requests in flight are finishing")
		}
		if l.warming.Load() > 0 {
			reasons = append(reasons, "warming up: opening connections to the upstreams")
		}
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
		reasons = append(reasons, "the limits' state backend (Redis) cannot be reached and redis.fail_closed refuses limited keys")
	}
	status, code := "ready", http.StatusOK
	if len(reasons) > 0 {
		status, code = "not ready", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if !g.admin(discardWriter{}, r) {
		_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
		return
	}
	ups := []upstreamReady{}
	for _, s := range g.pool.Stats() {
		// Answered at least once (the warm-up counts) and not skipped: an
		// open connection alone may still be in its TLS handshake.
		ok := s.Requests > s.Failures && s.Circuit != upstream.CircuitOpen
		ups = append(ups, upstreamReady{Name: s.Name, Ready: ok, ConnectionsOpen: s.Open, Requests: s.Requests,
			Failures: s.Failures, Circuit: s.Circuit.String()})
	}
	_ = json.NewEncoder(w).Encode(struct {
		Status    string          `json:"status"`
		Reasons   []string        `json:"reasons,omitempty"`
		Upstreams []upstreamReady `json:"upstreams"`
		State     stateReady      `json:"state"`
	}{status, reasons, ups, st})
}

// discardWriter takes and drops a refusal: readyz asks g.admin for its
// verdict only, without the answer it would write.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}
