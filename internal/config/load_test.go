// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// designExample is the example from DESIGN.md ("Config file (YAML)"), with
// the key_sha256 placeholder "..." replaced by a real digest.
const designExample = `listen: 127.0.0.1:8080
upstreams:
  - name: openai
    base_url: https://api.openai.com/v1
    api_key_env: OPENAI_API_KEY        # secrets come from env (or *_file), never inline
    models: ["gpt-*", "o*"]            # globs; first match wins, then weight among equals
    weight: 1
    pool:   {max_conns: 100, max_idle: 50, idle_timeout: 120s, prewarm: 2, http2: true}
    timeouts: {connect: 10s, tls: 10s, first_byte: 60s, stream_idle: 60s, pool_wait: 30s}
    retry:  {attempts: 3, base: 250ms, max: 8s, budget: 0.2}
keys:                                   # client keys; absent = open (loopback only)
  - name: team-a
    key_sha256: "` + teamAHash + `"                   # or key_env
    models: ["gpt-*"]
    rpm: 600
    tpm: 200000
redis: {url: "redis://127.0.0.1:6379/0"}  # absent = single-instance, in-memory state
data_dir: ./warmgate-data               # durable usage ledger (SQLite) lives here
admin: {key_env: WARMGATE_ADMIN_KEY}    # protects /metrics, /dashboard, /api/*, /admin/* when keys exist
aliases: {"fast": "gpt-4.1-mini"}       # client model name -> upstream model name
fallbacks: {"gpt-4.1": ["gpt-4.1-mini"]}
`

// teamAHash is sha256("team-a-key").
const teamAHash = "554a0d05033791f46fede07b724fa246c95235f60a9fb74caad37d1408b4df58"

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseDesignExample(t *testing.T) {
	c, err := Parse([]byte(designExample), env(map[string]string{
		"OPENAI_API_KEY":     "sk-test",
		"WARMGATE_ADMIN_KEY": "admin-secret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	on := true
	want := &Config{
		Listen: "127.0.0.1:8080",
		Upstreams: []Upstream{{
			Name:      "openai",
			BaseURL:   "https://api.openai.com/v1",
			APIKeyEnv: "OPENAI_API_KEY",
			APIKey:    "sk-test",
			Models:    []string{"gpt-*", "o*"},
			Weight:    1,
			Pool:      Pool{MaxConns: 100, MaxIdle: 50, IdleTimeout: 120 * time.Second, Prewarm: 2, HTTP2: &on},
			Timeouts: Timeouts{Connect: 10 * time.Second, TLS: 10 * time.Second, FirstByte: 60 * time.Second,
				StreamIdle: 60 * time.Second, PoolWait: 30 * time.Second},
			Retry: Retry{Attempts: 3, Base: 250 * time.Millisecond, Max: 8 * time.Second, Budget: 0.2},
		}},
		Keys:      []Key{{Name: "team-a", KeySHA256: teamAHash, Models: []string{"gpt-*"}, RPM: 600, TPM: 200000}},
		Redis:     &Redis{URL: "redis://127.0.0.1:6379/0", Prefix: "warmgate:", Timeout: 250 * time.Millisecond},
		DataDir:   "./warmgate-data",
		Admin:     &Admin{KeyEnv: "WARMGATE_ADMIN_KEY", Key: "admin-secret"},
		Aliases:   map[string]string{"fast": "gpt-4.1-mini"},
		Fallbacks: map[string][]string{"gpt-4.1": {"gpt-4.1-mini"}},
		Server:    defaultServer(),
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse(design example)\n got %+v\nwant %+v", c, want)
	}
	if !c.HasKeys() {
		t.Error("HasKeys() = false, want true")
	}
}

func defaultServer() Server {
	return Server{
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		MaxBodyBytes:      32 << 20,
		DrainTimeout:      30 * time.Second,
		Heartbeat:         15 * time.Second,
		BodyTimeout:       20 * time.Second,
		BodyMinRate:       8 << 10,
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want func(*Config) bool
	}{
		{"listen", "upstreams: [{name: a, base_url: http://x}]", func(c *Config) bool { return c.Listen == "127.0.0.1:8080" }},
		{"data_dir", "upstreams: [{name: a, base_url: http://x}]", func(c *Config) bool { return c.DataDir == "./warmgate-data" }},
		{"server", "upstreams: [{name: a, base_url: http://x}]", func(c *Config) bool { return c.Server == defaultServer() }},
		{"weight 0 means 1", "upstreams: [{name: a, base_url: http://x, weight: 0}]", func(c *Config) bool { return c.Upstreams[0].Weight == 1 }},
		{"weight kept", "upstreams: [{name: a, base_url: http://x, weight: 5}]", func(c *Config) bool { return c.Upstreams[0].Weight == 5 }},
		{"upstream tuning stays zero", "upstreams: [{name: a, base_url: http://x}]", func(c *Config) bool {
			u := c.Upstreams[0]
			return u.Pool == (Pool{}) && u.Timeouts == (Timeouts{}) && u.Retry == (Retry{}) && u.TLS == (TLS{})
		}},
		{"explicit server values kept", "upstreams: [{name: a, base_url: http://x}]\nserver: {read_header_timeout: 1s, idle_timeout: 2s, max_header_bytes: 3, max_body_bytes: 4, drain_timeout: 5s, allow_open: true, body_timeout: 6s, body_min_rate: 7}",
			func(c *Config) bool {
				return c.Server == Server{ReadHeaderTimeout: time.Second, IdleTimeout: 2 * time.Second, MaxHeaderBytes: 3,
					MaxBodyBytes: 4, DrainTimeout: 5 * time.Second, Heartbeat: 15 * time.Second, AllowOpen: true,
					BodyTimeout: 6 * time.Second, BodyMinRate: 7}
			}},
		{"null sections are defaults", "listen:\nupstreams: [{name: a, base_url: http://x, pool: ~}]\nserver:\nredis:\n", func(c *Config) bool {
			return c.Listen == "127.0.0.1:8080" && c.Redis == nil && c.Server == defaultServer()
		}},
		{"no keys", "upstreams: [{name: a, base_url: http://x}]", func(c *Config) bool { return !c.HasKeys() }},
		{"shutdown_delay default", "upstreams: [{name: a, base_url: http://x}]", func(c *Config) bool {
			return c.Server.ShutdownDelay == nil && c.Server.PreStop() == DefaultShutdownDelay
		}},
		{"shutdown_delay 0 is none", "upstreams: [{name: a, base_url: http://x}]\nserver: {shutdown_delay: 0s}", func(c *Config) bool {
			return c.Server.PreStop() == 0
		}},
		{"shutdown_delay kept", "upstreams: [{name: a, base_url: http://x}]\nserver: {shutdown_delay: 12s}", func(c *Config) bool {
			return c.Server.PreStop() == 12*time.Second
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const up = "upstreams:\n  - name: a\n    base_url: http://x\n" // lines 1-3
	tests := []struct {
		name     string
		in       string
		env      map[string]string
		wantLine int
		want     string
	}{
		{"unknown top-level key", "listen: :1\nlisen: :2\n" + up, nil, 2, `unknown key "lisen" at top level (did you mean "listen"?)`},
		{"unknown key in upstream", up + "    timout: 5s\n", nil, 4, `unknown key "timout" in upstreams[0] (did you mean "timeouts"?)`},
		{"unknown key in second upstream", up + "  - name: b\n    base_url: http://y\n    wieght: 2\n", nil, 6, `unknown key "wieght" in upstreams[1] (did you mean "weight"?)`},
		{"unknown key in pool", up + "    pool:\n      max_conns: 1\n      max_conn: 2\n", nil, 6, `unknown key "max_conn" in upstreams[0].pool`},
		{"unknown key in flow mapping", up + "    timeouts: {connect: 1s, first_bite: 2s}\n", nil, 4, `unknown key "first_bite" in upstreams[0].timeouts`},
		{"unknown key in keys", up + "keys:\n  - name: k\n    key_sha256: " + teamAHash + "\n    rps: 3\n", nil, 7, `unknown key "rps" in keys[0]`},
		{"unknown key in server", up + "server:\n  allow_opn: true\n", nil, 5, `unknown key "allow_opn" in server`},
		{"resolved field is not a key", up + "    api_key: sk-x\n", nil, 4, `unknown key "api_key" in upstreams[0]`},
		{"duplicate key", up + "    name: b\n", nil, 4, `duplicate key "name" in upstreams[0]`},
		{"bad duration", up + "    timeouts:\n      connect: 5 sec\n", nil, 5, `upstreams[0].timeouts.connect: invalid duration "5 sec" (use Go durations like 500ms, 10s, 2m)`},
		{"duration without unit", up + "    retry: {base: 250}\n", nil, 4, `upstreams[0].retry.base: invalid duration "250"`},
		{"negative duration", "server: {drain_timeout: -1s}\n" + up, nil, 1, `server.drain_timeout: duration "-1s" is negative`},
		{"bad number", up + "    pool: {max_conns: lots}\n", nil, 4, `upstreams[0].pool.max_conns: invalid value "lots" (use a whole number like 100)`},
		{"bad bool", up + "    pool: {http2: maybe}\n", nil, 4, `upstreams[0].pool.http2: invalid value "maybe" (use true or false)`},
		{"negative count", up + "    pool: {max_conns: -1}\n", nil, 4, `upstreams[0].pool.max_conns: must not be negative`},
		{"negative weight", up + "    weight: -2\n", nil, 4, `upstreams[0].weight: must not be negative`},
		{"negative rpm", up + "keys: [{name: k, key_sha256: " + teamAHash + ", rpm: -1}]\n", nil, 4, `keys[0].rpm: must not be negative`},
		{"path glob without a slash", up + "keys: [{name: k, key_sha256: " + teamAHash + ", paths: [\"v1/files*\"]}]\n", nil, 4, `keys[0].paths[0]: invalid path glob "v1/files*" (use a request path`},
		{"invalid path glob", up + "keys: [{name: k, key_sha256: " + teamAHash + ", paths: [\"/v1/files[\"]}]\n", nil, 4, `keys[0].paths[0]: invalid path glob "/v1/files["`},
		{"budget without prices", up + "keys: [{name: k, key_sha256: " + teamAHash + ", budget_daily: 5}]\n", nil, 4, `keys[0].budget_daily: a budget needs prices`},
		{"negative budget", up + "prices: {\"*\": {prompt: 1, completion: 2}}\nkeys: [{name: k, key_sha256: " + teamAHash + ", budget_monthly: -1}]\n", nil, 5, `keys[0].budget_monthly: -1 is not a budget`},
		{"negative price", up + "prices:\n  gpt-4.1:\n    prompt: -2\n", nil, 6, `prices["gpt-4.1"].prompt: -2 is not a price`},
		{"bad price glob", up + "prices: {\"gpt-[\": {prompt: 1}}\n", nil, 4, `prices["gpt-["]: invalid glob`},
		{"unknown key in prices", up + "prices: {m: {input: 1}}\n", nil, 4, `unknown key "input" in prices["m"]`},
		{"bad redis timeout", up + "redis: {url: \"redis://127.0.0.1:6390/0\", timeout: soon}\n", nil, 4, `redis.timeout: invalid duration "soon"`},
		{"prewarm over max_conns", up + "    pool: {max_conns: 2, prewarm: 3}\n", nil, 4, `prewarm (3) exceeds max_conns (2)`},
		{"budget above 1", up + "    retry: {budget: 1.5}\n", nil, 4, `upstreams[0].retry.budget: budget 1.5 is outside 0..1`},
		{"budget NaN", up + "    retry: {budget: .nan}\n", nil, 4, `outside 0..1`},
		{"retry max below base", up + "    retry: {base: 2s, max: 1s}\n", nil, 4, `upstreams[0].retry.max: max (1s) is below base (2s)`},
		{"bad glob", up + "    models: [\"gpt-[\"]\n", nil, 4, `upstreams[0].models[0]: invalid glob "gpt-["`},
		{"empty glob", up + "    models: [\"\"]\n", nil, 4, `upstreams[0].models[0]: empty model glob`},
		{"relative URL", "upstreams:\n  - name: a\n    base_url: api.openai.com/v1\n", nil, 3, `upstreams[0].base_url: invalid URL "api.openai.com/v1" (use an absolute http:// or https:// URL`},
		{"ftp URL", "upstreams:\n  - name: a\n    base_url: ftp://x\n", nil, 3, `invalid URL "ftp://x"`},
		{"URL with query", "upstreams:\n  - name: a\n    base_url: http://x/v1?a=b\n", nil, 3, `must not have a query or fragment`},
		{"URL with a password", "upstreams:\n  - name: a\n    base_url: https://user:s3cret@x/v1\n", nil, 3, `upstreams[0].base_url: URL "https://user:xxxxx@x/v1" must not carry a user or password (user:password@): the gateway sends no Basic auth`},
		{"URL with a user", "upstreams:\n  - name: a\n    base_url: https://sk-live@x/v1\n", nil, 3, `URL "https://xxxxx@x/v1" must not carry a user`},
		{"missing base_url", "upstreams:\n  - name: a\n", nil, 2, `upstreams[0].base_url: base_url is required`},
		{"missing name", "upstreams:\n  - base_url: http://x\n", nil, 2, `upstreams[0].name: name is required`},
		{"duplicate upstream name", up + "  - name: a\n    base_url: http://y\n", nil, 4, `upstreams[1].name: duplicate upstream name "a" (also upstreams[0])`},
		{"no upstreams", "listen: :80\n", nil, 0, `upstreams: at least one upstream is required`},
		{"empty upstreams", "upstreams: []\n", nil, 1, `upstreams: at least one upstream is required`},
		{"empty file", "", nil, 0, `at least one upstream is required`},
		{"missing api_key_env", up + "    api_key_env: OPENAI_API_KEY\n", nil, 4, `upstreams[0].api_key_env: environment variable OPENAI_API_KEY (the API key of upstream "a") is not set`},
		{"api key env and file", up + "    api_key_env: K\n    api_key_file: /k\n", map[string]string{"K": "v"}, 5, `set api_key_env or api_key_file, not both`},
		{"missing api_key_file", up + "    api_key_file: /nonexistent/warmgate-key\n", nil, 4, `upstreams[0].api_key_file: cannot read the API key of upstream "a"`},
		{"missing ${VAR}", "upstreams:\n  - name: a\n    base_url: ${VLLM_URL}\n", nil, 3, `upstreams[0].base_url: environment variable VLLM_URL is not set (set it, or write ${VLLM_URL:-default})`},
		{"unterminated ${", "upstreams:\n  - name: a\n    base_url: http://${HOST\n", nil, 3, `unterminated ${`},
		{"missing key_env", up + "keys:\n  - name: k\n    key_env: TEAM_KEY\n", nil, 6, `keys[0].key_env: environment variable TEAM_KEY (client key "k") is not set`},
		{"key without secret", up + "keys:\n  - name: k\n", nil, 5, `keys[0]: key "k" needs key_sha256`},
		{"key_sha256 and key_env", up + "keys: [{name: k, key_sha256: " + teamAHash + ", key_env: K}]\n", map[string]string{"K": "v"}, 4, `set key_sha256 or key_env, not both`},
		{"short key_sha256", up + "keys: [{name: k, key_sha256: abc}]\n", nil, 4, `keys[0].key_sha256: must be 64 hex characters`},
		{"duplicate key name", up + "keys:\n  - {name: k, key_env: A}\n  - {name: k, key_env: B}\n", map[string]string{"A": "1", "B": "2"}, 6, `keys[1].name: duplicate key name "k" (also keys[0])`},
		{"same key twice", up + "keys:\n  - {name: k, key_env: A}\n  - {name: l, key_env: B}\n", map[string]string{"A": "1", "B": "1"}, 6, `keys[1]: key "l" is the same key as keys[0]`},
		{"missing admin key", up + "admin: {key_env: WARMGATE_ADMIN_KEY}\n", nil, 4, `admin.key_env: environment variable WARMGATE_ADMIN_KEY (the admin key) is not set`},
		{"bad listen", "listen: localhost\n" + up, nil, 1, `listen: invalid address "localhost" (use host:port like 127.0.0.1:8080`},
		{"bad port", "listen: 127.0.0.1:99999\n" + up, nil, 1, `listen: invalid address`},
		{"redis scheme", up + "redis: {url: \"http://127.0.0.1:6379\"}\n", nil, 4, `redis.url: invalid Redis URL "http://127.0.0.1:6379" (use redis://host:6379/0`},
		{"redis without url", up + "redis: {}\n", nil, 4, `redis.url: url is required when redis is set`},
		{"empty alias target", up + "aliases: {fast: \"\"}\n", nil, 4, `aliases["fast"]: alias "fast" maps to an empty model name`},
		{"empty fallback", up + "fallbacks:\n  gpt-4.1: [\"\"]\n", nil, 5, `fallbacks["gpt-4.1"]: fallback 0 of "gpt-4.1" is an empty model name`},
		{"self fallback", up + "fallbacks: {m: [m]}\n", nil, 4, `model "m" lists itself as a fallback`},
		{"upstreams not a list", "upstreams: {name: a}\n", nil, 1, `upstreams: must be a list`},
		{"pool not a mapping", up + "    pool: 10\n", nil, 4, `upstreams[0].pool: must be a mapping with keys max_conns, max_idle, idle_timeout, prewarm, http2, max_conn_age, max_streams_per_conn, not a single value`},
		{"models not a list", up + "    models: gpt-*\n", nil, 4, `upstreams[0].models: must be a list`},
		{"name not a scalar", "upstreams:\n  - name: [a]\n    base_url: http://x\n", nil, 2, `upstreams[0].name: must be a single value, not a list`},
		{"top level not a mapping", "- a\n", nil, 1, `the file: must be a mapping with keys listen, upstreams`},
		{"yaml syntax", "upstreams: [\n", nil, 1, `invalid YAML: did not find expected node content`},
		{"recursive merge", "upstreams:\n  - &x\n    name: a\n    base_url: http://x\n    <<: *x\n", nil, 2, `upstreams[0]: a merge key (<<) refers to a mapping that contains it`},
		{"recursive merge via alias", "server: &s {<<: *s}\n" + up, nil, 1, `server: a merge key (<<) refers to a mapping that contains it`},
		{"merge of a scalar", up + "    <<: 3\n", nil, 4, `upstreams[0]: a merge key (<<) needs a mapping`},
		{"two documents", up + "---\nlisten: :1\n", nil, 4, `only one YAML document is allowed`},
		{"unknown kind", up + "    kind: claude\n", nil, 4, `upstreams[0].kind: unknown kind "claude" (use one of: openai, anthropic, `},
		{"anthropic_version on openai", up + "    anthropic_version: 2023-06-01\n", nil, 4,
			`upstreams[0].anthropic_version: anthropic_version applies to kind: anthropic only (this upstream is kind openai): set kind: anthropic, or remove it`},
		{"bad anthropic_version", up + "    kind: anthropic\n    anthropic_version: latest\n", nil, 5,
			`upstreams[0].anthropic_version: anthropic_version "latest" is not a version date (use YYYY-MM-DD, e.g. 2023-06-01)`},
		{"anthropic-version in headers", up + "    kind: anthropic\n    headers: {anthropic-version: 2023-06-01}\n", nil, 5,
			`upstreams[0].headers["anthropic-version"]: set the version with anthropic_version`},
		{"bedrock without region", "upstreams:\n  - {name: b, kind: bedrock}\n", nil, 2,
			`upstreams[0].region: kind: bedrock needs a region, the AWS region its requests are signed for (e.g. region: us-east-1)`},
		{"bedrock bad region", "upstreams:\n  - name: b\n    kind: bedrock\n    region: us_east_1\n", nil, 4,
			`upstreams[0].region: region "us_east_1" is not an AWS region name (e.g. us-east-1)`},
		{"bedrock with a key", "upstreams:\n  - name: b\n    kind: bedrock\n    region: us-east-1\n    api_key_env: K\n", map[string]string{"K": "v"}, 5,
			`upstreams[0].api_key_env: kind: bedrock takes no API key`},
		{"bedrock bad base_url", "upstreams:\n  - name: b\n    kind: bedrock\n    region: us-east-1\n    base_url: bedrock.internal\n", nil, 5,
			`upstreams[0].base_url: invalid URL`},
		{"region on openai", up + "    region: us-east-1\n", nil, 4,
			`upstreams[0].region: region applies to kind: bedrock only (this upstream is kind openai): set kind: bedrock, or remove it`},
		{"profile on anthropic", up + "    kind: anthropic\n    profile: prod\n", nil, 5,
			`upstreams[0].profile: profile applies to kind: bedrock only (this upstream is kind anthropic)`},
		{"openai without base_url", "upstreams:\n  - {name: o}\n", nil, 2, `upstreams[0].base_url: base_url is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), env(tt.env))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want error %q", c, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\n does not contain %q", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not a *Error", err)
			}
			if e.Line != tt.wantLine {
				t.Errorf("line %d, want %d (error %q)", e.Line, tt.wantLine, err)
			}
		})
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	in := "lisen: x\nupstreams:\n  - name: a\n    base_url: http://x\n    timout: 1s\n    weight: heavy\n"
	_, err := Parse([]byte(in), nil)
	if err == nil {
		t.Fatal("no error")
	}
	var lines []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		lines = append(lines, e.Error())
	}
	want := []string{
		`line 1: unknown key "lisen" at top level (did you mean "listen"?)`,
		`line 5: unknown key "timout" in upstreams[0] (did you mean "timeouts"?)`,
		`line 6: upstreams[0].weight: invalid value "heavy" (use a whole number like 100)`,
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("errors\n got %q\nwant %q", lines, want)
	}
}

// TestParseUnsetVariableHidesNothing: a ${VAR} that is not set is
// reported with every other problem of the file, not instead of them; the
// value it left empty is not reported a second time.
func TestParseUnsetVariableHidesNothing(t *testing.T) {
	in := "upstreams:\n  - name: a\n    base_url: ${UNSET_URL}\n  - name: a\n    base_url: http://y\n    retry: {budget: 2}\n" +
		"keys: [{name: k, key_env: UNSET_KEY}]\n"
	_, err := Parse([]byte(in), nil)
	if err == nil {
		t.Fatal("no error")
	}
	var lines []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		lines = append(lines, e.Error())
	}
	want := []string{ // the start of each problem, in order
		`line 3: upstreams[0].base_url: environment variable UNSET_URL is not set`,
		`line 7: keys[0].key_env: environment variable UNSET_KEY (client key "k") is not set`,
		`line 6: upstreams[1].retry.budget: budget 2 is outside 0..1`,
		`line 4: upstreams[1].name: duplicate upstream name "a"`,
	}
	ok := len(lines) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.HasPrefix(lines[i], want[i])
	}
	if !ok {
		t.Errorf("errors\n got %q\nwant %q...", lines, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("upstreams: [{name: local, base_url: http://127.0.0.1:8000/v1}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.Upstreams[0].Name != "local" || c.Upstreams[0].APIKey != "" {
		t.Errorf("Load = %+v", c.Upstreams[0])
	}

	bad := filepath.Join(dir, "config.yaml")
	in := "upstreams:\n  - name: a\n    base_url: http://x\n    timeouts:\n      connect: 5 sec\n    timout: 1s\n"
	if err := os.WriteFile(bad, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	for _, want := range []string{
		bad + ` line 5: upstreams[0].timeouts.connect: invalid duration "5 sec" (use Go durations like 500ms, 10s, 2m)`,
		bad + ` line 6: unknown key "timout" in upstreams[0]`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load error %v\n does not contain %q", err, want)
		}
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("sk-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := `upstreams:
  - {name: env, base_url: http://a, api_key_env: A_KEY}
  - {name: file, base_url: http://b, api_key_file: ` + keyFile + `}
  - {name: vllm, base_url: http://c}
keys:
  - {name: from-env, key_env: TEAM_KEY}
  - {name: upper, key_sha256: "` + strings.ToUpper(teamAHash) + `"}
admin: {key_env: ADMIN}
`
	c, err := Parse([]byte(in), env(map[string]string{"A_KEY": " sk-env ", "TEAM_KEY": "team-secret", "ADMIN": "adm"}))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("team-secret"))
	for _, tt := range []struct{ name, got, want string }{
		{"api_key_env", c.Upstreams[0].APIKey, "sk-env"},
		{"api_key_file", c.Upstreams[1].APIKey, "sk-from-file"},
		{"no key", c.Upstreams[2].APIKey, ""},
		{"key_env hashed", c.Keys[0].KeySHA256, hex.EncodeToString(sum[:])},
		{"key_sha256 lowercased", c.Keys[1].KeySHA256, teamAHash},
		{"admin", c.Admin.Key, "adm"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}

	_, err = Parse([]byte("upstreams: [{name: a, base_url: http://a, api_key_file: "+empty+"}]"), nil)
	if err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty key file: err = %v", err)
	}
}

// TestSecretsNotInErrors feeds secrets into every place a mistake could
// echo them and checks that no error message contains them.
func TestSecretsNotInErrors(t *testing.T) {
	const secret = "sk-SuperSecret123"
	e := env(map[string]string{
		"KEY":       secret,
		"BAD_URL":   "ftp://" + secret + "@host",
		"BAD_DUR":   secret,
		"BAD_NUM":   secret,
		"BAD_ADDR":  secret,
		"BAD_REDIS": "http://:" + secret + "@host:6379",
		"BAD_GLOB":  "[" + secret,
	})
	tests := []struct{ name, in string }{
		{"key pasted into api_key_env", "upstreams: [{name: a, base_url: http://x, api_key_env: " + secret + "}]"},
		{"key pasted into key_env", "upstreams: [{name: a, base_url: http://x}]\nkeys: [{name: k, key_env: " + secret + "}]"},
		{"key pasted into admin.key_env", "upstreams: [{name: a, base_url: http://x}]\nadmin: {key_env: " + secret + "}"},
		{"key pasted into key_sha256", "upstreams: [{name: a, base_url: http://x}]\nkeys: [{name: k, key_sha256: " + secret + "}]"},
		{"password in base_url", "upstreams: [{name: a, base_url: \"ftp://user:" + secret + "@host/v1\"}]"},
		{"password in bad base_url", "upstreams: [{name: a, base_url: \"http://user:" + secret + "@host/v1?%zz\"}]"},
		{"expanded URL", "upstreams: [{name: a, base_url: \"${BAD_URL}\"}]"},
		{"expanded duration", "upstreams: [{name: a, base_url: http://x, timeouts: {connect: \"${BAD_DUR}\"}}]"},
		{"expanded number", "upstreams: [{name: a, base_url: http://x, weight: \"${BAD_NUM}\"}]"},
		{"expanded listen", "listen: ${BAD_ADDR}\nupstreams: [{name: a, base_url: http://x}]"},
		{"expanded redis", "upstreams: [{name: a, base_url: http://x}]\nredis: {url: \"${BAD_REDIS}\"}"},
		{"password in redis url", "upstreams: [{name: a, base_url: http://x}]\nredis: {url: \"http://:" + secret + "@h:6379\"}"},
		{"expanded glob", "upstreams: [{name: a, base_url: http://x, models: [\"${BAD_GLOB}\"]}]"},
		{"both key sources", "upstreams: [{name: a, base_url: http://x, api_key_env: KEY, api_key_file: /nonexistent}]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), e)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	in := `listen: ${HOST:-127.0.0.1}:${PORT}
upstreams:
  - name: ${NAME}
    base_url: http://${UP_HOST}/v1
    weight: ${WEIGHT}
    timeouts: {connect: "${CONNECT}"}
    pool: {http2: "${H2}"}
    models: ["$${literal}", "a$b"]
aliases: {"${KEY}": "${MODEL}"}
`
	c, err := Parse([]byte(in), env(map[string]string{
		"PORT": "9000", "NAME": "vllm", "UP_HOST": "gpu:8000", "WEIGHT": "3", "CONNECT": "2s", "H2": "false", "MODEL": "m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Upstreams[0]
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"listen with default", c.Listen, "127.0.0.1:9000"},
		{"name", u.Name, "vllm"},
		{"base_url", u.BaseURL, "http://gpu:8000/v1"},
		{"int", u.Weight, 3},
		{"duration", u.Timeouts.Connect, 2 * time.Second},
		{"bool", *u.Pool.HTTP2, false},
		{"escape and lone $", u.Models, []string{"${literal}", "a$b"}},
		{"keys not expanded", c.Aliases, map[string]string{"${KEY}": "m"}},
	} {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	e := env(map[string]string{"A": "1", "B_2": "two"})
	tests := []struct {
		in, want string
		expanded bool
		err      string
	}{
		{in: "plain", want: "plain"},
		{in: "$A and $", want: "$A and $"},
		{in: "${A}", want: "1", expanded: true},
		{in: "x${A}y${B_2}z", want: "x1ytwoz", expanded: true},
		{in: "${UNSET:-fallback}", want: "fallback", expanded: true},
		{in: "${A:-fallback}", want: "1", expanded: true},
		{in: "${UNSET:-}", want: "", expanded: true},
		{in: "$${A}", want: "${A}"},
		{in: "${UNSET}", err: "environment variable UNSET is not set"},
		{in: "${A", err: "unterminated ${"},
		{in: "${}", err: "invalid variable reference ${}"},
		{in: "${1A}", err: "invalid variable reference"},
		{in: "${A B}", err: "invalid variable reference"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, expanded, err := expand(tt.in, e)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("expand(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || expanded != tt.expanded {
				t.Errorf("expand(%q) = %q, %v, %v; want %q, %v", tt.in, got, expanded, err, tt.want, tt.expanded)
			}
		})
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	in := `common: &common
upstreams:
  - &first
    name: a
    base_url: http://a
    timeouts: &t {connect: 1s, first_byte: 30s}
  - <<: *first
    name: b
    timeouts: *t
    weight: 2
`
	// "common" is an unknown key: anchors need a known home. Use one.
	if _, err := Parse([]byte(in), nil); err == nil || !strings.Contains(err.Error(), `unknown key "common"`) {
		t.Fatalf("err = %v, want unknown key common", err)
	}
	c, err := Parse([]byte(strings.Replace(in, "common: &common\n", "", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Upstreams[1]
	if b.Name != "b" || b.BaseURL != "http://a" || b.Weight != 2 || b.Timeouts.FirstByte != 30*time.Second {
		t.Errorf("merged upstream = %+v", b)
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantURL string
		wantKey string
		wantErr string
	}{
		{name: "empty environment", wantURL: "https://api.openai.com/v1"},
		{name: "base url and key", env: map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1", "OPENAI_API_KEY": "sk-x"},
			wantURL: "http://127.0.0.1:8000/v1", wantKey: "sk-x"},
		{name: "bad base url", env: map[string]string{"OPENAI_BASE_URL": "localhost:8000"}, wantErr: `OPENAI_BASE_URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromEnv error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &Config{
				Listen: "127.0.0.1:8080",
				Upstreams: []Upstream{{Name: "default", BaseURL: tt.wantURL, APIKeyEnv: "OPENAI_API_KEY", APIKey: tt.wantKey,
					Models: []string{"*"}, Weight: 1}},
				DataDir: "./warmgate-data",
				Server:  defaultServer(),
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("FromEnv\n got %+v\nwant %+v", c, want)
			}
			if !c.Upstreams[0].MatchModel("meta-llama/Llama-3.1-8B") {
				t.Error("default upstream does not serve a model with a slash")
			}
		})
	}
}

func TestMatchModel(t *testing.T) {
	tests := []struct {
		name  string
		globs []string
		model string
		want  bool
	}{
		{"empty means all", nil, "anything", true},
		{"star", []string{"*"}, "gpt-4.1", true},
		{"star crosses slash", []string{"*"}, "meta-llama/Llama-3.1-8B", true},
		{"prefix", []string{"gpt-*"}, "gpt-4.1-mini", true},
		{"prefix miss", []string{"gpt-*"}, "o3", false},
		{"second glob", []string{"gpt-*", "o*"}, "o3-mini", true},
		{"org prefix", []string{"meta-llama/*"}, "meta-llama/Llama-3.1-8B", true},
		{"inner star crosses slash", []string{"*llama*"}, "meta-llama/Llama-3.1-8B", true},
		{"class", []string{"o[13]"}, "o3", true},
		{"question", []string{"o?"}, "o4", true},
		{"exact", []string{"gpt-4.1"}, "gpt-4.1-mini", false},
		{"case sensitive", []string{"gpt-*"}, "GPT-4", false},
		{"NUL never matches", []string{"a/b"}, "a\x00b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Upstream{Models: tt.globs}).MatchModel(tt.model); got != tt.want {
				t.Errorf("Upstream.MatchModel(%q) with %q = %v, want %v", tt.model, tt.globs, got, tt.want)
			}
			if got := (Key{Models: tt.globs}).MatchModel(tt.model); got != tt.want {
				t.Errorf("Key.MatchModel(%q) with %q = %v, want %v", tt.model, tt.globs, got, tt.want)
			}
		})
	}
}

// TestKeyAllowsPath: a key's paths decide which requests without a model
// it may send; without paths, only a key not limited to some models may.
func TestKeyAllowsPath(t *testing.T) {
	tests := []struct {
		name   string
		models []string
		paths  []string
		path   string
		want   bool
	}{
		{"no models, no paths: every path", nil, nil, "/v1/files", true},
		{"models, no paths: none", []string{"gpt-*"}, nil, "/v1/files", false},
		{"star crosses slash", []string{"gpt-*"}, []string{"/v1/files*"}, "/v1/files/file-abc/content", true},
		{"prefix of another name", []string{"gpt-*"}, []string{"/v1/files*"}, "/v1/filesystem", true},
		{"exact segment", []string{"gpt-*"}, []string{"/v1/files", "/v1/files/*"}, "/v1/filesystem", false},
		{"other path", []string{"gpt-*"}, []string{"/v1/files*"}, "/v1/batches", false},
		{"paths limit a key without models", nil, []string{"/v1/batches*"}, "/v1/files", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Key{Models: tt.models, Paths: tt.paths}).AllowsPath(tt.path); got != tt.want {
				t.Errorf("Key{Models: %q, Paths: %q}.AllowsPath(%q) = %v, want %v", tt.models, tt.paths, tt.path, got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := func() *Config {
		return &Config{Upstreams: []Upstream{{Name: "a", BaseURL: "https://x/v1"}}}
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"zero-value extras are valid", func(*Config) {}, ""},
		{"listen override", func(c *Config) { c.Listen = "0.0.0.0:80" }, ""},
		{"bad listen override", func(c *Config) { c.Listen = "nope" }, `listen: invalid address "nope"`},
		{"negative duration", func(c *Config) { c.Upstreams[0].Timeouts.StreamIdle = -time.Second }, `upstreams[0].timeouts.stream_idle: duration -1s is negative`},
		{"negative body limit", func(c *Config) { c.Server.MaxBodyBytes = -1 }, `server.max_body_bytes: must not be negative`},
		{"negative body rate", func(c *Config) { c.Server.BodyMinRate = -1 }, `server.body_min_rate: must not be negative`},
		{"negative body timeout", func(c *Config) { c.Server.BodyTimeout = -1 }, `server.body_timeout: duration -1ns is negative`},
		{"no upstreams", func(c *Config) { c.Upstreams = nil }, `at least one upstream`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.mutate(c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		in   Error
		want string
	}{
		{Error{File: "config.yaml", Line: 7, Msg: "m"}, "config.yaml line 7: m"},
		{Error{Line: 7, Msg: "m"}, "line 7: m"},
		{Error{File: "config.yaml", Msg: "m"}, "config.yaml: m"},
		{Error{Msg: "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.in.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// FuzzParse checks that no input panics or hangs Parse, and that a config
// Parse accepts also passes Validate.
func FuzzParse(f *testing.F) {
	f.Add(designExample)
	f.Add("upstreams: [{name: a, base_url: http://x, <<: {weight: 2}}]")
	f.Add("server: &s {<<: [*s]}\nupstreams: &u [*u]")
	f.Add("aliases: {${A}: ${B:-x}}\nfallbacks: {a: [b, c]}")
	getenv := env(map[string]string{"OPENAI_API_KEY": "k", "WARMGATE_ADMIN_KEY": "a", "A": "1"})
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse([]byte(in), getenv)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config Validate rejects: %v", verr)
			}
		}
	})
}

// TestAliasExpansionBounded checks that aliases and merge keys cannot make
// a small file take exponential time or unbounded work.
func TestAliasExpansionBounded(t *testing.T) {
	// 30 levels of "<<: [*prev, *prev, *prev]" would be 3^30 merges if
	// merged mappings were not remembered.
	var b strings.Builder
	b.WriteString("upstreams:\n  - &l0 {name: a, base_url: http://x}\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "  - &l%d {<<: [*l%d, *l%d, *l%d], name: u%d}\n", i, i-1, i-1, i-1, i)
	}
	c, err := Parse([]byte(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if u := c.Upstreams[30]; u.Name != "u30" || u.BaseURL != "http://x" {
		t.Errorf("deepest upstream = %+v", u)
	}

	// A list aliased many times in a list aliased many times.
	b.Reset()
	b.WriteString("upstreams:\n  - &u {name: a, base_url: http://x, models: &m [")
	b.WriteString(strings.Repeat("x, ", 999) + "x]}\n")
	for range 500 {
		b.WriteString("  - *u\n")
	}
	_, err = Parse([]byte(b.String()), nil)
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("err = %v, want expansion limit", err)
	}
}

// TestDocsExample keeps the example in docs/config.md valid.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no ```yaml block in docs/config.md")
	}
	c, err := Parse([]byte(example), env(map[string]string{
		"OPENAI_API_KEY":     "sk-x",
		"WARMGATE_CI_KEY":    "ci",
		"WARMGATE_ADMIN_KEY": "adm",
		"REDIS_URL":          "redis://127.0.0.1:6379/0",
	}))
	if err != nil {
		t.Fatalf("docs/config.md example: %v", err)
	}
	if got := c.Upstreams[1].BaseURL; got != "http://127.0.0.1:8000/v1" {
		t.Errorf("local-vllm base_url = %q", got)
	}
}

// TestPrices: a model's price is its exact entry, else the longest glob
// that matches; budgets and Redis options parse with their defaults.
func TestPrices(t *testing.T) {
	cfg, err := Parse([]byte(`upstreams: [{name: a, base_url: "http://x"}]
prices:
  "gpt-4.1": {prompt: 2, completion: 8}
  "gpt-4.1*": {prompt: 0.4, completion: 1.6}
  "*": {prompt: 1}
keys: [{name: k, key_sha256: `+teamAHash+`, budget_daily: 2.5, budget_monthly: 40}]
redis: {url: "redis://127.0.0.1:6390/0", fail_closed: true}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]Price{
		"gpt-4.1": {2, 8}, "gpt-4.1-mini": {0.4, 1.6}, "llama": {Prompt: 1},
		// The model globs' * crosses "/": "*" prices every model.
		"meta-llama/Llama-3.1-8B": {Prompt: 1},
	} {
		if got, ok := cfg.Price(model); !ok || got != want {
			t.Errorf("Price(%q) = %v, %v; want %v", model, got, ok, want)
		}
	}
	if k := cfg.Keys[0]; k.BudgetDaily != 2.5 || k.BudgetMonthly != 40 || !k.HasBudget() {
		t.Errorf("key = %+v", k)
	}
	if r := cfg.Redis; !r.FailClosed || r.Prefix != "warmgate:" || r.Timeout != 250*time.Millisecond {
		t.Errorf("redis = %+v", r)
	}
	if _, ok := (&Config{}).Price("x"); ok {
		t.Error("a price without a table")
	}
}

// TestLoadDataDir: only data_dir is read, with its ${VAR}; what the rest of
// the file needs from the environment does not matter.
func TestLoadDataDir(t *testing.T) {
	t.Setenv("WARMGATE_TEST_DATA_DIR", "/var/lib/wg")
	secrets := "upstreams: [{name: a, base_url: \"${WARMGATE_TEST_UNSET}\", api_key_env: WARMGATE_TEST_UNSET_KEY}]\n"
	for _, tt := range []struct {
		name, in, want, err string
	}{
		{"absent", secrets, DefaultDataDir, ""},
		{"set", secrets + "data_dir: /srv/wg\n", "/srv/wg", ""},
		{"from the environment", secrets + "data_dir: ${WARMGATE_TEST_DATA_DIR}/x\n", "/var/lib/wg/x", ""},
		{"unset variable", secrets + "data_dir: ${WARMGATE_TEST_UNSET_DIR}\n", "", "data_dir: environment variable WARMGATE_TEST_UNSET_DIR is not set"},
		{"not a mapping", "- a\n", "", "must be a mapping"},
		{"bad YAML", "data_dir: [\n", "", "invalid YAML"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "warmgate.yaml")
			if err := os.WriteFile(path, []byte(tt.in), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadDataDir(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "UNSET_KEY") {
					t.Errorf("LoadDataDir = %q, %v; want an error saying %q alone", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("LoadDataDir = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestUpstreamKind: kind and anthropic_version parse; "" is openai and the
// version's default is the provider's, left to it.
func TestUpstreamKind(t *testing.T) {
	in := "upstreams:\n  - {name: o, base_url: \"https://api.openai.com/v1\"}\n" +
		"  - {name: c, kind: anthropic, base_url: \"https://api.anthropic.com\", api_key_env: ANTHROPIC_API_KEY}\n" +
		"  - {name: d, kind: anthropic, base_url: \"https://api.anthropic.com/v1\", anthropic_version: \"2026-10-21\"}\n" +
		"  - {name: b, kind: bedrock, region: eu-west-3, profile: prod}\n"
	c, err := Parse([]byte(in), env(map[string]string{"ANTHROPIC_API_KEY": "sk-ant-x"}))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []Upstream{{Kind: ""}, {Kind: "anthropic", APIKey: "sk-ant-x"}, {Kind: "anthropic", AnthropicVersion: "2026-10-21"},
		{Kind: "bedrock", Region: "eu-west-3", Profile: "prod"}} {
		u := c.Upstreams[i]
		if u.Kind != want.Kind || u.AnthropicVersion != want.AnthropicVersion || u.APIKey != want.APIKey ||
			u.Region != want.Region || u.Profile != want.Profile || u.BaseURL != "" && want.Region != "" {
			t.Errorf("upstreams[%d]: kind %q, anthropic_version %q, key set %v; want %q, %q, %v",
				i, u.Kind, u.AnthropicVersion, u.APIKey != "", want.Kind, want.AnthropicVersion, want.APIKey != "")
		}
	}
}
