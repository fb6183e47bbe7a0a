// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package config turns warmgate's YAML file (and the environment) into typed,
// validated configuration. The keys are the public contract in docs/config.md.
package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/provider"
)

// Config is the whole gateway configuration, as Load, Parse or FromEnv
// return it: defaults applied and validated.
type Config struct {
	// Listen is the gateway's address. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Upstreams are the providers requests go to; at least one.
	Upstreams []Upstream `yaml:"upstreams"`
	// Keys are client keys. Empty means open (allowed on loopback only).
	Keys []Key `yaml:"keys"`
	// Redis, when set, shares limits between instances.
	Redis *Redis `yaml:"redis"`
	// DataDir holds durable state (usage ledger). Default ./warmgate-data.
	DataDir string `yaml:"data_dir"`
	// Admin protects /metrics, /dashboard, /api/* and /admin/* when keys exist.
	Admin *Admin `yaml:"admin"`
	// Aliases map a client model name to the upstream model name.
	Aliases map[string]string `yaml:"aliases"`
	// Fallbacks list models tried, in order, when every upstream of a model failed.
	Fallbacks map[string][]string `yaml:"fallbacks"`
	// Server tunes the inbound HTTP server.
	Server Server `yaml:"server"`
	// AllowedHosts are, when the gateway is open (no Keys), the host names
	// besides loopback and the listen address's host that clients may use
	// to reach it (the Host header) and whose web pages may call it (the
	// Origin header); "*" accepts any Host. Ignored when Keys are set.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// Tracing exports OpenTelemetry traces; off unless an endpoint is set.
	Tracing Tracing `yaml:"tracing"`
	// Prices are what models cost, for the usage ledger's cost column and
	// the keys' spend budgets. Keyed by model name or glob (the model globs
	// of Upstream.Models): an exact name wins, then the longest matching
	// glob.
	Prices map[string]Price `yaml:"prices"`
	// Usage configures the durable usage ledger in DataDir.
	Usage Usage `yaml:"usage"`
}

// Price is a model's price in US dollars per million tokens.
type Price struct {
	Prompt     float64 `yaml:"prompt"`
	Completion float64 `yaml:"completion"`
}

// Usage configures the usage ledger.
type Usage struct {
	// Disable turns the ledger off: no file in data_dir, no /api/usage.
	// Budgets still work (they are kept by the rate-limit state, in memory
	// or Redis).
	Disable bool `yaml:"disable"`
}

// Upstream is one provider endpoint (one base URL and one key).
type Upstream struct {
	Name string `yaml:"name"`
	// Kind is the upstream's API: "openai" (any OpenAI-compatible API;
	// "" means openai), "anthropic" (Anthropic's Messages API: the key
	// goes out as x-api-key, anthropic-version is set), "azure" (Azure
	// OpenAI: the key goes out as api-key) or "gemini" (Google's Gemini
	// API: the key goes out as x-goog-api-key). See internal/provider.
	Kind string `yaml:"kind"`
	// BaseURL is the API's root. Kind openai: used as given, usually with
	// /v1 (https://api.openai.com/v1). Kind anthropic: with or without /v1
	// (https://api.anthropic.com); request paths are relative to the /v1 URL.
	// Kind gemini: with or without its version (/v1beta is added to a URL
	// that names none). Kind bedrock: optional (the region's endpoint by default; a VPC
	// endpoint or a proxy when given).
	BaseURL string `yaml:"base_url"`
	// AnthropicVersion is the anthropic-version header sent to a kind
	// anthropic upstream on requests whose client sent none (a client's own
	// wins). "" means provider.DefaultAnthropicVersion (2023-06-01).
	AnthropicVersion string `yaml:"anthropic_version"`
	// Region is the AWS region of a kind bedrock upstream (required there,
	// an error on other kinds): requests are signed for it, and base_url
	// defaults to https://bedrock-runtime.REGION.amazonaws.com.
	Region string `yaml:"region"`
	// Profile is the AWS shared-config profile a kind bedrock upstream's
	// credentials come from; "" means the AWS SDK's default chain
	// (AWS_PROFILE, else "default", and the environment and roles).
	Profile string `yaml:"profile"`
	// APIVersion is Azure's api-version query (kind azure only): in its
	// deployment style, "" means provider.DefaultAzureAPIVersion
	// (2024-10-21); with its v1 API (base_url ending in /openai/v1), none
	// is sent unless set (e.g. "preview").
	APIVersion string `yaml:"api_version"`
	// Deployments map a model name to its Azure deployment name (kind
	// azure, deployment style only); a model not listed is sent to the
	// deployment of its own name.
	Deployments map[string]string `yaml:"deployments"`
	// EntraTokenEnv names an environment variable holding a Microsoft
	// Entra ID access token, sent as "Authorization: Bearer TOKEN" instead
	// of a key (kind azure only).
	EntraTokenEnv string `yaml:"entra_token_env"`
	// EntraTokenFile names a file holding such a token, read again
	// whenever the file changes, so that whatever renews the token only
	// has to rewrite the file (kind azure only).
	EntraTokenFile string `yaml:"entra_token_file"`
	// EntraToken is resolved from EntraTokenEnv by Load; never read from YAML.
	EntraToken string `yaml:"-"`
	// APIKeyEnv names the environment variable holding the upstream key.
	APIKeyEnv string `yaml:"api_key_env"`
	// APIKeyFile names a file holding the upstream key (trailing newline trimmed).
	APIKeyFile string `yaml:"api_key_file"`
	// APIKey is resolved from APIKeyEnv or APIKeyFile by Load; never read from YAML.
	APIKey string `yaml:"-"`
	// Models are globs (path.Match syntax) of the models this upstream serves.
	// Empty means every model.
	Models   []string `yaml:"models"`
	Weight   int      `yaml:"weight"`
	Priority int      `yaml:"priority"`
	Pool     Pool     `yaml:"pool"`
	Timeouts Timeouts `yaml:"timeouts"`
	Retry    Retry    `yaml:"retry"`
	Circuit  Circuit  `yaml:"circuit"`
	TLS      TLS      `yaml:"tls"`
	// ForwardHeaders names client headers that the gateway drops by
	// default (ForwardableHeaders: billing selectors and client-address
	// claims) and passes to this upstream as the client sent them. Default
	// none. (An upstream without a key, on a gateway without Keys, gets the
	// client's own Authorization, and the billing selectors go with it.)
	ForwardHeaders []string `yaml:"forward_headers"`
	// Headers are set on every request to this upstream, replacing the
	// client's (e.g. OpenAI-Organization). Not for secrets: --print-config
	// shows them; credentials go in APIKeyEnv or APIKeyFile.
	Headers map[string]string `yaml:"headers"`
}

// ForwardableHeaders returns the client request headers the gateway drops
// unless an upstream lists them in forward_headers, in canonical form.
// The first three choose which organization, project or Google Cloud
// project an upstream bills: the gateway's key must not bill an account
// the client picks. The others claim the client's address, which nothing
// checks: the gateway neither trusts nor adds them.
func ForwardableHeaders() []string {
	return []string{
		"Openai-Organization", "Openai-Project", "X-Goog-User-Project",
		"X-Forwarded-For", "X-Real-Ip", "True-Client-Ip", "X-Client-Ip", "Cf-Connecting-Ip",
	}
}

// Pool tunes the upstream connection pool. Zero values take the upstream
// package's defaults.
type Pool struct {
	MaxConns    int           `yaml:"max_conns"`
	MaxIdle     int           `yaml:"max_idle"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	Prewarm     int           `yaml:"prewarm"`
	// HTTP2 enables HTTP/2 over TLS; nil means the default (on).
	HTTP2      *bool         `yaml:"http2"`
	MaxConnAge time.Duration `yaml:"max_conn_age"`
	// MaxStreamsPerConn caps concurrent requests per HTTP/2 connection;
	// 0 means the upstream package's default (80).
	MaxStreamsPerConn int `yaml:"max_streams_per_conn"`
}

// applyKindDefaults sets the pool settings left unset to the defaults of
// the upstream's kind (provider.DefaultPool): its provider's edge.
func (p *Pool) applyKindDefaults(kind string) {
	k, err := provider.ParseKind(kind)
	if err != nil {
		return // validate says so
	}
	d := provider.DefaultPool(k)
	if p.IdleTimeout == 0 {
		p.IdleTimeout = d.IdleTimeout
	}
	if p.HTTP2 == nil && d.DisableHTTP2 {
		off := false
		p.HTTP2 = &off
	}
	if p.MaxStreamsPerConn == 0 {
		p.MaxStreamsPerConn = d.MaxStreamsPerConn
	}
}

// Timeouts are per-phase upstream timeouts.
type Timeouts struct {
	Connect    time.Duration `yaml:"connect"`
	TLS        time.Duration `yaml:"tls"`
	FirstByte  time.Duration `yaml:"first_byte"`
	StreamIdle time.Duration `yaml:"stream_idle"`
	PoolWait   time.Duration `yaml:"pool_wait"`
	// Total bounds a whole request to this upstream's models, stream
	// included (the gateway takes the largest among the upstreams serving
	// the model; X-Warmgate-Timeout overrides it). 0 = none.
	Total time.Duration `yaml:"total"`
}

// Retry is the upstream retry policy.
type Retry struct {
	Attempts int           `yaml:"attempts"`
	Base     time.Duration `yaml:"base"`
	Max      time.Duration `yaml:"max"`
	// Budget is the ratio of retries to requests allowed over a window (0..1).
	Budget float64 `yaml:"budget"`
	// AssumeIdempotent resends a request whose connection failed after it
	// was sent, before any answer, though the upstream may have run it
	// (upstream.RetryPolicy.AssumeIdempotent).
	AssumeIdempotent bool `yaml:"assume_idempotent"`
}

// Circuit configures the upstream's circuit breaker: after enough failures
// the upstream is skipped for Cooldown, then one probe request decides.
// Zero values take the defaults (5 failures, ratio 0.5 over 20 requests in
// a 60s window, 30s cooldown).
type Circuit struct {
	// Failures in a row that open the circuit.
	Failures int `yaml:"failures"`
	// Ratio of failed requests in Window that opens it (with MinRequests).
	Ratio       float64       `yaml:"ratio"`
	MinRequests int           `yaml:"min_requests"`
	Window      time.Duration `yaml:"window"`
	// Cooldown is how long an open circuit skips the upstream.
	Cooldown time.Duration `yaml:"cooldown"`
	// Disable turns the breaker off for this upstream.
	Disable bool `yaml:"disable"`
}

// TLS configures how the upstream's certificate is verified.
type TLS struct {
	// CAFile adds a PEM CA bundle to the system roots.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify disables verification; logged as a warning.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// ServerName overrides the SNI / verified name.
	ServerName string `yaml:"server_name"`
}

// Key is one client key.
type Key struct {
	Name string `yaml:"name"`
	// KeySHA256 is the hex SHA-256 of the key.
	KeySHA256 string `yaml:"key_sha256"`
	// KeyEnv names an environment variable holding the key itself.
	KeyEnv string `yaml:"key_env"`
	// Models are globs (the syntax of Upstream.Models) of the models the
	// key may use. Empty means every model.
	Models []string `yaml:"models"`
	// Paths are globs, in the same syntax (* also matches "/"), of the
	// request paths the key may use with requests that name no model: the
	// /v1/ endpoints the gateway passes through (/v1/files, /v1/batches,
	// ...). Empty means every path for a key without Models, and none for
	// a key with Models: a key limited to some models reaches only them
	// unless Paths lets it through, e.g. ["/v1/files*", "/v1/batches*"].
	Paths []string `yaml:"paths"`
	RPM   int      `yaml:"rpm"`
	TPM   int      `yaml:"tpm"`
	// BudgetDaily and BudgetMonthly cap what the key may spend, in US
	// dollars, per UTC day and calendar month, at the prices in Prices. 0
	// means no cap. A request is refused (429, insufficient_quota) once
	// the key has spent its budget; the request that crosses it completes.
	BudgetDaily   float64 `yaml:"budget_daily"`
	BudgetMonthly float64 `yaml:"budget_monthly"`
}

// HasBudget reports whether the key has a spend budget.
func (k Key) HasBudget() bool { return k.BudgetDaily > 0 || k.BudgetMonthly > 0 }

// Redis points at the shared state store: with it, every instance that
// uses the same Redis shares the keys' rpm, tpm and budgets.
type Redis struct {
	// URL is redis://[:password@]host:port/db, or rediss:// for TLS. A
	// password can come from the environment: ${REDIS_PASSWORD}.
	URL string `yaml:"url"`
	// FailClosed refuses requests of limited keys (503) while Redis cannot
	// be reached. Default false: fail open, letting them through with a
	// warning log line and warmgate_state_errors_total counting, so that a
	// Redis outage does not become an outage of the gateway.
	FailClosed bool `yaml:"fail_closed"`
	// Prefix starts every key warmgate writes, so that several gateways
	// (or other applications) can share one Redis. Default "warmgate:".
	Prefix string `yaml:"prefix"`
	// Timeout bounds each Redis call (dial, read, write). Default 250ms:
	// a limit check is on every request's path.
	Timeout time.Duration `yaml:"timeout"`
}

// Admin protects the operational endpoints.
type Admin struct {
	KeyEnv string `yaml:"key_env"`
	// Key is resolved from KeyEnv by Load.
	Key string `yaml:"-"`
	// Pprof serves Go's profiler under /debug/pprof/, behind the admin
	// key like the other operational endpoints. Default off: a profile
	// costs CPU while it runs and shows the program's internals.
	Pprof bool `yaml:"pprof"`
}

// PprofOn reports whether /debug/pprof/ is served.
func (c *Config) PprofOn() bool { return c.Admin != nil && c.Admin.Pprof }

// Server tunes the inbound listener.
type Server struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	MaxHeaderBytes    int           `yaml:"max_header_bytes"`
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`
	DrainTimeout      time.Duration `yaml:"drain_timeout"`
	// ShutdownDelay is how long serve keeps accepting and serving after
	// SIGTERM, with /readyz answering 503, before it stops accepting and
	// drains: load balancers and Kubernetes take a few seconds to stop
	// sending to an instance that is going away. nil means
	// DefaultShutdownDelay, 0 none (see PreStop). SIGINT (Ctrl-C) skips it.
	ShutdownDelay *time.Duration `yaml:"shutdown_delay"`
	// Heartbeat is the interval of ": keep-alive" SSE comments sent to a
	// streaming client while the upstream has not answered yet. Default 15s.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// BodyTimeout and BodyMinRate bound the time a request body may take
	// to arrive once its headers have: at every moment, the time spent
	// reading it may not exceed BodyTimeout plus the bytes received so far
	// divided by BodyMinRate (bytes a second), so a large upload on a slow
	// but steady link goes through and a body that trickles is cut (408).
	// Defaults 20s and 8192 (64 kbit/s). A body the gateway does not read
	// (a refused request's) gets no such allowance: it is dropped at once.
	BodyTimeout time.Duration `yaml:"body_timeout"`
	BodyMinRate int64         `yaml:"body_min_rate"`
	// AllowOpen allows listening beyond loopback without client keys.
	AllowOpen bool `yaml:"allow_open"`
}

// DefaultShutdownDelay is Server.ShutdownDelay's default: a few health
// checks at common intervals, and time for Kubernetes to take a
// terminating pod out of its endpoints, well within its 30s grace period.
const DefaultShutdownDelay = 5 * time.Second

// PreStop returns ShutdownDelay, or DefaultShutdownDelay when it is nil.
func (s Server) PreStop() time.Duration {
	if s.ShutdownDelay == nil {
		return DefaultShutdownDelay
	}
	return *s.ShutdownDelay
}

// Tracing configures OpenTelemetry tracing: a span per request and one per
// upstream attempt, exported over OTLP/HTTP. The zero value is off.
type Tracing struct {
	// OTLPEndpoint is the collector's OTLP/HTTP URL: a base URL such as
	// http://localhost:4318 (spans go to its /v1/traces) or the full traces
	// URL. Empty means the OTEL_EXPORTER_OTLP_* variables decide (see
	// Endpoint), and without them tracing is off.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// SampleRatio is the share of new traces recorded (by trace id), 0..1;
	// nil means DefaultSampleRatio. A request whose caller sent a trace
	// context follows the caller's sampling decision instead, and a
	// request that fails is recorded whatever the ratio (up to 100 a
	// second).
	SampleRatio *float64 `yaml:"sample_ratio"`
	// SamplePerSecond new traces a second are recorded besides
	// SampleRatio's share; nil means DefaultSamplePerSecond, 0 none.
	SamplePerSecond *float64 `yaml:"sample_per_second"`
	// ServiceName is the service.name of the spans; empty means "warmgate".
	ServiceName string `yaml:"service_name"`
}

// DefaultServiceName is Tracing.ServiceName's default.
const DefaultServiceName = "warmgate"

// Endpoint returns the URL spans are sent to, or "" when tracing is off. The
// first that is set wins: otlp_endpoint; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
// used as is; OTEL_EXPORTER_OTLP_ENDPOINT, with /v1/traces appended (the
// OpenTelemetry SDKs' rules for these variables). otlp_endpoint with no path
// gets /v1/traces too. An invalid URL from the environment is an error
// naming the variable.
func (t Tracing) Endpoint(getenv func(string) string) (string, error) {
	if t.OTLPEndpoint != "" {
		u, err := url.Parse(t.OTLPEndpoint)
		if err != nil || !validOTLP(u) {
			return "", fmt.Errorf("tracing.otlp_endpoint: invalid URL %q (use http://host:4318 or https://host/v1/traces)", t.OTLPEndpoint)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		return u.String(), nil
	}
	getenv = getenvOr(getenv)
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || !validOTLP(u) {
			return "", fmt.Errorf("environment variable %s: invalid URL (use http://host:4318)", name)
		}
		if name == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			u = u.JoinPath("v1/traces")
		}
		return u.String(), nil
	}
	return "", nil
}

// Sampling defaults: a quiet gateway traces every request (up to
// DefaultSamplePerSecond a second), a busy one that many plus
// DefaultSampleRatio of the rest, so that tracing stays a small part of
// the gateway's CPU at any load (BENCHMARKS.md); failed requests are
// recorded whatever these say, up to 100 a second.
const (
	DefaultSampleRatio     = 0.01
	DefaultSamplePerSecond = 10
)

// Ratio returns SampleRatio, or DefaultSampleRatio.
func (t Tracing) Ratio() float64 {
	if t.SampleRatio == nil {
		return DefaultSampleRatio
	}
	return *t.SampleRatio
}

// PerSecond returns SamplePerSecond, or DefaultSamplePerSecond.
func (t Tracing) PerSecond() float64 {
	if t.SamplePerSecond == nil {
		return DefaultSamplePerSecond
	}
	return *t.SamplePerSecond
}

// Service returns ServiceName, or DefaultServiceName.
func (t Tracing) Service() string {
	if t.ServiceName == "" {
		return DefaultServiceName
	}
	return t.ServiceName
}

func validOTLP(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
}
