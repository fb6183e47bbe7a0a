// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"context"
	"fmt"
)

// maxRequests sends up to MaxRequests requests back to back on one
// connection and records after how many the server closed it: it said so
// (Connection: close on an answer), or the next request needed a new
// connection (HTTP/1 close, HTTP/2 GOAWAY), or failed.
func (p *prober) maxRequests(ctx context.Context, r *Report) error {
	m := p.o.MaxRequests
	res := &r.MaxRequests
	c := p.newClient(nil, false)
	defer c.close()
	var first int64
	for i := 1; i <= m; i++ {
		s, err := p.do(ctx, c)
		switch {
		case err != nil && (i == 1 || ctx.Err() != nil):
			return err
		case err != nil:
			// The connection broke instead of closing cleanly; the
			// transport already retried what it safely could.
			res.Limit = i - 1
			return nil
		case i == 1:
			first = s.ConnID
		case s.ConnID != first || s.Dials > 0:
			res.Limit = i - 1
			return nil
		}
		res.Sent = i
		p.progress(Progress{Phase: "max-requests", Detail: fmt.Sprintf("requests on one connection: %d/%d", i, m),
			Done: int64(i), Total: int64(m)})
		if s.Close {
			res.Limit, res.Announced = i, true
			return nil
		}
	}
	return nil
}
