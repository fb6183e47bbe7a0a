package gateway

import (
	"errors"
	"net/http"

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
// place where upstream error kinds become HTTP statuses.
func statusFor(err error) *apiError {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return &apiError{status: http.StatusBadGateway, typ: openai.TypeUpstream, code: "upstream_error",
			message: "upstream request failed: " + err.Error()}
	}
	e := &apiError{typ: openai.TypeUpstream, message: ue.Error()}
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
