// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package probe is the keep-alive doctor behind "warmgate probe": it
// measures, from this machine, how an HTTP endpoint treats connections, and
// turns the measurements into client settings.
//
// [Run] answers four questions with real requests (GET URL+Path):
//
//  1. What does a new connection cost? Samples requests, each on a fresh
//     transport (DNS, TCP connect, full TLS handshake, then the request), and
//     as many on one kept-alive connection, each traced with
//     net/http/httptrace; the difference is what reuse saves per request.
//     It also records the TLS version, cipher suite and ALPN protocol,
//     whether TLS session resumption works (two new connections sharing a
//     tls.ClientSessionCache: does the second resume?) and the server's
//     Keep-Alive header, asked over HTTP/1.1 when the server prefers h2,
//     where the header does not exist.
//  2. How long does the server keep an idle connection? Each candidate idle
//     gap gets its own connection (one dedicated http.Transport with one
//     connection, MaxConnsPerHost 1, that never expires idle connections
//     itself): warm it with a request, wait the gap, send another. The
//     connection survived the gap when the second request went out on the
//     same connection (the dial hook numbers every connection, so a reused
//     connection is a fact, not a guess) and succeeded. Candidates are
//     tested concurrently: first growing gaps (1s, 2s, 4s, … up to IdleMax),
//     then rounds of gaps spread evenly between the longest survivor and the
//     shortest failure, until that bracket is within 10% of its low end. The
//     whole search takes about IdleMax plus twice the timeout, not the sum of
//     all the gaps.
//  3. How many requests does the server serve on one connection before it
//     closes it (Connection: close, GOAWAY, or silently)? Up to MaxRequests
//     requests back to back on one connection.
//  4. What should clients use? [Recommend] turns a [Report] into settings
//     for warmgate, Go's net/http, Python's httpx and Node.js, each with a
//     reason, and warns where a client default outlives the server's idle
//     timeout (the stale-connection race).
//
// The probe connects directly, never through an environment proxy: a proxy
// would answer the questions for itself, not for the endpoint. It trusts the
// system roots (which honour SSL_CERT_FILE and SSL_CERT_DIR) or
// Options.RootCAs. A first request that cannot connect returns an *[Error]
// naming the phase that failed (DNS lookup, TCP connect, TLS handshake).
package probe
