// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/warmgate/warmgate/openai"
)

// ui holds the page and its assets, served under /dashboard/.
//
//go:embed ui
var ui embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assets are the embedded files by name, loaded once.
var assets = func() map[string]asset {
	m := map[string]asset{}
	err := fs.WalkDir(ui, "ui", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := ui.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		m[strings.TrimPrefix(p, "ui/")] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("dashboard: reading the embedded UI: " + err.Error()) // a build defect, not a runtime condition
	}
	return m
}()

// csp lets the page load only its own script and style and talk only to
// its own origin: no inline script, no CDN, nothing that could leak the
// admin key elsewhere.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP serves the page at /dashboard (and /dashboard/), its assets
// at /dashboard/NAME and the snapshot at /api/pools. It does not check
// who is asking: the gateway guards /api/pools with the admin key.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		openai.WriteError(w, http.StatusMethodNotAllowed, openai.TypeInvalidRequest, "method_not_allowed", "method not allowed: use GET", 0)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/api/pools":
		d.servePools(w, r)
	case p == "/dashboard" || p == "/dashboard/":
		serveAsset(w, r, "index.html")
	case strings.HasPrefix(p, "/dashboard/"):
		serveAsset(w, r, strings.TrimPrefix(p, "/dashboard/"))
	default:
		notFound(w, p)
	}
}

func (d *Dashboard) servePools(w http.ResponseWriter, r *http.Request) {
	snap := d.Snapshot()
	if f := d.keyLimits.Load(); f != nil {
		ctx, cancel := context.WithTimeout(r.Context(), keyLimitsTimeout)
		lims, err := (*f)(ctx)
		cancel()
		if err != nil {
			snap.Keys.LimitsError = "cannot read the keys' limits: " + err.Error()
		} else if lims != nil {
			snap.Keys.Limits = lims
		}
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(snap); err != nil {
		openai.WriteError(w, http.StatusInternalServerError, openai.TypeServer, "snapshot_failed", "encoding the snapshot: "+err.Error(), 0)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(buf.Bytes())
}

func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := assets[name]
	if !ok {
		notFound(w, r.URL.Path)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache") // revalidate: the binary may have been upgraded
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

func notFound(w http.ResponseWriter, p string) {
	openai.WriteError(w, http.StatusNotFound, openai.TypeNotFound, "unknown_route",
		"unknown route "+p+": the dashboard is at /dashboard and its data at /api/pools", 0)
}
