// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Circuits shares which upstreams are known dead between instances: an
// instance whose circuit breaker opened for an upstream publishes it for
// the cooldown, and the others avoid that upstream meanwhile instead of
// each finding out with failed requests of their own. Each upstream is one
// key, <Prefix>circuit:<name>, that expires with the cooldown.
type Circuits struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
}

// NewCircuits returns a Circuits on the Redis of client.
func NewCircuits(client redis.UniversalClient, opts Options) *Circuits {
	return &Circuits{client: client, prefix: opts.prefix(), timeout: opts.timeout()}
}

func (c *Circuits) key(name string) string { return c.prefix + "circuit:" + escapeKey(name) }

// Publish marks the upstream name as dead for d, from now. A later Publish
// replaces the time.
func (c *Circuits) Publish(ctx context.Context, name string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	ctx, cancel := withTimeout(ctx, c.timeout)
	defer cancel()
	return c.client.Set(ctx, c.key(name), "open", d).Err()
}

// Open returns, for those of names that some instance published as dead,
// how long they remain so; one round trip.
func (c *Circuits) Open(ctx context.Context, names []string) (map[string]time.Duration, error) {
	if len(names) == 0 {
		return nil, nil
	}
	ctx, cancel := withTimeout(ctx, c.timeout)
	defer cancel()
	cmds := make([]*redis.DurationCmd, len(names))
	_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.PTTL(ctx, c.key(n))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var open map[string]time.Duration
	for i, cmd := range cmds {
		if d := cmd.Val(); d > 0 { // -2: no key; -1: no expiry (not ours)
			if open == nil {
				open = map[string]time.Duration{}
			}
			open[names[i]] = d
		}
	}
	return open, nil
}
