// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package upstream is warmgate's warm connection layer for AI APIs: a pool
// that owns its connections (one http.ClientConn each, HTTP/1.1 or HTTP/2
// by ALPN, built by net/http's own protocol code), with per-phase timeouts
// and one bounded, readable retry and failover loop.
//
// It is a library: Go programs use a Pool as the transport of the official
// SDKs, and the warmgate gateway uses the same Pool for every upstream.
//
//	pool, err := upstream.New([]upstream.Config{{
//		Name:    "openai",
//		BaseURL: "https://api.openai.com/v1",
//	}})
//	if err != nil { ... }
//	defer pool.Close()
//	client := openai.NewClient(option.WithHTTPClient(pool.Client()))
//
// # Lifecycle of one request
//
// Pool.Do resolves the request's path against the upstream's base URL, then
// runs the attempt loop:
//
//  1. Pick an upstream that has not been tried yet (lower Priority first,
//     then fewest requests in flight relative to Weight, of two distinct
//     weighted random candidates), avoiding one marked slow: one whose
//     attempt waited four times its usual time to first byte (at least 1s,
//     and less than FirstByte) without an answer, until it answers again or
//     for 10s (doubled per mark in a row, up to 5 minutes).
//  2. Send one attempt on a clone of the request with a fresh body from
//     GetBody. A timer bounds the wait for a pooled connection (PoolWait)
//     and another the wait for response headers (FirstByte). The pool
//     knows whether the connection was new or reused (it chose it);
//     httptrace tells the handshake phases, whether the request was
//     written and when the first response byte came.
//  3. Classify the outcome. A success returns the response with its body
//     wrapped: the wrapper enforces StreamIdle between reads and reports the
//     outcome when the body ends.
//  4. Otherwise decide from facts whether another attempt is safe (nothing
//     written, a request the upstream provably did not run, a replayable
//     request, or a retryable status) and wait a
//     jittered backoff, honouring Retry-After within the request's deadline.
//
// Once a response has been returned to the caller it is never retried.
//
// The pool sends every request to its own upstreams, whatever host the
// request's URL names, so it does not follow a redirect to another host:
// Pool.Client returns the 3xx to the caller, and Do refuses such a
// follow-up with ErrRedirectElsewhere.
//
// # Connections
//
// Each upstream has two pools (traffic classes) of connections it dials,
// counts, chooses, warms and closes itself: generations (chat,
// completions, responses, messages, Bedrock's converse and invoke) and short
// calls (embeddings, models, everything else), so that streams holding
// every connection never make a short call wait. Within a class:
//
//   - A request takes, in this order: an HTTP/2 connection with a free
//     stream (the least loaded); an idle HTTP/1.1 connection (the most
//     recently used, so that the others can expire); a connection it dials
//     itself, under MaxConns (while HTTP/2 is possible, one dial at a time:
//     one connection may carry everything); else it waits its turn (FIFO).
//     So under concurrency C the pool opens C connections (one on HTTP/2).
//   - MaxConns is a hard cap; a request waits at most PoolWait for a
//     connection, then fails with KindPoolExhausted. MaxIdle caps the idle
//     connections kept: past it the least recently used closes.
//   - A keeper goroutine per upstream opens Prewarm connections at start and
//     re-opens them when they expire, expires idle connections before the
//     server would, and retires connections older than MaxConnAge.
//   - The server's idle timeout is learned from Keep-Alive: timeout=N
//     headers, from idle connections the server closes, and from idle
//     connections found dropped as a request went out on them; idle
//     connections are then closed at 80% of it. A learned timeout is
//     forgotten when a connection idle longer is reused successfully, and
//     idle connections get the configured IdleTimeout again when it was
//     not seen for 10 minutes, so a fluke (a server restart) does not
//     stick. A request that still meets a dropped idle connection (one
//     that waited idle, and fails before the request
//     was written or soon enough after to prove the upstream never ran
//     it: twice the connection's dial time, at least 100ms, at most 1s) is
//     retried at once on a fresh one (KindStaleConn). A connection that
//     fails later may have carried the request to an upstream that ran it:
//     the request is then resent only with an Idempotency-Key header, a
//     safe method, or RetryPolicy.AssumeIdempotent (KindConnReset).
//   - An HTTP/2 connection carries at most MaxStreamsPerConn requests at
//     once (80 by default, under the ~100 providers allow), and never more
//     than the server allows: past that the pool opens another. A new
//     HTTP/2 connection carries only its first request until the server's
//     SETTINGS are in (its first answer, or 100ms), so that a burst is not
//     piled on a server that allows fewer streams.
//   - The pool dials and runs TLS itself; ALPN decides the protocol. An
//     HTTP/2 connection is net/http's (an http.ClientConn). An HTTP/1.1
//     exchange runs in the caller's goroutine, written by net/http's
//     Request.Write and read by http.ReadResponse on the connection's own
//     buffers: no goroutine per connection. An idle HTTP/1.1 connection
//     is looked at (a read that does not wait) before a request is sent
//     on it and by the keeper, so one the server closed is left out, and
//     teaches the idle timeout; the stale-connection retry above remains
//     for a server that drops it in the moment between.
//   - Connections go through the proxy from the environment
//     (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), as with net/http: through a
//     proxy, net/http's http.ClientConn dials, tunnels and speaks HTTP/1.1
//     or HTTP/2.
//   - HTTP/2 connections are pinged after H2PingInterval of silence and
//     dropped after H2PingTimeout without an answer; TCP keep-alive probes
//     run every KeepAlive.
//   - Config.DialContext, when set, opens the connections instead of a TCP
//     dial: an upstream on a unix socket, or a custom dialer.
//
// Stats returns the counters of every upstream (connections opened by
// protocol, reused, open, active, idle, handshake phase averages, pool
// waits, retries by reason, the idle timeout in effect); an Observer
// receives every attempt for metrics and tracing.
//
// Request bodies must be replayable: requests made by http.NewRequest with a
// *bytes.Reader, *bytes.Buffer or *strings.Reader have GetBody set. Do buffers
// any other body (bounded by MaxReplayBody) so that it can be replayed.
// Once an attempt's request is written, the pool and net/http keep nothing
// of its body (an HTTP/2 stream would keep it for the stream's life): an
// answer held for minutes does not hold its request's bytes, except through
// the caller's own request, which is the answer's Request.
package upstream
