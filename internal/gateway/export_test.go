// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import "time"

// SetModelsTTL sets how long g's model table is used before a refresh:
// tests make it stale at once.
func (g *Gateway) SetModelsTTL(d time.Duration) {
	g.modelTab.mu.Lock()
	g.modelTab.ttl = d
	g.modelTab.mu.Unlock()
}
