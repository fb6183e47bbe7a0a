// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package dashboard is warmgate's live view of its upstream pools: an
// upstream.Observer that keeps a few minutes of per-second history per
// upstream, the JSON snapshot built from it and from the pool's live Stats
// (GET /api/pools), and the page that draws it (GET /dashboard), embedded
// in the binary with no build step and no network dependency.
//
// The observer is on the request path, so it is cheap: one mutex per
// upstream, a fixed ring of per-second buckets, and log-bucket histograms
// for latencies; no allocation per attempt. Everything heavier (sums over
// the window, percentiles) happens when a snapshot is taken, at most about
// once a second per open page.
//
// The page and its assets hold no data and are served to anyone who can
// reach the gateway; the data is only at /api/pools, which the gateway
// guards with the admin key when client keys are configured. The page asks
// for that key once and keeps it in sessionStorage.
package dashboard
