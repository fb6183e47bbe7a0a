// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
)

// Gemini is Google's Gemini API (generativelanguage.googleapis.com),
// spoken natively: generateContent, streamGenerateContent?alt=sse and
// batchEmbedContents. The key goes out as "x-goog-api-key: KEY", never
// in the URL's query (where it would reach access logs). The base URL is
// the versioned API root, https://generativelanguage.googleapis.com/v1beta
// (the version the Gemini SDKs use: function calling, system instructions
// and thought signatures are there); a base URL without a version
// (https://generativelanguage.googleapis.com) gets /v1beta, and one that
// ends in a version (/v1, /v1beta, /v1alpha) is used as given. Request
// paths are relative to it: /models/{model}:generateContent, /models.
const Gemini Kind = "gemini"

// DialectGemini is Gemini's generateContent API.
const DialectGemini Dialect = "gemini"

// GeminiBase is the Gemini API's default base URL.
const GeminiBase = "https://generativelanguage.googleapis.com/v1beta"

// geminiVersion matches a Gemini API version path segment: v1, v1beta,
// v1alpha, v1beta2.
var geminiVersion = regexp.MustCompile(`/v\d+(alpha|beta)?\d*$`)

// geminiSpec is kind gemini's row in kinds.
var geminiSpec = spec{
	dialect: DialectGemini,
	base: func(u *url.URL) {
		if !geminiVersion.MatchString(u.Path) { // the host alone, as the SDKs take it
			u.Path += "/v1beta"
		}
	},
	build: func(s Settings, e *Endpoint) error {
		if s.AnthropicVersion != "" {
			return errors.New("anthropic_version applies to kind anthropic only")
		}
		if s.APIKey != "" {
			e.Header = http.Header{"X-Goog-Api-Key": {s.APIKey}}
		}
		// GET /models lists the models: cheap, and answered (401/403)
		// without a valid key too.
		e.ProbePath = "/models"
		return nil
	},
}
