// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"net/http"
	"net/http/pprof"
	"strings"
)

// servePprof serves Go's profiler (net/http/pprof) under /debug/pprof/.
// The caller has checked that it is on and that the request is an
// admin's. The handlers are mounted here rather than through
// http.DefaultServeMux, which would expose them on every server of the
// process.
func servePprof(w http.ResponseWriter, r *http.Request) {
	switch name := strings.TrimPrefix(r.URL.Path, "/debug/pprof/"); name {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default:
		pprof.Index(w, r) // the index, and named profiles (heap, goroutine, allocs, ...)
	}
}
