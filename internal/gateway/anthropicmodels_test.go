// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestAnthropicSDKModels: an Anthropic client's GET /v1/models and GET
// /v1/models/{id} are answered in Anthropic's shape, paged as Anthropic
// pages them, with Anthropic's errors; the Anthropic upstream's own
// descriptions pass as they are, other models are described by the
// gateway. An OpenAI client of the same gateway still gets OpenAI's
// shape, also for a model only the Anthropic upstream serves.
func TestAnthropicSDKModels(t *testing.T) {
	m := startMock(t, mock.Options{})
	env := map[string]string{"KEY_ALL": "sk-wg-all-0123456789abcdef", "KEY_CLAUDE": "sk-wg-claude-0123456789abcdef"}
	yaml := "upstreams:\n" +
		upstreamYAML(t, "oai", m, `models: ["gpt-4.1*"]`) +
		upstreamYAML(t, "anth", m, "kind: anthropic", `models: ["claude-*"]`) +
		"aliases: {fast: gpt-4.1-mini}\n" +
		"keys:\n  - {name: all, key_env: KEY_ALL}\n  - {name: claude, key_env: KEY_CLAUDE, models: [\"claude-*\"]}\n"
	g := startGateway(t, yaml, env)
	client := func(key string) anthropic.Client {
		for _, v := range []string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"} {
			t.Setenv(v, "")
		}
		return anthropic.NewClient(aoption.WithBaseURL(g.base+"/"), aoption.WithAPIKey(key),
			aoption.WithHTTPClient(g.hc), aoption.WithMaxRetries(0), aoption.WithRequestTimeout(requestTimeout))
	}
	c := client(env["KEY_ALL"])
	all := []string{"gpt-4.1", "gpt-4.1-mini", "claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "fast"}

	t.Run("pages", func(t *testing.T) {
		page, err := c.Models.List(t.Context(), anthropic.ModelListParams{Limit: anthropic.Int(2)})
		if err != nil {
			t.Fatalf("Models.List: %v", err)
		}
		if ids := modelIDs(page.Data); !slices.Equal(ids, all[:2]) || !page.HasMore ||
			page.FirstID != all[0] || page.LastID != all[1] {
			t.Errorf("first page = %q, has_more %v, first %q, last %q; want %q, true", ids, page.HasMore, page.FirstID, page.LastID, all[:2])
		}
		page, err = c.Models.List(t.Context(), anthropic.ModelListParams{Limit: anthropic.Int(2), BeforeID: anthropic.String("claude-sonnet-4-5")})
		if err != nil {
			t.Fatalf("Models.List before: %v", err)
		}
		if ids := modelIDs(page.Data); !slices.Equal(ids, all[1:3]) || !page.HasMore {
			t.Errorf("page before claude-sonnet-4-5 = %q, has_more %v; want %q, true", ids, page.HasMore, all[1:3])
		}
		var ids []string
		iter := c.Models.ListAutoPaging(t.Context(), anthropic.ModelListParams{Limit: anthropic.Int(4)})
		for iter.Next() {
			ids = append(ids, iter.Current().ID)
		}
		if err := iter.Err(); err != nil {
			t.Fatalf("ListAutoPaging: %v", err)
		}
		if !slices.Equal(ids, all) {
			t.Errorf("every page = %q, want %q", ids, all)
		}
	})

	t.Run("descriptions", func(t *testing.T) {
		page, err := c.Models.List(t.Context(), anthropic.ModelListParams{})
		if err != nil {
			t.Fatalf("Models.List: %v", err)
		}
		byID := map[string]anthropic.ModelInfo{}
		for _, md := range page.Data {
			byID[md.ID] = md
			if md.Type != "model" {
				t.Errorf("model %q: type %q, want model", md.ID, md.Type)
			}
		}
		for _, tt := range []struct {
			id, name string
			at       time.Time
		}{
			{"claude-sonnet-4-5", "Claude Sonnet 4.5", time.Date(2025, 9, 29, 0, 0, 0, 0, time.UTC)}, // the upstream's own
			{"gpt-4.1", "gpt-4.1", time.Unix(1744316542, 0)},                                         // from OpenAI's list
			{"fast", "fast", time.Unix(0, 0)},                                                        // an alias: no date
		} {
			md, ok := byID[tt.id]
			if !ok || md.DisplayName != tt.name || !md.CreatedAt.Equal(tt.at) {
				t.Errorf("model %q = %q created %v; want %q created %v", tt.id, md.DisplayName, md.CreatedAt, tt.name, tt.at)
			}
		}
		// Listed, or served by OpenAI's upstream only (the gateway
		// describes it).
		for _, id := range []string{"claude-haiku-4-5", "gpt-4.1-mini", "gpt-4.1-unlisted"} {
			md, err := c.Models.Get(t.Context(), id, anthropic.ModelGetParams{})
			if err != nil {
				t.Fatalf("Models.Get(%q): %v", id, err)
			}
			if md.ID != id || md.Type != "model" || md.DisplayName == "" {
				t.Errorf("Models.Get(%q) = %+v", id, md)
			}
		}
		// Not listed, but an Anthropic upstream serves the name: it is
		// asked, and its answer relayed.
		_, err = c.Models.Get(t.Context(), "claude-not-listed", anthropic.ModelGetParams{})
		anthropicModelsError(t, err, http.StatusNotFound, "not_found_error")
	})

	t.Run("key sees its models", func(t *testing.T) {
		cc := client(env["KEY_CLAUDE"])
		page, err := cc.Models.List(t.Context(), anthropic.ModelListParams{})
		if err != nil {
			t.Fatalf("Models.List: %v", err)
		}
		if ids := modelIDs(page.Data); !slices.Equal(ids, all[2:5]) {
			t.Errorf("models = %q, want %q", ids, all[2:5])
		}
		_, err = cc.Models.Get(t.Context(), "gpt-4.1", anthropic.ModelGetParams{})
		anthropicModelsError(t, err, http.StatusNotFound, "not_found_error")
	})

	t.Run("errors", func(t *testing.T) {
		bad := client("sk-not-a-key")
		_, err := bad.Models.List(t.Context(), anthropic.ModelListParams{})
		anthropicModelsError(t, err, http.StatusUnauthorized, "authentication_error")
		_, err = c.Models.Get(t.Context(), "no-such-model", anthropic.ModelGetParams{})
		anthropicModelsError(t, err, http.StatusNotFound, "not_found_error")
		for _, q := range []string{"limit=0", "limit=1001", "limit=x", "after_id=no-such-model", "after_id=fast&before_id=gpt-4.1"} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.base+"/v1/models?"+q, nil)
			req.Header.Set("X-Api-Key", env["KEY_ALL"])
			req.Header.Set("Anthropic-Version", "2023-06-01")
			resp, err := g.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Type  string `json:"type"`
				Error struct{ Type, Message string }
			}
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &e) != nil || e.Type != "error" ||
				e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
				t.Errorf("GET /v1/models?%s: %d %s; want Anthropic's 400 invalid_request_error", q, resp.StatusCode, b)
			}
		}
	})

	t.Run("OpenAI client", func(t *testing.T) {
		oc := sdkClient(t, g, env["KEY_ALL"])
		page, err := oc.Models.List(t.Context())
		if err != nil {
			t.Fatalf("Models.List: %v", err)
		}
		var ids []string
		for _, md := range page.Data {
			ids = append(ids, md.ID)
		}
		if !slices.Equal(ids, all) {
			t.Errorf("models = %q, want %q", ids, all)
		}
		// Only the Anthropic upstream serves it, and its answer would be
		// in Anthropic's shape: the gateway describes it.
		md, err := oc.Models.Get(t.Context(), "claude-not-listed")
		if err != nil {
			t.Fatalf("Models.Get: %v", err)
		}
		if md.ID != "claude-not-listed" || md.Object != "model" || md.OwnedBy != "anth" {
			t.Errorf("Models.Get = %s; want OpenAI's shape, owned by anth", md.RawJSON())
		}
	})
}

func modelIDs(list []anthropic.ModelInfo) []string {
	var ids []string
	for _, md := range list {
		ids = append(ids, md.ID)
	}
	return ids
}

// anthropicModelsError checks err is the SDK's *anthropic.Error with
// status and Anthropic's error type typ.
func anthropicModelsError(t *testing.T, err error, status int, typ string) {
	t.Helper()
	var ae *anthropic.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *anthropic.Error", err, err)
	}
	if ae.StatusCode != status || !strings.Contains(ae.RawJSON(), `"type":"`+typ+`"`) {
		t.Errorf("error %d %s; want %d with type %s", ae.StatusCode, ae.RawJSON(), status, typ)
	}
}
