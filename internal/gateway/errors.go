package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/warmgate/warmgate/openai"
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
	e := &apiError{typ: openai.TypeUpstream, message: clientMessage(ue)}
	switch ue.Kind {
	case upstream.KindPoolExhausted:
		e.status, e.code = http.StatusServiceUnavailable, "pool_exhausted"
	case upstream.KindNoUpstream, upstream.KindBreakerOpen:
		e.status, e.code = http.StatusServiceUnavailable, "no_healthy_upstream"
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
		e.retryAfter = int((ue.RetryAfter + 999_999_999) / 1e9)
	}
	return e
}

// writeError renders e. A 499 is not sent: nobody is listening.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.status == statusClientClosed {
		return
	}
	openai.WriteError(w, e.status, e.typ, e.code, e.message, e.retryAfter)
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
