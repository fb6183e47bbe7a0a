// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import "time"

// PoolDefaults are a kind's connection pool settings, which the config
// applies to an upstream of the kind where it sets none. A zero field
// leaves the upstream package's default (idle timeout 90s, HTTP/2 on, 80
// streams per connection).
type PoolDefaults struct {
	// IdleTimeout closes a connection idle this long: below what the
	// provider's edge keeps an idle connection.
	IdleTimeout time.Duration
	// DisableHTTP2 speaks HTTP/1.1 only.
	DisableHTTP2 bool
	// MaxStreamsPerConn caps the concurrent requests on one HTTP/2
	// connection.
	MaxStreamsPerConn int
}

// poolDefaults is the table of kinds whose provider's edge calls for pool
// settings other than the upstream package's, one row per kind, each value
// with its reason (docs/providers.md says what each provider documents).
// Kind openai has none: it is any OpenAI-compatible server, whose edge is
// unknown.
var poolDefaults = map[Kind]PoolDefaults{
	// Cloudflare, in front of api.anthropic.com (its answers carry cf-ray),
	// documents 400s for idle client connections, HTTP/1.1 and HTTP/2
	// alike; 300s stays below it and spares sparse traffic a new TLS
	// handshake every 90s.
	Anthropic: {IdleTimeout: 300 * time.Second},
	// Azure documents no idle timeout for Azure OpenAI; Azure's load
	// balancers and NAT gateway drop idle TCP flows after 4 minutes by
	// default, which a gateway running in Azure goes through: 90s is well
	// below, spelled out here.
	Azure: {IdleTimeout: 90 * time.Second},
}

// DefaultPool returns kind k's pool defaults; the zero value for a kind
// without a row.
func DefaultPool(k Kind) PoolDefaults { return poolDefaults[k] }
