// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/provider"
)

// Effective returns a copy of cfg as the gateway will run it: the upstream
// pool, timeout, retry and circuit settings left at zero in the file get the
// defaults the upstream package applies, and http2 is spelled out. Secrets
// are not in it: resolved keys are not copied, and passwords in URLs are
// replaced by "xxxxx".
func Effective(cfg *config.Config) *config.Config {
	out := *cfg
	out.Upstreams = make([]config.Upstream, len(cfg.Upstreams))
	for i, u := range cfg.Upstreams {
		d := tuning(u).WithDefaults()
		u.APIKey, u.EntraToken = "", ""
		u.BaseURL = redactURL(u.BaseURL)
		if ep, err := providerEndpoint(u); err == nil { // the kind and its defaults, spelled out
			u.Kind = string(ep.Kind)
			if ep.Kind == provider.Anthropic && u.AnthropicVersion == "" {
				u.AnthropicVersion = provider.DefaultAnthropicVersion
			}
			if ep.Kind == provider.Bedrock && u.BaseURL == "" {
				u.BaseURL = ep.BaseURL // the region's endpoint
			}
			if ep.Kind == provider.Azure && u.APIVersion == "" && !strings.HasSuffix(ep.BaseURL, "/openai/v1") {
				u.APIVersion = provider.DefaultAzureAPIVersion // the deployment style's
			}
		}
		u.Models = append([]string(nil), u.Models...)
		u.Weight, u.Priority = d.Weight, d.Priority
		h2 := !d.DisableHTTP2
		u.Pool = config.Pool{MaxConns: d.MaxConns, MaxIdle: d.MaxIdle, IdleTimeout: d.IdleTimeout,
			Prewarm: d.Prewarm, HTTP2: &h2, MaxConnAge: d.MaxConnAge, MaxStreamsPerConn: d.MaxStreamsPerConn}
		t := d.Timeouts
		u.Timeouts = config.Timeouts{Connect: t.Connect, TLS: t.TLS, FirstByte: t.FirstByte,
			StreamIdle: t.StreamIdle, PoolWait: t.PoolWait, Total: u.Timeouts.Total}
		r := d.Retry
		u.Retry = config.Retry{Attempts: r.Attempts, Base: r.Base, Max: r.Max, Budget: r.Budget}
		b := d.Breaker
		u.Circuit = config.Circuit{Failures: b.ConsecutiveFailures, Ratio: b.FailureRatio,
			MinRequests: b.MinRequests, Window: b.Window, Cooldown: b.OpenTimeout, Disable: b.Disable}
		out.Upstreams[i] = u
	}
	out.Keys = append([]config.Key(nil), cfg.Keys...)
	if cfg.Redis != nil {
		r := *cfg.Redis
		r.URL = redactURL(r.URL)
		out.Redis = &r
	}
	if cfg.Admin != nil {
		a := *cfg.Admin
		a.Key = ""
		out.Admin = &a
	}
	out.Tracing.OTLPEndpoint = redactURL(cfg.Tracing.OTLPEndpoint)
	ratio := cfg.Tracing.Ratio()
	out.Tracing.SampleRatio = &ratio
	perSecond := cfg.Tracing.PerSecond()
	out.Tracing.SamplePerSecond = &perSecond
	out.Tracing.ServiceName = cfg.Tracing.Service()
	delay := cfg.Server.PreStop()
	out.Server.ShutdownDelay = &delay
	return &out
}

// redactURL hides a URL's password; a URL that does not parse but looks
// like it holds credentials is hidden whole.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(hidden: not a valid URL and may contain a password)"
		}
		return raw
	}
	if u.User != nil {
		if _, ok := u.User.Password(); !ok {
			// A user name alone may be the secret: redis://secret@host
			// puts the password there, and some HTTP APIs take the key
			// as the user name.
			u.User = url.User("xxxxx")
			if u.Scheme == "redis" || u.Scheme == "rediss" {
				u.User = url.UserPassword("", "xxxxx")
			}
		}
	}
	return u.Redacted()
}

// PrintConfig writes Effective(cfg) to w as YAML (durations as "30s"), with
// a header saying, for each secret, where it comes from and whether it was
// found, never its value.
func PrintConfig(w io.Writer, cfg *config.Config) error {
	var head strings.Builder
	head.WriteString("# warmgate: effective configuration (defaults applied, secrets redacted)\n")
	head.WriteString("# 0 means none: pool.max_conns unlimited, pool.max_conn_age off, timeouts.total no limit\n")
	for _, u := range cfg.Upstreams {
		switch {
		case u.APIKeyEnv != "":
			fmt.Fprintf(&head, "# upstream %s: API key from $%s: %s\n", u.Name, u.APIKeyEnv, setOrNot(u.APIKey))
		case u.APIKeyFile != "":
			fmt.Fprintf(&head, "# upstream %s: API key from file %s: %s\n", u.Name, u.APIKeyFile, setOrNot(u.APIKey))
		default:
			fmt.Fprintf(&head, "# upstream %s: no API key\n", u.Name)
		}
	}
	if cfg.Admin != nil && cfg.Admin.KeyEnv != "" {
		fmt.Fprintf(&head, "# admin key from $%s: %s\n", cfg.Admin.KeyEnv, setOrNot(cfg.Admin.Key))
	}
	b, err := yaml.Marshal(Effective(cfg))
	if err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	if _, err := io.WriteString(w, head.String()); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func setOrNot(v string) string {
	if v == "" {
		return "NOT SET"
	}
	return "set (redacted)"
}
