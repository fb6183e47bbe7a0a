// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"sync"
)

// Warm waits until every upstream of the pool has its Prewarm connections
// open (the keeper opens them as soon as New returns), and opens one
// connection to each upstream that has no Prewarm, so that the first
// requests pay no handshake. It returns when every upstream answered or
// failed, or ctx ends.
func (p *Pool) Warm(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range p.ups {
		wg.Go(func() {
			select {
			case <-u.keep.warmed:
			case <-ctx.Done():
				return
			}
			if u.classes[classLong].open.Load() == 0 {
				u.warmOne(ctx)
			}
		})
	}
	wg.Wait()
}
