// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"bytes"
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
)

// This file makes the mock speak Azure OpenAI: its paths, its api-key
// header, its error shape and its content filter. Azure's answers are
// OpenAI's, so an Azure request is checked here, then served by the
// OpenAI routes under the /v1 path it maps to:
//
//   - /openai/v1/P: the v1 API, P as on OpenAI's API; an api-version
//     query is optional.
//   - /openai/deployments/D/P (chat/completions, completions, embeddings)
//     and /openai/P (models, ...): the deployment style, where
//     api-version is required (without it, Azure's 404 "Resource not
//     found"); a deployment not in Options.AzureDeployments, when that is
//     set, is Azure's 404 DeploymentNotFound.
//
// With Options.APIKey set, an Azure request must carry it as "api-key:
// KEY", or as "Authorization: Bearer KEY" (the mock's stand-in for a
// Microsoft Entra ID token); otherwise Azure's 401. Fault answers use
// Azure's error shape, and a 429 carries retry-after-ms.

// azureKey marks a request's context as an Azure request.
type azureKey struct{}

// isAzure reports whether r came in on an Azure path.
func isAzure(r *http.Request) bool {
	_, ok := r.Context().Value(azureKey{}).(bool)
	return ok
}

// azureError is Azure's own error shape (its gateway's, for
// authentication, routing and throttling): a code and a message, no type.
type azureError struct {
	Error azureErrorInner `json:"error"`
}

type azureErrorInner struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeAzureError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, azureError{azureErrorInner{Code: code, Message: msg}})
}

// azureRoute checks an Azure request (api-version, deployment, key) and
// returns it mapped to the OpenAI route that serves it, marked as Azure.
// A request that fails a check has been answered: ok is false. A path
// outside /openai/ is returned as it is.
func (s *Server) azureRoute(w http.ResponseWriter, r *http.Request) (_ *http.Request, ok bool) {
	rest, found := strings.CutPrefix(r.URL.Path, "/openai/")
	if !found {
		return r, true
	}
	v1 := false
	switch {
	case strings.HasPrefix(rest, "v1/"):
		rest, v1 = strings.TrimPrefix(rest, "v1"), true
	case strings.HasPrefix(rest, "deployments/"):
		d, p, _ := strings.Cut(strings.TrimPrefix(rest, "deployments/"), "/")
		if d == "" || p == "" {
			writeAzureError(w, http.StatusNotFound, "404", "Resource not found")
			return nil, false
		}
		if len(s.opts.AzureDeployments) > 0 && !contains(s.opts.AzureDeployments, d) && r.URL.Query().Get("api-version") != "" {
			writeAzureError(w, http.StatusNotFound, "DeploymentNotFound",
				"The API deployment for this resource does not exist (mock). Check the deployment name.")
			return nil, false
		}
		rest = "/" + p
	default:
		rest = "/" + rest
	}
	if !v1 && r.URL.Query().Get("api-version") == "" {
		// What Azure answers a deployment-style request without one.
		writeAzureError(w, http.StatusNotFound, "404", "Resource not found")
		return nil, false
	}
	if want := s.opts.APIKey; want != "" {
		key := r.Header.Get("Api-Key")
		if key == "" {
			key, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1 {
			writeAzureError(w, http.StatusUnauthorized, "401",
				"Access denied due to invalid subscription key or wrong API endpoint (mock). Provide a valid key in the api-key header.")
			return nil, false
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), azureKey{}, true))
	r.URL.Path = "/v1" + rest
	return r, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// azureFaultError is the body of a status= fault on an Azure route, in
// Azure's shape.
func azureFaultError(status int, f Fault) []byte {
	msg := "Mock fault: " + strconv.Itoa(status) + " " + http.StatusText(status) + "."
	if status == http.StatusTooManyRequests {
		msg = "Requests to the deployment have exceeded the call rate limit of your pricing tier (mock fault). Please retry after " +
			strconv.Itoa(max(f.retryAfter, 1)) + " seconds."
	}
	return append(mustJSON(azureError{azureErrorInner{Code: strconv.Itoa(status), Message: msg}}), '\n')
}

// setAzureRetry sets retry-after-ms on an Azure 429 that has none, from
// retry_after, as Azure sends both.
func setAzureRetry(h http.Header, f Fault) {
	if f.status == http.StatusTooManyRequests && h.Get("Retry-After-Ms") == "" {
		h.Set("Retry-After-Ms", strconv.Itoa(max(f.retryAfter, 1)*1000))
	}
}

// contentFilterError is the body of a content_filter=prompt fault: the
// 400 Azure answers when its content filter rejects a prompt, in OpenAI's
// error shape with Azure's additions (a null type, the status, the
// innererror with the filter's verdict per category).
func contentFilterError() []byte {
	verdict := func(filtered bool, severity string) map[string]any {
		return map[string]any{"filtered": filtered, "severity": severity}
	}
	body := map[string]any{"error": map[string]any{
		"message": "The prompt was filtered by the content management policy (mock fault). Change the prompt and retry.",
		"type":    nil, "param": "prompt", "code": "content_filter", "status": http.StatusBadRequest,
		"innererror": map[string]any{"code": "ResponsibleAIPolicyViolation", "content_filter_result": map[string]any{
			"hate": verdict(false, "safe"), "self_harm": verdict(false, "safe"),
			"sexual": verdict(false, "safe"), "violence": verdict(true, "high"),
			"jailbreak": map[string]any{"filtered": false, "detected": false}}},
	}}
	return append(mustJSON(body), '\n')
}

// contentFiltered turns an OpenAI answer into one whose completion the
// content filter stopped (content_filter=output): finish_reason
// content_filter, in the whole answer or the stream's finish chunk.
func contentFiltered(rep reply) reply {
	from, to := []byte(`"finish_reason":"stop"`), []byte(`"finish_reason":"content_filter"`)
	if !rep.stream {
		rep.body = bytes.ReplaceAll(rep.body, from, to)
		return rep
	}
	events := make([]event, len(rep.events))
	for i, ev := range rep.events {
		ev.data = bytes.ReplaceAll(ev.data, from, to)
		events[i] = ev
	}
	rep.events = events
	return rep
}
