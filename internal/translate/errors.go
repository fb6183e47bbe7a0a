// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/openai"
)

// MessagesErrorToChat translates an Anthropic error answer (status and
// body) into an OpenAI one: the status to answer with and the body.
//
// The status is kept, except 529 (overloaded_error), which OpenAI clients
// do not know: it becomes 503. The type and code follow Anthropic's type:
//
//	invalid_request_error  invalid_request_error
//	authentication_error   authentication_error, code invalid_api_key
//	billing_error          invalid_request_error, code billing_error
//	permission_error       permission_error
//	not_found_error        not_found_error
//	request_too_large      invalid_request_error, code request_too_large
//	rate_limit_error       rate_limit_error, code rate_limit_exceeded
//	api_error              server_error
//	timeout_error          server_error, code timeout
//	overloaded_error       server_error, code overloaded
//
// The message is kept. A body that is not an Anthropic error gets a type
// from the status and a message saying what the upstream answered. A
// status that is not an error (an error event in a stream comes with 200)
// is taken from the type.
func MessagesErrorToChat(status int, body []byte) (int, openai.ErrorBody) {
	e, err := anthropic.ParseError(body)
	if err != nil {
		e = anthropic.NewError(anthropic.TypeForStatus(status), noErrorBody(status))
	}
	if status < 400 {
		status = anthropic.StatusForType(e.Error.Type)
		if status == 0 {
			status = http.StatusInternalServerError
		}
	}
	if status == anthropic.StatusOverloaded {
		status = http.StatusServiceUnavailable
	}
	typ, code := openai.TypeServer, ""
	switch e.Error.Type {
	case anthropic.TypeInvalidRequest:
		typ = openai.TypeInvalidRequest
	case anthropic.TypeAuthentication:
		typ, code = openai.TypeAuthentication, "invalid_api_key"
	case anthropic.TypeBilling:
		typ, code = openai.TypeInvalidRequest, "billing_error"
	case anthropic.TypePermission:
		typ = openai.TypePermission
	case anthropic.TypeNotFound:
		typ = openai.TypeNotFound
	case anthropic.TypeRequestTooLarge:
		typ, code = openai.TypeInvalidRequest, "request_too_large"
	case anthropic.TypeRateLimit:
		typ, code = openai.TypeRateLimit, "rate_limit_exceeded"
	case anthropic.TypeTimeout:
		code = "timeout"
	case anthropic.TypeOverloaded:
		code = "overloaded"
	case anthropic.TypeAPI:
	default:
		typ = openaiTypeForStatus(status)
	}
	return status, openai.NewError(typ, code, e.Error.Message)
}

// noErrorBody is the message for an upstream error whose body says nothing.
func noErrorBody(status int) string {
	if status < 400 {
		return "upstream sent an error event mid-stream"
	}
	return "upstream answered status " + strconv.Itoa(status)
}

func openaiTypeForStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return openai.TypeAuthentication
	case http.StatusForbidden:
		return openai.TypePermission
	case http.StatusNotFound:
		return openai.TypeNotFound
	case http.StatusTooManyRequests:
		return openai.TypeRateLimit
	}
	if status >= 400 && status < 500 {
		return openai.TypeInvalidRequest
	}
	return openai.TypeServer
}

// ChatErrorToMessages translates an OpenAI error answer (status and body)
// into an Anthropic one: the status to answer with and the body.
//
// The status is kept; the type comes from it as [anthropic.TypeForStatus]
// says (400 invalid_request_error, 401 authentication_error, 403
// permission_error, 404 not_found_error, 413 request_too_large, 429
// rate_limit_error, 503 overloaded_error, 504 timeout_error, other 4xx
// invalid_request_error, other 5xx api_error). The message is kept. A body
// that is not an OpenAI error gets a message saying what the upstream
// answered. A status that is not an error (an error chunk in a stream
// comes with 200) is taken from the OpenAI type and code.
func ChatErrorToMessages(status int, body []byte) (int, anthropic.ErrorBody) {
	var e openai.ErrorBody
	if json.Unmarshal(body, &e) != nil || (e.Error.Message == "" && e.Error.Type == "") {
		e = openai.NewError("", "", noErrorBody(status))
	}
	if status < 400 {
		code := ""
		if e.Error.Code != nil {
			code = *e.Error.Code
		}
		status = statusForOpenAIType(e.Error.Type, code)
	}
	return status, anthropic.NewError(anthropic.TypeForStatus(status), e.Error.Message)
}

// statusForOpenAIType guesses the status of an OpenAI error sent without
// one (in a stream).
func statusForOpenAIType(typ, code string) int {
	if code == "overloaded" {
		return http.StatusServiceUnavailable
	}
	switch typ {
	case openai.TypeInvalidRequest:
		return http.StatusBadRequest
	case openai.TypeAuthentication:
		return http.StatusUnauthorized
	case openai.TypePermission:
		return http.StatusForbidden
	case openai.TypeNotFound:
		return http.StatusNotFound
	case openai.TypeRateLimit, "insufficient_quota", "tokens", "requests":
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}
