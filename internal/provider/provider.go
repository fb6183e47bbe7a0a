// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package provider knows, per upstream kind, what the gateway needs to talk
// to such an upstream, so that package upstream (the pool) knows nothing of
// providers: the URL request paths go to, the credential headers built from
// the key, a per-attempt request hook, the wire format (dialect) the
// upstream speaks, and a cheap request to probe or warm it.
//
// # Kinds
//
//   - openai (the default): any OpenAI-compatible API. The key goes out as
//     "Authorization: Bearer KEY"; the base URL is used as given (it
//     usually ends in /v1, e.g. https://api.openai.com/v1).
//   - anthropic: Anthropic's Messages API. The key goes out as "x-api-key:
//     KEY" (never Authorization), and "anthropic-version" is set to the
//     configured version (DefaultAnthropicVersion) on a request whose client
//     sent none: a client's own anthropic-version wins, since its SDK reads
//     the answers of the version it asked for. anthropic-beta and every
//     other client header pass as the client sent them. The base URL may be
//     given with or without /v1 (https://api.anthropic.com, as the Anthropic
//     SDKs take it, or https://api.anthropic.com/v1): request paths are
//     relative to the /v1 URL (/messages, /models).
//   - bedrock: AWS Bedrock Runtime (Converse and ConverseStream at
//     /model/{modelId}/converse and /converse-stream: see BedrockPath).
//     Every attempt is signed with Signature Version 4 (aws-sdk-go-v2's
//     signer, service "bedrock") with credentials from the SDK's default
//     chain (environment, shared config and credentials files and their
//     profiles, web identity, ECS and EC2 roles), cached and refreshed when
//     they expire. A region is required; the base URL defaults to
//     https://bedrock-runtime.{region}.amazonaws.com. No API key.
//   - azure: Azure OpenAI, in OpenAI's dialect: its v1 API (base URL
//     ending in /openai/v1) or its deployment style (api_version,
//     deployments); the key goes out as "api-key: KEY", or a Microsoft
//     Entra ID token as "Authorization: Bearer TOKEN" (azure.go).

//   - gemini: Google's Gemini API (see [Gemini]). The key goes out as
//     "x-goog-api-key: KEY"; the base URL may be given with or without its
//     version (/v1beta is added to a bare host).
//
// # Adding a kind
//
// Add a Kind constant and its row in kinds: its dialect, how its base URL
// is normalized, and build, which turns Settings into the Endpoint's
// headers and, where fixed headers are not enough, its Prepare hook. The
// config's kind key accepts every kind in the table, and the gateway puts
// BaseURL, Header and Prepare into the kind's upstream.Config.
//
// Prepare runs on every attempt, warm-up requests included, after the
// pool has set the URL and headers, so it is where a kind:
//   - signs a request (a signature over the final URL, headers and body,
//     fresh on every retry; the body comes from GetBody);
//   - maps a URL: a path that depends on the model (read from GetBody's
//     copy of the body), a query such as api-version, or the warm-up
//     request's GET /models mapped to the kind's own cheap GET;
//   - sets a header whose value changes (a token re-read when it expires).
//
// Settings then grow the keys such a kind needs (a region, deployments, an
// API version), with config validating them. Pool settings its provider's
// edge calls for (idle timeout, HTTP/2, streams per connection) are a row
// in poolDefaults (pool.go).
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Kind names an upstream's API, as the config's upstreams[].kind says it.
type Kind string

// The kinds.
const (
	OpenAI    Kind = "openai"    // any OpenAI-compatible API; the default
	Anthropic Kind = "anthropic" // Anthropic's Messages API
	Bedrock   Kind = "bedrock"   // AWS Bedrock Runtime, SigV4-signed
)

// Dialect is the wire format an upstream speaks: the shape of its requests,
// answers, streams and errors. A request whose client speaks the upstream's
// dialect can be relayed byte for byte; another must be translated.
type Dialect string

// The dialects.
const (
	DialectOpenAI    Dialect = "openai"    // chat/completions, completions, embeddings, responses
	DialectAnthropic Dialect = "anthropic" // messages, messages/count_tokens
	DialectBedrock   Dialect = "bedrock"   // Converse, ConverseStream (AWS event stream)
)

// DefaultAnthropicVersion is the anthropic-version sent to an anthropic
// upstream when neither the client nor the config names one: the version
// every Anthropic API key accepts, whose Messages API shape (events,
// errors, usage) warmgate's translation reads.
const DefaultAnthropicVersion = "2023-06-01"

// Settings are what the configuration says of one upstream that its kind
// needs.
type Settings struct {
	// Kind is the upstream's kind; "" means OpenAI.
	Kind Kind
	// BaseURL is the base_url as configured.
	BaseURL string
	// APIKey is the upstream's key; "" for a keyless upstream.
	APIKey string
	// AnthropicVersion is the anthropic-version sent when the client sent
	// none (kind anthropic only); "" means DefaultAnthropicVersion.
	AnthropicVersion string
	// Region is the AWS region (kind bedrock only, where it is required):
	// it is signed, and names the default base URL.
	Region string
	// Profile is the AWS shared-config profile the credentials come from
	// (kind bedrock only); "" means the SDK's default (AWS_PROFILE, else
	// "default").
	Profile string
	// APIVersion is Azure's api-version query (kind azure only); "" means
	// DefaultAzureAPIVersion in the deployment style, none with the v1 API.
	APIVersion string
	// Deployments maps a model name to its Azure deployment (kind azure
	// only, deployment style); a model not in it is its own deployment.
	Deployments map[string]string
	// EntraToken is a Microsoft Entra ID access token sent as a bearer
	// token instead of a key (kind azure only).
	EntraToken string
	// EntraTokenFile is a file holding such a token, read again when it
	// changes (kind azure only).
	EntraTokenFile string
}

// azureOnly names the first Azure setting s has, or "".
func (s Settings) azureOnly() string {
	switch {
	case s.APIVersion != "":
		return "api_version"
	case len(s.Deployments) > 0:
		return "deployments"
	case s.EntraToken != "":
		return "entra_token_env"
	case s.EntraTokenFile != "":
		return "entra_token_file"
	}
	return ""
}

// Endpoint is how the gateway talks to one upstream: what goes into its
// upstream.Config, and what the gateway needs to choose between relay and
// translation.
type Endpoint struct {
	Kind    Kind
	Dialect Dialect
	// BaseURL is the URL that request paths, without the gateway's /v1,
	// are appended to: /chat/completions, /messages, /models.
	BaseURL string
	// Header is set on every request, replacing the client's headers of the
	// same names: the credentials. It is never logged.
	Header http.Header
	// Passes are the client headers that mean something to this kind's API
	// and go to it as the client sent them (anthropic-version,
	// anthropic-beta), in canonical form; a translating gateway keeps them
	// when the client speaks this dialect. The gateway forwards other
	// client headers too, except credentials.
	Passes []string
	// Prepare is the per-attempt request hook (upstream.Config.Prepare):
	// defaults the client may override, and later signatures or URLs
	// mapped per model. nil when the kind needs none.
	Prepare func(*http.Request) error
	// ProbePath is a cheap GET, relative to BaseURL, that any key (or none:
	// a 401 still answers) may send without running a model: for warm-up
	// requests and warmgate probe.
	ProbePath string
	// Check, when set, fetches what the kind needs from outside the
	// configuration and reports what is missing, saying how to provide
	// it: kind bedrock fetches its AWS credentials (which may ask a
	// metadata service or STS, so it takes a context). Call it once at
	// startup, so that a missing credential stops the start instead of
	// failing every request. nil when the kind needs nothing.
	Check func(ctx context.Context) error
}

// ProbeHeader returns the headers a probe or warm-up request sends: Header
// plus what Prepare would add to a request that has none of the client's.
// Kind bedrock signs each request: its headers are only Header (none),
// and its requests need Prepare.
func (e *Endpoint) ProbeHeader() http.Header {
	req := &http.Request{Header: e.Header.Clone(), URL: &url.URL{}}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if e.Prepare != nil && e.Kind != Bedrock {
		_ = e.Prepare(req) // the kinds' hooks only set defaults: no error
	}
	return req.Header
}

// spec is one kind's row: everything New needs to know of it.
type spec struct {
	dialect Dialect
	// base normalizes a parsed base URL in place (trailing slash removed).
	base func(u *url.URL)
	// defaultBase, when set, is the base URL used when none is configured;
	// kinds without it need one.
	defaultBase func(s Settings) string
	// build fills e's Header, Passes, Prepare and ProbePath from s.
	build func(s Settings, e *Endpoint) error
}

// kinds is the table of kinds; openai first (the default).
var kinds = map[Kind]spec{
	OpenAI: {
		dialect: DialectOpenAI,
		base:    func(*url.URL) {}, // as given: OpenAI-compatible servers put their API under different roots
		build: func(s Settings, e *Endpoint) error {
			if s.AnthropicVersion != "" {
				return errors.New("anthropic_version applies to kind anthropic only")
			}
			if s.APIKey != "" {
				e.Header = http.Header{"Authorization": {"Bearer " + s.APIKey}}
			}
			e.Passes = []string{"Openai-Beta"}
			return nil
		},
	},
	Anthropic: {
		dialect: DialectAnthropic,
		base: func(u *url.URL) {
			if !strings.HasSuffix(u.Path, "/v1") { // the SDKs' base URL: the API is under /v1
				u.Path += "/v1"
			}
		},
		build: func(s Settings, e *Endpoint) error {
			version := s.AnthropicVersion
			if version == "" {
				version = DefaultAnthropicVersion
			} else if err := CheckAnthropicVersion(version); err != nil {
				return err
			}
			if s.APIKey != "" {
				e.Header = http.Header{"X-Api-Key": {s.APIKey}}
			}
			e.Passes = []string{"Anthropic-Version", "Anthropic-Beta"}
			e.Prepare = func(req *http.Request) error {
				if req.Header.Get("Anthropic-Version") == "" {
					req.Header.Set("Anthropic-Version", version)
				}
				return nil
			}
			return nil
		},
	},
	Bedrock: {
		dialect:     DialectBedrock,
		base:        func(*url.URL) {}, // as given: a VPC endpoint or a proxy may put it under a path
		defaultBase: func(s Settings) string { return bedrockBase(s.Region) },
		build: func(s Settings, e *Endpoint) error {
			if s.APIKey != "" {
				return errors.New("kind bedrock takes no API key (requests are signed with AWS credentials from the default chain): remove api_key_env and api_key_file")
			}
			u, _ := url.Parse(e.BaseURL) // New parsed it
			b, err := newBedrock(s, u)
			if err != nil {
				return err
			}
			e.Prepare, e.Check, e.ProbePath = b.prepare, b.check, BedrockProbePath
			return nil
		},
	},
	Azure: azureSpec,

	Gemini: geminiSpec,
}

// Kinds returns every kind, the default first.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds))
	for k := range kinds {
		if k != OpenAI {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return append([]Kind{OpenAI}, out...)
}

// KindNames returns the kinds as one string for messages: "openai, anthropic".
func KindNames() string {
	names := make([]string, 0, len(kinds))
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// ParseKind returns the kind named s; "" is OpenAI. The error lists the
// kinds.
func ParseKind(s string) (Kind, error) {
	if s == "" {
		return OpenAI, nil
	}
	k := Kind(s)
	if _, ok := kinds[k]; !ok {
		return "", fmt.Errorf("unknown kind %q (use one of: %s)", s, KindNames())
	}
	return k, nil
}

// DialectOf returns the dialect kind k speaks, without building an
// Endpoint (which, for bedrock, reads the AWS configuration); an unknown
// kind, "" included, is OpenAI's.
func DialectOf(k Kind) Dialect {
	if sp, ok := kinds[k]; ok {
		return sp.dialect
	}
	return DialectOpenAI
}

// CheckAnthropicVersion reports whether v has the shape of an
// anthropic-version: a date, YYYY-MM-DD.
func CheckAnthropicVersion(v string) error {
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return fmt.Errorf("anthropic_version %q is not a version date (use YYYY-MM-DD, e.g. %s)", v, DefaultAnthropicVersion)
	}
	return nil
}

// New returns the Endpoint for s. Its errors hold no secret (the URL's
// password is redacted).
func New(s Settings) (*Endpoint, error) {
	kind, err := ParseKind(string(s.Kind))
	if err != nil {
		return nil, err
	}
	if k := s.azureOnly(); k != "" && kind != Azure {
		return nil, fmt.Errorf("%s applies to kind azure only", k)
	}
	sp := kinds[kind]
	if kind == Bedrock {
		if s.Region == "" {
			return nil, errors.New("kind bedrock needs a region (e.g. region: us-east-1)")
		}
		if err := CheckRegion(s.Region); err != nil {
			return nil, err
		}
	} else if s.Region != "" || s.Profile != "" {
		return nil, errors.New("region and profile apply to kind bedrock only")
	}
	if s.BaseURL == "" && sp.defaultBase != nil {
		s.BaseURL = sp.defaultBase(s)
	}
	u, err := url.Parse(s.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base_url must be an absolute http:// or https:// URL, e.g. %s", exampleBase(kind))
	}
	u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), ""
	sp.base(u)
	e := &Endpoint{Kind: kind, Dialect: sp.dialect, BaseURL: u.String(), ProbePath: "/models"}
	if err := sp.build(s, e); err != nil {
		return nil, err
	}
	return e, nil
}

// exampleBase is a base URL of kind k, for messages.
func exampleBase(k Kind) string {
	switch k {
	case Anthropic:
		return "https://api.anthropic.com"
	case Bedrock:
		return bedrockBase("us-east-1")
	case Azure:
		return "https://RESOURCE.openai.azure.com/openai/v1"

	case Gemini:
		return GeminiBase
	}
	return "https://api.openai.com/v1"
}
