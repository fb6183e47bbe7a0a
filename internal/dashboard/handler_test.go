// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(d *Dashboard, method, path string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	d.ServeHTTP(w, r)
	return w
}

func TestServeHTTP(t *testing.T) {
	d := New()
	d.Watch(newPool(t, "a"))
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{"page", http.MethodGet, "/dashboard", 200, "text/html", `<script src="/dashboard/dashboard.js"`},
		{"page with slash", http.MethodGet, "/dashboard/", 200, "text/html", "warmgate"},
		{"script", http.MethodGet, "/dashboard/dashboard.js", 200, "javascript", "/api/pools"},
		{"style", http.MethodGet, "/dashboard/dashboard.css", 200, "text/css", "prefers-color-scheme"},
		{"head", http.MethodHead, "/dashboard", 200, "text/html", ""},
		{"json", http.MethodGet, "/api/pools", 200, "application/json", `"name":"a"`},
		{"unknown asset", http.MethodGet, "/dashboard/nope.js", 404, "application/json", `"code":"unknown_route"`},
		{"no traversal", http.MethodGet, "/dashboard/../dashboard.go", 404, "application/json", `"error"`},
		{"post", http.MethodPost, "/api/pools", 405, "application/json", `"code":"method_not_allowed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(d, tt.method, tt.path)
			if w.Code != tt.wantStatus {
				t.Fatalf("%s %s: %d %s", tt.method, tt.path, w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, tt.wantType) {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantType)
			}
			if !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body does not contain %q:\n%.300s", tt.wantBody, w.Body)
			}
			if tt.method == http.MethodHead && w.Body.Len() != 0 {
				t.Errorf("HEAD has a body of %d bytes", w.Body.Len())
			}
		})
	}
}

func TestPageHeaders(t *testing.T) {
	d := New()
	w := serve(d, http.MethodGet, "/dashboard")
	h := w.Header()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" {
		t.Errorf("headers = %v, want nosniff and an ETag", h)
	}
	if w2 := serve(d, http.MethodGet, "/dashboard", "If-None-Match", h.Get("ETag")); w2.Code != http.StatusNotModified {
		t.Errorf("revalidation with the ETag: %d, want 304", w2.Code)
	}
	if p := serve(d, http.MethodGet, "/api/pools"); p.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("/api/pools Cache-Control = %q, want no-store", p.Header().Get("Cache-Control"))
	}
}

// TestPageIsSelfContained: the page loads nothing from elsewhere (it must
// work offline and the CSP forbids it), and every asset it names exists.
func TestPageIsSelfContained(t *testing.T) {
	for name, a := range assets {
		for _, m := range regexp.MustCompile(`(?:src|href)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]*)`).FindAllStringSubmatch(string(a.body), -1) {
			ref := m[1] + m[2]
			switch {
			case ref == "data:," || strings.HasPrefix(ref, "#"):
			case strings.HasPrefix(ref, "/dashboard/"):
				if _, ok := assets[strings.TrimPrefix(ref, "/dashboard/")]; !ok {
					t.Errorf("%s refers to %s, which is not embedded", name, ref)
				}
			default:
				t.Errorf("%s refers to %q: only embedded assets may be loaded", name, ref)
			}
		}
		if strings.Contains(string(a.body), "https://") {
			t.Errorf("%s mentions an https:// URL", name)
		}
	}
	for _, want := range []string{"index.html", "dashboard.js", "dashboard.css"} {
		if _, ok := assets[want]; !ok {
			t.Errorf("%s is not embedded", want)
		}
	}
}

func TestPoolsJSON(t *testing.T) {
	d := New()
	d.Watch(newPool(t, "a", "b"))
	w := serve(d, http.MethodGet, "/api/pools")
	var got Snapshot
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("GET /api/pools: %v\n%s", err, w.Body)
	}
	if len(got.Upstreams) != 2 || got.Upstreams[0].Name != "a" || got.Upstreams[1].Name != "b" {
		t.Errorf("upstreams = %+v, want a and b", got.Upstreams)
	}
}

// TestPoolsKeyLimits: /api/pools carries the keys' limits SetKeyLimits
// reads, under keys.limits (an empty list without them), and a failure
// to read them as keys.limits_error, the pools still shown.
func TestPoolsKeyLimits(t *testing.T) {
	d := New()
	d.Watch(newPool(t, "a"))
	type doc struct {
		Upstreams []struct{ Name string } `json:"upstreams"`
		Keys      map[string]json.RawMessage
	}
	get := func() doc {
		t.Helper()
		w := serve(d, http.MethodGet, "/api/pools")
		var got doc
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK || len(got.Upstreams) != 1 {
			t.Fatalf("GET /api/pools: %d %v\n%s", w.Code, err, w.Body)
		}
		return got
	}
	if got := string(get().Keys["limits"]); got != "[]" {
		t.Errorf("keys.limits without SetKeyLimits = %s, want []", got)
	}
	var ctxDeadline bool
	d.SetKeyLimits(func(ctx context.Context) ([]KeyLimit, error) {
		_, ctxDeadline = ctx.Deadline()
		return []KeyLimit{{Name: "team", RPM: &LimitUse{Limit: 10, Remaining: 7, Used: 3, ResetSeconds: 18}}}, nil
	})
	want := `[{"name":"team","rpm":{"limit":10,"remaining":7,"used":3,"reset_seconds":18},"tpm":null}]`
	if got := string(get().Keys["limits"]); got != want {
		t.Errorf("keys.limits = %s, want %s", got, want)
	}
	if !ctxDeadline {
		t.Error("the key limits are read without a deadline")
	}
	d.SetKeyLimits(func(context.Context) ([]KeyLimit, error) { return nil, errors.New("redis: connection refused") })
	got := get()
	if string(got.Keys["limits"]) != "[]" || !strings.Contains(string(got.Keys["limits_error"]), "connection refused") {
		t.Errorf("keys with a failing read = %s / %s, want [] and the error", got.Keys["limits"], got.Keys["limits_error"])
	}
}
