package upstream

import (
	"context"
	"net/http"
	"sync"
)

// Warm opens connections to every upstream of the pool before traffic
// needs them: max(Prewarm, 1) concurrent cheap requests (GET <base>/models)
// per upstream, so the TCP and TLS handshakes are paid now. Any answer,
// even an error status, leaves a warm connection. Warm returns when every
// request has ended or ctx is done.
func (p *Pool) Warm(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range p.ups {
		for range max(u.cfg.Prewarm, 1) {
			wg.Go(func() { u.warmOne(ctx) })
		}
	}
	wg.Wait()
}

func (u *Upstream) warmOne(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/models", nil)
	if err != nil {
		return
	}
	resp, _, aerr := u.attempt(req, "/models", 1, NopObserver{})
	if aerr != nil {
		return
	}
	drain(resp.Body)
}
