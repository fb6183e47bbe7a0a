// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// What a client chooses (its model name above all) reaches the disk and the
// telemetry bounded, whatever its size.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/internal/usage"
)

// maxField is what the test allows a client-chosen field to take: the
// gateway keeps 256 bytes and says how much it cut.
const maxField = 320

// TestHugeModelNameIsNotWrittenWhole: requests whose model name is 2 MiB
// long, refused (403 model_not_allowed, 404 model_not_found) or routed to
// an upstream that takes any model, leave a short access log line, a short
// ledger row (refused ones as the model "(unrouted)"), a short span
// attribute and no such metrics label.
func TestHugeModelNameIsNotWrittenWhole(t *testing.T) {
	huge := strings.Repeat("m", 2<<20)
	m := startMock(t, mock.Options{})
	dir := t.TempDir()
	env := map[string]string{"KA": "sk-team-a-0123456789", "KB": "sk-team-b-0123456789", "ADMIN_KEY": limitEnv["ADMIN_KEY"]}
	// "any" takes every model the globs of "mock" do not: the gateway
	// routes the huge names to it, and the mock answers them.
	yaml := "upstreams:\n" + upstreamYAML(t, "mock", m, testModels, noCircuit) +
		upstreamYAML(t, "any", m, noCircuit) + fmt.Sprintf("data_dir: %q\n", dir) +
		"admin: {key_env: ADMIN_KEY}\nkeys:\n  - {name: a, key_env: KA, models: [\"gpt-*\", \"x-*\"]}\n" +
		"  - {name: b, key_env: KB, models: [\"gpt-4.1-mini\"]}\n"
	g, exp := startTracedGateway(t, yaml, env)

	cases := []struct {
		key, model string
		status     int
		ledger     string // the ledger's model; "" means the model, cut
	}{
		{"KB", "gpt-" + huge, http.StatusForbidden, "(unrouted)"},
		{"KA", "nope-" + huge, http.StatusForbidden, "(unrouted)"},
		{"KA", "x-" + huge, http.StatusOK, ""}, // routed to "any"
	}
	for i, c := range cases {
		id := fmt.Sprintf("huge-%d", i)
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody(c.model, false),
			"Authorization", "Bearer "+env[c.key], "X-Request-Id", id)
		if a.status != c.status {
			t.Fatalf("case %d: %d %.200s, want %d", i, a.status, a.body, c.status)
		}
		if c.status != http.StatusOK && len(a.body) > 4096 { // a 200 is the mock's, which echoes the model
			t.Errorf("case %d: the gateway's error answer is %d bytes", i, len(a.body))
		}
		span, _ := requestSpan(t, exp, id)
		if v := spanAttrs(span)["warmgate.model"].AsString(); len(v) > maxField || !strings.HasPrefix(v, c.model[:8]) {
			t.Errorf("case %d: span attribute warmgate.model is %d bytes (%.40q…), want at most %d, the name's start", i, len(v), v, maxField)
		}
	}
	// The 404 of a model nothing serves needs a gateway whose upstreams
	// all have globs.
	g2 := startGateway(t, defaultYAML(t, m)+fmt.Sprintf("data_dir: %q\n", t.TempDir()), nil)
	if a := g2.do(t, http.MethodPost, "/v1/chat/completions", chatBody("nope-"+huge, false)); a.status != http.StatusNotFound {
		t.Fatalf("unknown model: %d %.200s", a.status, a.body)
	}

	for _, logs := range []string{g.logs.String(), g2.logs.String()} {
		n := 0
		for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
			if len(l) > 4096 {
				t.Errorf("a log line of %d bytes: %.300s…", len(l), l)
			}
			var v map[string]any
			if json.Unmarshal([]byte(l), &v) != nil || v["msg"] != "request" || v["route"] != "/v1/chat/completions" {
				continue
			}
			n++
			model, _ := v["model"].(string)
			if len(model) > maxField || !strings.Contains(model, "mmmm") || !strings.Contains(model, "bytes") {
				t.Errorf("access log model is %d bytes (%.60q), want at most %d, cut with its size", len(model), model, maxField)
			}
		}
		if n == 0 {
			t.Errorf("no access log line for the requests:\n%.2000s", logs)
		}
	}

	// The ledger: one short row per request.
	ctx := context.Background()
	var recs []usage.Record
	eventually(t, 5*time.Second, "3 records in the ledger", func() bool {
		r, err := usage.OpenReadOnly(dir)
		if err != nil {
			return false
		}
		defer r.Close()
		recs, err = r.Recent(ctx, 10)
		return err == nil && len(recs) == 3
	})
	for _, rec := range recs {
		var i int
		if _, err := fmt.Sscanf(rec.RequestID, "huge-%d", &i); err != nil || i >= len(cases) {
			t.Fatalf("ledger row of request %q", rec.RequestID)
		}
		switch want := cases[i].ledger; {
		case len(rec.Model) > maxField:
			t.Errorf("ledger row %s: model of %d bytes", rec.RequestID, len(rec.Model))
		case want != "" && rec.Model != want:
			t.Errorf("ledger row %s: model %.60q, want %q", rec.RequestID, rec.Model, want)
		case want == "" && !strings.HasPrefix(rec.Model, "x-mmmm"):
			t.Errorf("ledger row %s: model %.60q, want the routed name, cut", rec.RequestID, rec.Model)
		}
	}
	var size int64
	for _, f := range []string{"usage.db", "usage.db-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			size += fi.Size()
		}
	}
	if size > 1<<20 {
		t.Errorf("the ledger takes %d bytes on disk for 3 requests", size)
	}

	// The tokens metric's model label.
	a := g.do(t, http.MethodGet, "/metrics", "", adminHdr()...)
	if a.status != http.StatusOK {
		t.Fatalf("/metrics: %d", a.status)
	}
	if len(a.body) > 1<<20 || strings.Contains(string(a.body), strings.Repeat("m", 1000)) {
		t.Errorf("/metrics is %d bytes, with the huge model name in a label", len(a.body))
	}
}
