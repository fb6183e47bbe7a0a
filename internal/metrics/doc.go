// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package metrics is warmgate's Prometheus instrumentation: the
// implementation of upstream.Observer, a scrape-time collector of the
// pools' own counters, and the gateway-level series. Everything lives in
// the Metrics value's own *prometheus.Registry (never the global one) and
// is served by Metrics.Handler.
//
// The series, with their labels (names fixed by DESIGN.md):
//
// Gateway level, recorded by the gateway through Metrics methods:
//
//	warmgate_requests_total{route,code}                   counter    Request
//	warmgate_request_duration_seconds{route}              histogram  Request
//	warmgate_tokens_total{key,model,kind}                 counter    Tokens (kind: prompt, completion)
//	warmgate_ratelimited_total{key,limit}                 counter    RateLimited
//
// By model and key, with label values from the configuration (Configure):
//
//	warmgate_model_requests_total{model,key,code}         counter    ModelRequest
//	warmgate_model_request_duration_seconds{model}        histogram  ModelRequest
//	warmgate_cost_usd_total{model,key}                    counter    Cost
//
// Per attempt, recorded by the pool through the Observer methods:
//
//	warmgate_upstream_requests_total{upstream,code}       counter    code: status ("200") or failure kind ("dial")
//	warmgate_upstream_retries_total{upstream,reason}      counter    reason: stale_conn, connect, status_429, status_5xx, timeout
//	warmgate_upstream_handshake_seconds{upstream,phase}   histogram  phase: dns, connect, tls
//	warmgate_upstream_pool_wait_seconds{upstream}         histogram  asking for a connection to getting one (or giving up)
//	warmgate_upstream_first_byte_seconds{upstream}        histogram  attempt start to response headers
//	warmgate_upstream_stream_bytes_total{upstream}        counter    response body bytes read
//
// Read from upstream.Pool.Stats at scrape time (see WatchPool), so that they
// match the pool's own counters exactly, warm-up connections included:
//
//	warmgate_upstream_connections_opened_total{upstream,proto}  counter  proto: http/1.1, h2
//	warmgate_upstream_connections_dialed_total{upstream}        counter  every TCP connection, used or not
//	warmgate_upstream_connections_reused_total{upstream}        counter
//	warmgate_upstream_connections_expired_total{upstream}       counter  idle connections closed before the server could
//	warmgate_upstream_connections{upstream,state}               gauge    state: active, idle
//	warmgate_upstream_pool_exhausted_total{upstream}            counter
//	warmgate_upstream_in_flight{upstream}                       gauge
//	warmgate_upstream_idle_timeout_seconds{upstream}            gauge    the idle timeout in effect
//	warmgate_upstream_circuit_state{upstream}                   gauge    0 closed, 1 half-open, 2 open
//
// Plus the standard go_* and process_* collectors.
//
// Latency histograms have buckets from 1ms to 10 minutes, because a model
// can take minutes to answer; handshake and pool-wait histograms from 100µs
// to 30s.
//
// Label values come from bounded sets: upstream names and routes from the
// configuration, codes from HTTP statuses and failure kinds. The key label
// of the token and rate-limit series is the configured key name, never the
// secret. As a guard against unbounded growth, each free-form label (route,
// key, model, limit) keeps at most MaxLabelValues distinct values of at
// most MaxLabelLen bytes; later or longer ones are recorded as "other".
//
// The series by model and key take only values the configuration wrote: a
// model's name when the configuration spells it out, else the longest
// configured glob that matches it, else "other"; "none" for a request
// without a model; a key's configured name, "none" without a key.
// Configure creates at 0 the series a dashboard reads: each key with each
// model it may use.
package metrics
