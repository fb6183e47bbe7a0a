// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads, resolves and validates the YAML config file at path, with
// ${VAR} and secrets taken from the process environment. Problems are
// reported as *Error values naming the file, line and key (see Parse).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(data, getenvOr(os.Getenv), path)
}

// LoadDataDir reads only data_dir from the config file at path, with
// ${VAR} in it expanded from the process environment; DefaultDataDir when
// the file sets none. The rest of the file is not checked, and the secrets
// it names need not be in the environment: a tool that reads what the
// gateway stored (warmgate usage) needs nothing else.
func LoadDataDir(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	root, yerr := parseYAML(data)
	if yerr != nil {
		yerr.File = path
		return "", yerr
	}
	var c Config
	p := &problems{file: path, info: map[string]valueInfo{}}
	if root != nil {
		d := &decoder{problems: p, getenv: os.Getenv}
		d.decode(root, reflect.ValueOf(&c).Elem(), "")
	}
	var errs []error
	for _, e := range p.errs {
		// Problems elsewhere in the file are serve's to report; the
		// file's own shape (not a mapping) or data_dir's are ours.
		if e, ok := e.(*Error); ok && (e.Key == "data_dir" || e.Key == "" && e.Line > 0) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	if c.DataDir == "" {
		return DefaultDataDir, nil
	}
	return c.DataDir, nil
}

// Parse decodes a YAML config, expands ${VAR} and ${VAR:-default} in values
// (never in keys) with getenv, resolves secrets (api_key_env, api_key_file,
// keys[].key_env, admin.key_env), applies defaults and validates.
//
// Decoding is strict: unknown or duplicate keys, values of the wrong type
// and bad values are errors naming the key and line. All problems found are
// returned together (errors.Join of *Error); none contains a secret.
// Relative file paths (api_key_file) are relative to the working directory.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	return parse(data, getenvOr(getenv), "")
}

// getenvOr treats a nil getenv as an empty environment.
func getenvOr(getenv func(string) string) func(string) string {
	if getenv == nil {
		return func(string) string { return "" }
	}
	return getenv
}

func parse(data []byte, getenv func(string) string, file string) (*Config, error) {
	p := &problems{file: file, info: map[string]valueInfo{}}
	root, err := parseYAML(data)
	if err != nil {
		err.File = file
		return nil, err
	}
	var c Config
	if root != nil {
		d := &decoder{problems: p, getenv: getenv}
		d.decode(root, reflect.ValueOf(&c).Elem(), "")
	}
	// Problems of the file's shape stop here: later checks would mostly
	// repeat them. A ${VAR} that is not set does not: the other problems
	// of the file are worth knowing before the next try.
	if len(p.errs) > len(p.unset) {
		return nil, errors.Join(p.errs...)
	}
	c.resolveSecrets(getenv, p)
	c.applyDefaults()
	c.validate(p)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return &c, nil
}

// parseYAML returns the single document's root node, or nil for an empty file.
func parseYAML(data []byte) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, nil
	} else if err != nil {
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, &Error{Line: extra.Line, Msg: "only one YAML document is allowed (remove the second ---)"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil // only comments
	}
	return root, nil
}

// yamlError turns "yaml: line 3: did not find…" into a located Error.
func yamlError(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{Msg: "invalid YAML: " + msg}
	var line int
	if _, serr := fmt.Sscanf(msg, "line %d:", &line); serr == nil {
		_, rest, _ := strings.Cut(msg, ": ")
		e.Line, e.Msg = line, "invalid YAML: "+rest
	}
	return e
}

// resolveSecrets fills Upstream.APIKey, Key.KeySHA256 and Admin.Key from
// the environment or files. Messages name variables and files, never values.
func (c *Config) resolveSecrets(getenv func(string) string, p *problems) {
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		key := fmt.Sprintf("upstreams[%d]", i)
		switch {
		case u.APIKeyEnv != "" && u.APIKeyFile != "":
			p.at(key+".api_key_file", "set api_key_env or api_key_file, not both")
		case u.APIKeyEnv != "":
			u.APIKey = secretFromEnv(p, key+".api_key_env", u.APIKeyEnv, "the API key of upstream "+quoteName(u.Name, key), getenv)
		case u.APIKeyFile != "":
			b, err := os.ReadFile(u.APIKeyFile)
			if err != nil {
				p.at(key+".api_key_file", "cannot read the API key of upstream %s: %v", quoteName(u.Name, key), err)
				continue
			}
			if u.APIKey = strings.TrimSpace(string(b)); u.APIKey == "" {
				p.at(key+".api_key_file", "file %q (the API key of upstream %s) is empty", u.APIKeyFile, quoteName(u.Name, key))
			}
		}
		// Neither: a keyless upstream such as a local vLLM.
		u.resolveEntraToken(p, key, getenv)
	}
	for i := range c.Keys {
		k := &c.Keys[i]
		key := fmt.Sprintf("keys[%d]", i)
		switch {
		case k.KeySHA256 != "" && k.KeyEnv != "":
			p.at(key+".key_env", "set key_sha256 or key_env, not both")
		case k.KeyEnv != "":
			if v := secretFromEnv(p, key+".key_env", k.KeyEnv, "client key "+quoteName(k.Name, key), getenv); v != "" {
				sum := sha256.Sum256([]byte(v))
				k.KeySHA256 = hex.EncodeToString(sum[:])
			}
		default:
			k.KeySHA256 = strings.ToLower(k.KeySHA256)
		}
	}
	if c.Admin != nil && c.Admin.KeyEnv != "" {
		c.Admin.Key = secretFromEnv(p, "admin.key_env", c.Admin.KeyEnv, "the admin key", getenv)
	}
}

// secretFromEnv returns the trimmed value of the variable named name, or
// records a problem. what says whose secret it is, for the message.
func secretFromEnv(p *problems, key, name, what string, getenv func(string) string) string {
	if !validEnvName(name) {
		// Possibly the secret itself pasted in by mistake: do not echo it.
		p.at(key, "must name an environment variable (letters, digits and _), not hold the secret itself")
		return ""
	}
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		p.at(key, "environment variable %s (%s) is not set", name, what)
	}
	return v
}

func quoteName(name, key string) string {
	if name == "" {
		return key
	}
	return fmt.Sprintf("%q", name)
}

const (
	// DefaultListen is Listen's default; applyDefaults says why.
	DefaultListen = "127.0.0.1:8080"
	// DefaultDataDir is DataDir's default; applyDefaults says why.
	DefaultDataDir = "./warmgate-data"
)

// applyDefaults fills zero values. Upstream pool, timeouts and retry stay
// zero (the upstream package owns those defaults), except the pool
// settings that the upstream's kind sets (provider.DefaultPool).
func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen // loopback: exposing the gateway must be a deliberate choice
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir // next to where it runs: easy to find, back up and delete
	}
	for i := range c.Upstreams {
		if c.Upstreams[i].Weight == 0 {
			c.Upstreams[i].Weight = 1 // equal shares unless told otherwise
		}
		c.Upstreams[i].Pool.applyKindDefaults(c.Upstreams[i].Kind)
	}
	if c.Redis != nil {
		if c.Redis.Prefix == "" {
			c.Redis.Prefix = "warmgate:" // recognizable in a shared Redis, and easy to SCAN for
		}
		setDefault(&c.Redis.Timeout, 250*time.Millisecond) // above loopback/LAN round trips, below a user noticing
	}
	s := &c.Server
	setDefault(&s.ReadHeaderTimeout, 10*time.Second) // slowloris guard; real clients send headers in milliseconds
	setDefault(&s.IdleTimeout, 120*time.Second)      // outlive SDK idle pools (often 90s) so clients close first, not mid-reuse
	setDefault(&s.MaxHeaderBytes, 64<<10)            // room for large auth and trace headers; the stdlib's 1 MiB invites abuse
	setDefault(&s.MaxBodyBytes, 32<<20)              // long chat histories and inline images fit; more is a mistake or an attack
	setDefault(&s.BodyTimeout, 20*time.Second)       // Apache mod_reqtimeout's body=20: any body of a few MiB arrives by then on a real link
	setDefault(&s.BodyMinRate, 8<<10)                // 64 kbit/s: a 32 MiB upload may take over an hour; a trickle holding a connection is cut
	setDefault(&s.Heartbeat, 15*time.Second)         // under the 30-60s idle cut of common load balancers
	setDefault(&s.DrainTimeout, 30*time.Second)      // most non-stream requests finish; within typical orchestrator grace periods
}

func setDefault[T time.Duration | int | int64](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// FromEnv returns the configuration used when there is no config file: one
// upstream named "default" at OPENAI_BASE_URL (default
// https://api.openai.com/v1, as in the OpenAI SDKs) with the key from
// OPENAI_API_KEY (may be empty, for keyless upstreams), serving every
// model, with defaults applied and validated.
func FromEnv(getenv func(string) string) (*Config, error) {
	getenv = getenvOr(getenv)
	base := strings.TrimSpace(getenv("OPENAI_BASE_URL"))
	if base == "" {
		base = "https://api.openai.com/v1" // what the OpenAI SDKs use, so existing setups just work
	}
	c := &Config{Upstreams: []Upstream{{
		Name:      "default",
		BaseURL:   base,
		APIKeyEnv: "OPENAI_API_KEY",
		APIKey:    strings.TrimSpace(getenv("OPENAI_API_KEY")),
		Models:    []string{"*"},
	}}}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("settings from the environment (OPENAI_BASE_URL): %w", err)
	}
	return c, nil
}

// Price returns the price of model: the entry named exactly so, else the
// longest glob that matches it (the globs of matchModel, so "*" prices
// "meta-llama/Llama-3.1-8B" too); ok is false when none does.
func (c *Config) Price(model string) (p Price, ok bool) {
	if p, ok := c.Prices[model]; ok {
		return p, true
	}
	best := ""
	for glob, gp := range c.Prices {
		if matchModel([]string{glob}, model) && (len(glob) > len(best) || len(glob) == len(best) && glob < best) {
			best, p, ok = glob, gp, true
		}
	}
	return p, ok
}

// HasKeys reports whether client keys are configured. Without keys the
// gateway is open, which is allowed on loopback only (see Server.AllowOpen).
func (c *Config) HasKeys() bool { return len(c.Keys) > 0 }

// MatchModel reports whether u serves model: Models is empty, or one of its
// globs matches. See matchModel for the glob syntax.
func (u Upstream) MatchModel(model string) bool { return matchModel(u.Models, model) }

// MatchModel reports whether the key may use model: Models is empty, or one
// of its globs matches. See matchModel for the glob syntax.
func (k Key) MatchModel(model string) bool { return matchModel(k.Models, model) }

// AllowsPath reports whether the key may send a request that names no
// model (a pass-through endpoint such as /v1/files) to path p: by Paths
// when set, else only when the key is not limited to some Models.
func (k Key) AllowsPath(p string) bool {
	if len(k.Paths) == 0 {
		return len(k.Models) == 0
	}
	return matchModel(k.Paths, p)
}

// slash stands in for "/" while matching, so that path.Match's * and ?
// cross it: model names like "meta-llama/Llama-3.1-8B" are not paths, and
// "*" must mean every model. NUL cannot occur in a sane model name.
const slash = "\x00"

// matchModel reports whether globs is empty or one glob matches model.
// Globs use path.Match syntax (* any run, ? one character, [a-z] a class,
// \ escapes), except that * and ? also match "/".
func matchModel(globs []string, model string) bool {
	if len(globs) == 0 {
		return true
	}
	if strings.Contains(model, slash) {
		return false
	}
	m := strings.ReplaceAll(model, "/", slash)
	for _, g := range globs {
		if ok, _ := path.Match(strings.ReplaceAll(g, "/", slash), m); ok {
			return true
		}
	}
	return false
}
