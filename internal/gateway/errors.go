// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
	"github.com/warmgate/warmgate/upstream"
)

// statusClientClosed is the status logged (never sent) when the client went
// away before the answer: nginx's 499.
const statusClientClosed = 499

// apiError is an error the gateway answers itself, in OpenAI's shape.
type apiError struct {
	status     int
	typ        string
	code       string
	message    string
	retryAfter int // seconds; 0 = none
	// retried says the gateway already sent the request more than once
	// (retries, failover, a fallback model): the client should not repeat
	// what the gateway repeated (see shouldRetry).
	retried bool
}

func (e *apiError) Error() string { return e.message }

func errBadRequest(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: openai.TypeInvalidRequest, code: code, message: msg}
}

// statusFor maps an upstream failure to what the client sees. It is the one
// place where upstream error kinds become HTTP statuses. The message names
// the upstream and what went wrong, never its address: the full error is in
// the gateway's log under the request id.
func statusFor(err error) *apiError {
	if errors.Is(err, context.DeadlineExceeded) { // only X-Warmgate-Timeout sets a deadline
		return &apiError{status: http.StatusGatewayTimeout, typ: openai.TypeUpstream, code: "request_timeout",
			message: "the request did not finish within its deadline (X-Warmgate-Timeout, or the upstream's timeouts.total)"}
	}
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return &apiError{status: http.StatusBadGateway, typ: openai.TypeUpstream, code: "upstream_error",
			message: "upstream request failed (see the gateway log for this request id)"}
	}
	e := &apiError{typ: openai.TypeUpstream, message: clientMessage(ue), retried: ue.Attempt > 1}
	switch ue.Kind {
	case upstream.KindPoolExhausted:
		// Every connection was busy for the whole pool wait: a moment
		// later one may be free.
		e.status, e.code, e.retryAfter = http.StatusServiceUnavailable, "pool_exhausted", 1
	case upstream.KindNoUpstream:
		// Its Attempt is the attempt it could not make.
		e.status, e.code, e.retried = http.StatusServiceUnavailable, "no_healthy_upstream", ue.Attempt > 2
		e.retryAfter = 1 // raised below to when a circuit lets a probe through
	case upstream.KindTruncated:
		e.status, e.code = http.StatusBadGateway, "upstream_error"
		if errors.Is(ue.Err, sse.ErrIncomplete) {
			e.code = "stream_incomplete"
		}
	case upstream.KindHeaderTimeout, upstream.KindStreamIdle:
		e.status, e.code = http.StatusGatewayTimeout, "upstream_timeout"
	case upstream.KindCanceled:
		e.status, e.code = statusClientClosed, "client_closed"
	case upstream.KindDNS:
		e.status, e.code = http.StatusBadGateway, "upstream_dns_error"
	case upstream.KindTLS:
		e.status, e.code = http.StatusBadGateway, "upstream_tls_error"
	case upstream.KindDial:
		e.status, e.code = http.StatusBadGateway, "upstream_connect_error"
	default:
		e.status, e.code = http.StatusBadGateway, "upstream_error"
	}
	if ue.RetryAfter > 0 {
		e.retryAfter = max(e.retryAfter, int((ue.RetryAfter+999_999_999)/1e9))
	}
	return e
}

// shouldRetry is the X-Should-Retry header of an answer with status: what
// the official OpenAI and Anthropic SDKs obey over their own rule (retry
// every 408, 409, 429 and 5xx, twice by default). The gateway is the retry
// layer: it retries and fails over what can be retried, within its budget,
// so a client that retried too would multiply each upstream request by its
// own attempts. Hence "false", except for a refusal that only asks the
// client to wait (a 429 or 503 with Retry-After, when the gateway did not
// already send the request more than once): "true", and the SDK waits the
// Retry-After. code is the gateway's error code, "" for a relayed answer;
// retried says the gateway sent the request more than once; wait says the
// answer carries Retry-After. "" (no header) below 400.
func shouldRetry(status int, code string, retried, wait bool) string {
	switch {
	case status < 400:
		return ""
	case retried:
		return "false" // the gateway already retried; the client's would multiply it
	case code == "budget_exceeded":
		return "false" // the key's money is spent until the budget resets
	case wait && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable):
		return "true"
	}
	return "false"
}

// clientMessage says what failed in words a client can act on, without the
// upstream's host, address or certificate details.
func clientMessage(ue *upstream.Error) string {
	name := strconv.Quote(ue.Upstream)
	switch ue.Kind {
	case upstream.KindDial:
		return "could not connect to upstream " + name + " (" + syscallCause(ue.Err, "connection failed") + ")"
	case upstream.KindDNS:
		return "upstream " + name + ": its host name did not resolve"
	case upstream.KindTLS:
		return "upstream " + name + ": TLS handshake failed (certificate not trusted or not valid for the host, or the handshake timed out)"
	case upstream.KindStaleConn, upstream.KindConnReset:
		return "upstream " + name + ": the connection was lost before an answer (" + syscallCause(ue.Err, "connection closed") + ")"
	case upstream.KindTruncated:
		if errors.Is(ue.Err, sse.ErrIncomplete) {
			return "upstream " + name + ": the stream ended before its last event (the answer is incomplete)"
		}
		return "upstream " + name + ": the answer was cut off (" + syscallCause(ue.Err, "connection closed") + ")"
	case upstream.KindNoUpstream, upstream.KindPoolExhausted, upstream.KindHeaderTimeout, upstream.KindStreamIdle:
		return ue.Error() // these name only settings, no addresses
	}
	return "upstream " + name + " failed (see the gateway log for this request id)"
}

// syscallCause is the operating system's word for a network failure
// ("connection refused", "connection reset by peer"), or def.
func syscallCause(err error, def string) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "connection closed"
	}
	return def
}
