// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/textproto"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/warmgate/warmgate/internal/provider"
)

// Validate checks c as Parse does, but without line numbers: call it after
// changing a Config in code (e.g. applying a --listen flag). Empty Listen
// and DataDir are valid (they mean the defaults). It does not resolve
// secrets.
func (c *Config) Validate() error {
	var p problems
	c.validate(&p)
	return errors.Join(p.errs...)
}

func (c *Config) validate(p *problems) {
	if c.Listen != "" {
		checkListen(p, "listen", c.Listen)
	}
	if len(c.Upstreams) == 0 {
		p.at("upstreams", "at least one upstream is required (e.g. - name: openai, base_url: https://api.openai.com/v1)")
	}
	seen := map[string]string{}
	for i := range c.Upstreams {
		key := fmt.Sprintf("upstreams[%d]", i)
		c.Upstreams[i].validate(p, key)
		name := c.Upstreams[i].Name
		if prev, ok := seen[name]; ok && name != "" {
			p.at(key+".name", "duplicate upstream name %q (also %s); names must be unique", name, prev)
		}
		seen[name] = key
	}
	c.validateKeys(p)
	if c.Redis != nil {
		checkRedisURL(p, "redis.url", c.Redis.URL)
		durations(p, "redis", map[string]time.Duration{"timeout": c.Redis.Timeout})
	}
	c.validatePrices(p)
	for _, k := range sortedKeys(c.Aliases) {
		key := fmt.Sprintf("aliases[%q]", k)
		switch {
		case strings.TrimSpace(k) == "":
			p.at(key, "alias name is empty")
		case strings.TrimSpace(c.Aliases[k]) == "":
			p.at(key, "alias %q maps to an empty model name", k)
		}
	}
	for _, k := range sortedKeys(c.Fallbacks) {
		key := fmt.Sprintf("fallbacks[%q]", k)
		if strings.TrimSpace(k) == "" {
			p.at(key, "fallback model name is empty")
		}
		if len(c.Fallbacks[k]) == 0 {
			p.at(key, "list at least one fallback model for %q, or remove the entry", k)
		}
		for j, m := range c.Fallbacks[k] {
			switch {
			case strings.TrimSpace(m) == "":
				p.at(key, "fallback %d of %q is an empty model name", j, k)
			case m == k:
				p.at(key, "model %q lists itself as a fallback", k)
			}
		}
	}
	c.Tracing.validate(p)
	c.validateOpen(p)
	s := c.Server
	nonNegative(p, "server.max_header_bytes", int64(s.MaxHeaderBytes))
	nonNegative(p, "server.max_body_bytes", s.MaxBodyBytes)
	nonNegative(p, "server.body_min_rate", s.BodyMinRate)
	durations(p, "server", map[string]time.Duration{
		"read_header_timeout": s.ReadHeaderTimeout, "idle_timeout": s.IdleTimeout, "drain_timeout": s.DrainTimeout, "heartbeat": s.Heartbeat,
		"body_timeout": s.BodyTimeout,
	})
}

func (u *Upstream) validate(p *problems, key string) {
	if strings.TrimSpace(u.Name) == "" {
		p.at(key+".name", "name is required (it appears in logs, metrics and the dashboard)")
	}
	if u.BaseURL != "" || u.Kind != string(provider.Bedrock) { // bedrock's default is its region's endpoint
		checkBaseURL(p, key+".base_url", u.BaseURL)
	}
	u.validateKind(p, key)
	checkGlobs(p, key+".models", u.Models)
	nonNegative(p, key+".weight", int64(u.Weight))
	nonNegative(p, key+".pool.max_conns", int64(u.Pool.MaxConns))
	nonNegative(p, key+".pool.max_idle", int64(u.Pool.MaxIdle))
	nonNegative(p, key+".pool.prewarm", int64(u.Pool.Prewarm))
	nonNegative(p, key+".pool.max_streams_per_conn", int64(u.Pool.MaxStreamsPerConn))
	if u.Pool.MaxConns > 0 && u.Pool.Prewarm > u.Pool.MaxConns {
		p.at(key+".pool.prewarm", "prewarm (%d) exceeds max_conns (%d)", u.Pool.Prewarm, u.Pool.MaxConns)
	}
	durations(p, key+".pool", map[string]time.Duration{"idle_timeout": u.Pool.IdleTimeout, "max_conn_age": u.Pool.MaxConnAge})
	t := u.Timeouts
	durations(p, key+".timeouts", map[string]time.Duration{
		"connect": t.Connect, "tls": t.TLS, "first_byte": t.FirstByte, "stream_idle": t.StreamIdle, "pool_wait": t.PoolWait, "total": t.Total,
	})
	r := u.Retry
	nonNegative(p, key+".retry.attempts", int64(r.Attempts))
	durations(p, key+".retry", map[string]time.Duration{"base": r.Base, "max": r.Max})
	if r.Base > 0 && r.Max > 0 && r.Max < r.Base {
		p.at(key+".retry.max", "max (%v) is below base (%v); max caps the backoff that starts at base", r.Max, r.Base)
	}
	if !(r.Budget >= 0 && r.Budget <= 1) { // also rejects NaN
		p.at(key+".retry.budget", "budget %v is outside 0..1 (it is the ratio of retries to requests, e.g. 0.2)", r.Budget)
	}
	u.validateHeaders(p, key)
	c := u.Circuit
	nonNegative(p, key+".circuit.failures", int64(c.Failures))
	nonNegative(p, key+".circuit.min_requests", int64(c.MinRequests))
	durations(p, key+".circuit", map[string]time.Duration{"window": c.Window, "cooldown": c.Cooldown})
	if !(c.Ratio >= 0 && c.Ratio <= 1) {
		p.at(key+".circuit.ratio", "ratio %v is outside 0..1 (the share of failed requests that opens the circuit, e.g. 0.5)", c.Ratio)
	}
}

// validateKind checks kind and the keys that belong to one kind.
func (u *Upstream) validateKind(p *problems, key string) {
	kind, err := provider.ParseKind(u.Kind)
	if err != nil {
		p.at(key+".kind", "%v", err)
		return
	}
	switch {
	case kind != provider.Anthropic && u.AnthropicVersion != "":
		p.at(key+".anthropic_version", "anthropic_version applies to kind: anthropic only (this upstream is kind %s): set kind: anthropic, or remove it", kind)
	case u.AnthropicVersion != "":
		if err := provider.CheckAnthropicVersion(u.AnthropicVersion); err != nil {
			p.at(key+".anthropic_version", "%v", err)
		}
	}
	u.validateBedrock(p, key, kind)
	u.validateAzure(p, key, kind)
	if kind == provider.Anthropic {
		for _, name := range sortedKeys(u.Headers) {
			if textproto.CanonicalMIMEHeaderKey(name) == "Anthropic-Version" {
				p.at(fmt.Sprintf("%s.headers[%q]", key, name), "set the version with anthropic_version (a client's own anthropic-version then still wins), not in headers")
			}
		}
	}
}

// validateBedrock checks the keys of kind bedrock: a region, no API key;
// and that other kinds have neither region nor profile.
func (u *Upstream) validateBedrock(p *problems, key string, kind provider.Kind) {
	if kind != provider.Bedrock {
		if u.Region != "" {
			p.at(key+".region", "region applies to kind: bedrock only (this upstream is kind %s): set kind: bedrock, or remove it", kind)
		}
		if u.Profile != "" {
			p.at(key+".profile", "profile applies to kind: bedrock only (this upstream is kind %s): set kind: bedrock, or remove it", kind)
		}
		return
	}
	switch {
	case u.Region == "":
		p.at(key+".region", "kind: bedrock needs a region, the AWS region its requests are signed for (e.g. region: us-east-1)")
	default:
		if err := provider.CheckRegion(u.Region); err != nil {
			p.at(key+".region", "%v", err)
		}
	}
	if u.Profile != "" && strings.TrimSpace(u.Profile) != u.Profile {
		p.at(key+".profile", "profile %q has leading or trailing spaces", u.Profile)
	}
	for _, k := range []struct{ name, v string }{{"api_key_env", u.APIKeyEnv}, {"api_key_file", u.APIKeyFile}} {
		if k.v != "" {
			p.at(key+"."+k.name, "kind: bedrock takes no API key: its requests are signed with AWS credentials from the default chain "+
				"(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, or a role); remove %s", k.name)
		}
	}
}

// validateHeaders checks forward_headers against the headers the gateway
// drops, and headers for names and values HTTP allows and that are not the
// gateway's own business (framing, credentials).
func (u *Upstream) validateHeaders(p *problems, key string) {
	fwd := ForwardableHeaders()
	for i, h := range u.ForwardHeaders {
		if !slices.Contains(fwd, textproto.CanonicalMIMEHeaderKey(h)) {
			p.at(fmt.Sprintf("%s.forward_headers[%d]", key, i), "%q is not one of the client headers the gateway drops (%s); other headers are forwarded anyway",
				h, strings.Join(fwd, ", "))
		}
	}
	for _, name := range sortedKeys(u.Headers) {
		k := fmt.Sprintf("%s.headers[%q]", key, name)
		switch cn := textproto.CanonicalMIMEHeaderKey(name); {
		case !httpguts.ValidHeaderFieldName(name):
			p.at(k, "%q is not a valid header name (letters, digits and -, e.g. OpenAI-Organization)", name)
		case ownHeaders[cn]:
			p.at(k, "the gateway sets %s itself; remove it", cn)
		case credentialHeaders[cn]:
			p.at(k, "credentials do not go in headers (--print-config shows them): use api_key_env or api_key_file")
		case !httpguts.ValidHeaderFieldValue(u.Headers[name]):
			p.at(k, "the value has a line break or control character, which a header cannot hold")
		}
	}
}

// ownHeaders are the request headers that frame or route a request; the
// gateway and the transport set them.
var ownHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Proxy-Connection": true, "X-Request-Id": true,
}

// credentialHeaders carry secrets: they belong in api_key_env/api_key_file.
var credentialHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Api-Key": true, "X-Api-Key": true,
	"X-Goog-Api-Key": true, "Cookie": true,
}

// validateOpen refuses the profiler on a gateway open to the network with
// no admin key: anyone could read the program's memory profile and spend
// its CPU. (serve's --allow-open sets server.allow_open, then validates
// again.) It also checks allowed_hosts.
func (c *Config) validateOpen(p *problems) {
	if c.Server.AllowOpen && !c.HasKeys() && c.PprofOn() && c.Admin.KeyEnv == "" && c.Admin.Key == "" {
		p.at("admin.pprof", "the profiler on a gateway open to the network (server.allow_open or --allow-open, no keys) needs an admin key: "+
			"set admin.key_env, or turn admin.pprof off")
	}
	for i, h := range c.AllowedHosts {
		k := fmt.Sprintf("allowed_hosts[%d]", i)
		if h == "*" {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if name == "" || strings.ContainsAny(name, "/@ ") || strings.Contains(name, ":") && net.ParseIP(name) == nil {
			p.at(k, "%s is not a host name or IP address (write it without scheme or port, e.g. gateway.internal or 10.0.0.5; \"*\" accepts any)", p.show(k, h))
		}
	}
}

func (c *Config) validateKeys(p *problems) {
	names := map[string]string{}
	hashes := map[string]string{}
	for i, k := range c.Keys {
		key := fmt.Sprintf("keys[%d]", i)
		switch prev, dup := names[k.Name]; {
		case strings.TrimSpace(k.Name) == "":
			p.at(key+".name", "name is required (it appears in usage records and metrics)")
		case dup:
			p.at(key+".name", "duplicate key name %q (also %s); names must be unique", k.Name, prev)
		default:
			names[k.Name] = key
		}
		switch prev, dup := hashes[k.KeySHA256]; {
		case k.KeySHA256 == "" && k.KeyEnv != "":
			// key_env could not be resolved; already reported.
		case k.KeySHA256 == "":
			p.at(key, "key %s needs key_sha256 (hex SHA-256 of the key) or key_env (a variable holding the key)", quoteName(k.Name, key))
		case !isSHA256Hex(k.KeySHA256):
			// Not echoed: a raw key pasted here by mistake would leak.
			p.at(key+".key_sha256", "must be 64 hex characters, the SHA-256 of the key (printf %%s \"$KEY\" | sha256sum); got %d characters", len(k.KeySHA256))
		case dup:
			p.at(key, "key %s is the same key as %s", quoteName(k.Name, key), prev)
		default:
			hashes[k.KeySHA256] = key
		}
		checkGlobs(p, key+".models", k.Models)
		checkPathGlobs(p, key+".paths", k.Paths)
		nonNegative(p, key+".rpm", int64(k.RPM))
		nonNegative(p, key+".tpm", int64(k.TPM))
		for field, v := range map[string]float64{"budget_daily": k.BudgetDaily, "budget_monthly": k.BudgetMonthly} {
			if !(v >= 0) || math.IsInf(v, 0) {
				p.at(key+"."+field, "%v is not a budget: use US dollars, e.g. 25 (0 or absent means no cap)", v)
			} else if v > 0 && len(c.Prices) == 0 {
				p.at(key+"."+field, "a budget needs prices: add a prices: table (US dollars per million prompt and completion tokens, per model)")
			}
		}
	}
}

func (c *Config) validatePrices(p *problems) {
	for _, m := range sortedKeys(c.Prices) {
		key := fmt.Sprintf("prices[%q]", m)
		if strings.TrimSpace(m) == "" {
			p.at(key, "model name is empty")
		} else if _, err := path.Match(m, ""); err != nil {
			p.at(key, "invalid glob %q: %v", m, err)
		}
		pr := c.Prices[m]
		for field, v := range map[string]float64{"prompt": pr.Prompt, "completion": pr.Completion} {
			if !(v >= 0) || math.IsInf(v, 0) {
				p.at(key+"."+field, "%v is not a price: use US dollars per million tokens, e.g. 2.5", v)
			}
		}
	}
}

func isSHA256Hex(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == 64 && err == nil
}

func checkListen(p *problems, key, addr string) {
	_, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > math.MaxUint16 {
		p.at(key, "invalid address %s (use host:port like 127.0.0.1:8080, or :8080 for every interface)", p.show(key, addr))
	}
}

func checkBaseURL(p *problems, key, raw string) {
	if raw == "" {
		p.at(key, "base_url is required (e.g. https://api.openai.com/v1)")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.at(key, "invalid URL %s (use an absolute http:// or https:// URL like https://api.openai.com/v1)", showURL(p, key, raw))
	case u.RawQuery != "" || u.Fragment != "":
		p.at(key, "URL %s must not have a query or fragment", showURL(p, key, raw))
	case u.User != nil:
		// The gateway would send no Basic auth from it, and a config file
		// is no place for a secret.
		p.at(key, "URL %s must not carry a user or password (user:password@): the gateway sends no Basic auth; remove it and give the upstream's key in api_key_env or api_key_file", showURL(p, key, raw))
	}
}

func checkRedisURL(p *problems, key, raw string) {
	if raw == "" {
		p.at(key, "url is required when redis is set (e.g. redis://127.0.0.1:6379/0); remove redis for in-memory state")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		p.at(key, "invalid Redis URL %s (use redis://host:6379/0 or rediss:// for TLS)", showURL(p, key, raw))
	}
}

// showURL quotes a URL for a message without its password, if any.
func showURL(p *problems, key, raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if _, ok := u.User.Password(); u.User != nil && !ok {
			u.User = url.User("xxxxx") // a user name alone may be the key
		}
		return p.show(key, u.Redacted())
	}
	if strings.Contains(raw, "@") {
		return "(not shown: it may contain a password)"
	}
	return p.show(key, raw)
}

func checkGlobs(p *problems, key string, globs []string) {
	for i, g := range globs {
		k := fmt.Sprintf("%s[%d]", key, i)
		if g == "" {
			p.at(k, "empty model glob (use * for every model)")
		} else if _, err := path.Match(g, ""); err != nil {
			p.at(k, "invalid glob %s (use * for any run of characters, ? for one, [a-z] for a class, \\ to escape)", p.show(k, g))
		}
	}
}

// checkPathGlobs checks a key's paths: globs of request paths, so each
// starts with "/".
func checkPathGlobs(p *problems, key string, globs []string) {
	for i, g := range globs {
		k := fmt.Sprintf("%s[%d]", key, i)
		if _, err := path.Match(g, ""); err != nil || !strings.HasPrefix(g, "/") {
			p.at(k, "invalid path glob %s (use a request path with * for any run of characters, e.g. \"/v1/files*\")", p.show(k, g))
		}
	}
}

func nonNegative(p *problems, key string, n int64) {
	if n < 0 {
		p.at(key, "must not be negative (got %d; 0 means the default)", n)
	}
}

// durations reports negative durations; decoding already rejects them from
// files, so this guards Configs built in code.
func durations(p *problems, key string, ds map[string]time.Duration) {
	for _, name := range sortedKeys(ds) {
		if ds[name] < 0 {
			p.at(key+"."+name, "duration %v is negative (use 0 for the default, or a positive value like 10s)", ds[name])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (t *Tracing) validate(p *problems) {
	if t.OTLPEndpoint != "" {
		if u, err := url.Parse(t.OTLPEndpoint); err != nil || !validOTLP(u) {
			p.at("tracing.otlp_endpoint", "invalid URL %s (use the collector's OTLP/HTTP address, e.g. http://localhost:4318)",
				showURL(p, "tracing.otlp_endpoint", t.OTLPEndpoint))
		}
	}
	if r := t.SampleRatio; r != nil && !(*r >= 0 && *r <= 1) { // also rejects NaN
		p.at("tracing.sample_ratio", "sample_ratio %v is outside 0..1 (the share of new traces recorded, e.g. 0.1; 1 records all)", *r)
	}
	if r := t.SamplePerSecond; r != nil && !(*r >= 0 && *r <= 1e6) { // also rejects NaN and +Inf
		p.at("tracing.sample_per_second", "sample_per_second %v is not a rate (new traces recorded a second besides sample_ratio's, e.g. 10; 0 for none)", *r)
	}
}
