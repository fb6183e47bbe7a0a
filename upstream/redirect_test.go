// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// hits records the requests a test server received: path and
// Authorization header.
type hits struct {
	mu  sync.Mutex
	all []string
}

func (h *hits) add(r *http.Request) {
	h.mu.Lock()
	h.all = append(h.all, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
	h.mu.Unlock()
}

func (h *hits) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.all...)
}

// TestRedirectToAnotherHostIsNotReplayedOntoTheUpstream: the upstream
// answers a redirect to a host that is not one of the pool's upstreams. The
// follow-up must not be rewritten onto the upstream (with its credentials,
// under its base path), and the foreign host gets nothing: Pool.Client
// returns the 3xx itself, and a plain http.Client over the pool gets an
// error naming the redirect.
func TestRedirectToAnotherHostIsNotReplayedOntoTheUpstream(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		var atUp, atOther hits
		other := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			atOther.add(r)
			_, _ = io.WriteString(w, "other host")
		})
		up := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			atUp.add(r)
			if strings.HasSuffix(r.URL.Path, "/chat/completions") {
				http.Redirect(w, r, other.URL+"/collect", http.StatusFound)
				return
			}
			_, _ = io.WriteString(w, "upstream")
		})
		p := newPool(t, up, func(c *Config) { c.Header = http.Header{"Authorization": {"Bearer upstream-secret"}} })

		clients := []struct {
			name      string
			client    *http.Client
			wantError bool
		}{
			{"Pool.Client returns the redirect", p.Client(), false},
			{"a plain http.Client over the pool gets an error", &http.Client{Transport: p}, true},
		}
		for _, tc := range clients {
			t.Run(tc.name, func(t *testing.T) {
				atUp.mu.Lock()
				atUp.all = nil
				atUp.mu.Unlock()
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, up.URL+"/v1/chat/completions", strings.NewReader("{}"))
				resp, err := tc.client.Do(req)
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				switch {
				case tc.wantError && !errors.Is(err, ErrRedirectElsewhere):
					t.Errorf("err = %v, want ErrRedirectElsewhere", err)
				case !tc.wantError && (err != nil || resp.StatusCode != http.StatusFound):
					t.Errorf("got %v, %v; want the upstream's 302", resp, err)
				case !tc.wantError && resp.Header.Get("Location") != other.URL+"/collect":
					t.Errorf("Location = %q", resp.Header.Get("Location"))
				}
				if got := atUp.list(); len(got) != 1 || got[0] != "POST /v1/chat/completions auth=Bearer upstream-secret" {
					t.Errorf("the upstream received %q; want only the original request (the redirect replayed onto it)", got)
				}
				if got := atOther.list(); len(got) != 0 {
					t.Errorf("the other host received %q; want nothing", got)
				}
			})
		}

		// A redirect within the upstream's base URL is still followed.
		t.Run("a redirect within the upstream is followed", func(t *testing.T) {
			same := newServer(t, m, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/old" {
					http.Redirect(w, r, "/v1/new", http.StatusMovedPermanently)
					return
				}
				_, _ = io.WriteString(w, r.URL.Path)
			})
			p := newPool(t, same, nil)
			resp, err := p.Client().Get(same.URL + "/v1/old")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "/v1/new" {
				t.Errorf("body %q, want the redirect followed to /v1/new", b)
			}
		})
	})
}
