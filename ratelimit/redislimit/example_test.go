// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/warmgate/warmgate/ratelimit"
	"github.com/warmgate/warmgate/ratelimit/redislimit"
)

// ExampleLimiter_AllowAll checks a request's rpm and tpm in one round trip
// with one Limiter: the kind of limit is part of the key, so the two never
// share a bucket.
func ExampleLimiter_AllowAll() {
	opt, err := redis.ParseURL("redis://127.0.0.1:6379/0")
	if err != nil {
		panic(err)
	}
	client := redis.NewClient(opt)
	defer client.Close()

	rpm := map[string]int{"team-a": 60}
	tpm := map[string]int{"team-a": 100_000}
	lim := redislimit.New(client, func(key string) ratelimit.Limit {
		kind, name, _ := strings.Cut(key, ":")
		if kind == "rpm" {
			return ratelimit.Limit{PerMinute: rpm[name]}
		}
		return ratelimit.Limit{PerMinute: tpm[name]}
	}, redislimit.Options{})

	const estimate = 1500
	d, i, err := lim.AllowAll(context.Background(), []ratelimit.Take{
		{Key: "rpm:team-a", N: 1},
		{Key: "tpm:team-a", N: estimate},
	})
	switch {
	case err != nil:
		fmt.Println("Redis is down: fail open or closed:", err)
	case !d.Allowed:
		fmt.Printf("429: take %d refused, retry after %v\n", i, d.RetryAfter)
	default:
		// ... send the request, then reconcile the estimate:
		const used = 420
		_ = lim.Adjust(context.Background(), "tpm:team-a", used-estimate)
	}
}
