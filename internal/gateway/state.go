// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// The keys' shared counters: rate-limit buckets (rpm, tpm) and spend
// (budgets). In memory by default; in Redis when redis.url is set, so that
// every instance using that Redis shares them. One state per Server, kept
// across reloads: limits follow the new config's keys, counters keep their
// levels.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/ratelimit"
	"github.com/warmgate/warmgate/ratelimit/redislimit"
	"github.com/warmgate/warmgate/upstream"
)

// stateLimiter is what the gateway needs of a rate limiter: all of a
// request's takes in one call, each reported (for the x-ratelimit-*
// headers), and Adjust to settle tokens.
type stateLimiter interface {
	ratelimit.EachLimiter
	ratelimit.Adjuster
}

// state is the keys' counters and where they live.
type state struct {
	backend    string       // "memory" or "redis"
	redisCfg   config.Redis // the config's, to notice a change on reload
	failClosed bool
	lim        stateLimiter
	spend      ratelimit.Spender
	ping       func(context.Context) error // nil in memory
	closer     io.Closer                   // the Redis client, nil in memory

	rates atomic.Pointer[map[string]config.Key] // by key name; the Limit function reads it

	// local, with Redis, is this instance's own buckets: they judge the
	// requests of limited keys while Redis cannot be asked (fail open).
	local stateLimiter

	mu      sync.Mutex
	errAt   time.Time     // when the last failure happened, for /readyz
	lastErr error         // the last failure's
	backoff time.Duration // how long Redis is left alone after the last failure
	down    atomic.Bool   // the last call failed
	retryAt atomic.Int64  // unix ns: while down, Redis is not asked before it
	probing atomic.Bool   // while down, one call is asking Redis again

	logged   atomic.Int64 // unix ns of the last warning line
	failures atomic.Int64 // failures since then

	// With Redis, token corrections and spend are summed here per key and
	// sent every settleInterval by one goroutine, so that a request costs
	// one round trip (its AllowAll), not three.
	pmu      sync.Mutex
	adjusts  map[string]int     // bucket -> tokens to take (or give back)
	spends   map[string]float64 // key name -> dollars
	onErr    func(name, op string, err error)
	stop     chan struct{}
	finished chan struct{}
	circuits *redislimit.Circuits // nil in memory
	loops    sync.WaitGroup       // circuitLoop
	closed   sync.Once
	closeErr error
}

// After a failed call, Redis is left alone for redisBackoff, doubled after
// each failed probe up to redisBackoffMax: meanwhile the requests of limited
// keys are judged by this instance's own buckets (fail open) or refused
// (fail closed) at once, instead of each paying for a call that fails,
// which can take redis.timeout. Then one call (a request, the settle or
// circuit loop, /readyz) asks Redis again; when it succeeds, every call
// does.
const (
	redisBackoff    = time.Second
	redisBackoffMax = 5 * time.Second
)

// errRedisBackoff is the error of a call not made during the backoff.
var errRedisBackoff = errors.New("not asking Redis again until the wait after its failure ends")

// settleInterval is how long a token correction or a spend waits before it
// reaches Redis: what other instances may not see yet (docs/scaling.md).
const settleInterval = 50 * time.Millisecond

// Bucket names: a key's rpm and tpm buckets.
const (
	rpmPrefix = "rpm:"
	tpmPrefix = "tpm:"
)

// newState makes the state cfg asks for: Redis when redis.url is set
// (nothing is dialed yet: go-redis connects on first use and reconnects by
// itself), else memory.
func newState(cfg *config.Config) (*state, error) {
	st := &state{backend: "memory"}
	st.setKeys(cfg.Keys)
	limit := st.limit
	if cfg.Redis == nil {
		st.lim, st.spend = ratelimit.NewMemory(limit), &ratelimit.MemorySpend{}
		return st, nil
	}
	client, err := redislimit.NewClient(cfg.Redis.URL, cfg.Redis.Timeout)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	opts := redislimit.Options{Prefix: cfg.Redis.Prefix, Timeout: cfg.Redis.Timeout}
	rl := redislimit.New(client, limit, opts)
	st.backend, st.redisCfg, st.failClosed = "redis", *cfg.Redis, cfg.Redis.FailClosed
	st.lim, st.spend = guardedLimiter{st, rl}, guardedSpend{st, redislimit.NewSpend(client, opts)}
	st.ping, st.closer, st.local = rl.Ping, client, ratelimit.NewMemory(limit)
	st.adjusts, st.spends = map[string]int{}, map[string]float64{}
	st.onErr = func(string, string, error) {}
	st.stop, st.finished = make(chan struct{}), make(chan struct{})
	st.circuits = redislimit.NewCircuits(client, opts)
	go st.settleLoop()
	return st, nil
}

// adjust takes delta more tokens from bucket (gives them back if
// negative): at once in memory, within settleInterval with Redis.
func (st *state) adjust(ctx context.Context, bucket string, delta int) error {
	if st.adjusts == nil {
		return st.lim.Adjust(ctx, bucket, delta)
	}
	st.pmu.Lock()
	st.adjusts[bucket] += delta
	st.pmu.Unlock()
	return nil
}

// addSpend adds amount to key's spend: at once in memory, within
// settleInterval with Redis.
func (st *state) addSpend(ctx context.Context, key string, amount float64) error {
	if st.spends == nil {
		return st.spend.AddSpend(ctx, key, amount)
	}
	st.pmu.Lock()
	st.spends[key] += amount
	st.pmu.Unlock()
	return nil
}

// settleLoop sends the summed corrections and spends every settleInterval
// until close, then once more.
func (st *state) settleLoop() {
	defer close(st.finished)
	t := time.NewTicker(settleInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			st.flush()
		case <-st.stop:
			st.flush()
			return
		}
	}
}

// flush sends what is pending, one call per key. A failed call is reported
// to onErr and dropped: retrying a correction later would apply it to a
// bucket that has refilled meanwhile, and a spend whose answer was lost may
// have been added. A spend not sent because of the backoff is kept for the
// next flush.
func (st *state) flush() {
	st.pmu.Lock()
	adjusts, spends := st.adjusts, st.spends
	if len(adjusts) == 0 && len(spends) == 0 {
		st.pmu.Unlock()
		return
	}
	st.adjusts, st.spends = map[string]int{}, map[string]float64{}
	onErr := st.onErr
	st.pmu.Unlock()
	ctx := context.Background() // each call is bounded by redis.timeout
	for bucket, delta := range adjusts {
		if delta == 0 {
			continue
		}
		if err := st.lim.Adjust(ctx, bucket, delta); err != nil {
			onErr(strings.TrimPrefix(bucket, tpmPrefix), "adjust", err)
		}
	}
	var kept map[string]float64
	for key, amount := range spends {
		if err := st.spend.AddSpend(ctx, key, amount); err != nil {
			if errors.Is(err, errRedisBackoff) {
				if kept == nil {
					kept = map[string]float64{}
				}
				kept[key] = amount
				continue
			}
			onErr(key, "spend", err)
		}
	}
	if kept != nil {
		st.pmu.Lock()
		for key, amount := range kept {
			st.spends[key] += amount
		}
		st.pmu.Unlock()
	}
}

// setOnErr sets what a failed deferred call reports to.
func (st *state) setOnErr(f func(name, op string, err error)) {
	if st.adjusts == nil {
		return
	}
	st.pmu.Lock()
	st.onErr = f
	st.pmu.Unlock()
}

// sameBackend reports whether cfg would make the same state, so that a
// reload keeps this one (and its counters).
func (st *state) sameBackend(cfg *config.Config) bool {
	if cfg.Redis == nil {
		return st.backend == "memory"
	}
	return st.backend == "redis" && st.redisCfg == *cfg.Redis
}

// setKeys makes the limits follow keys.
func (st *state) setKeys(keys []config.Key) {
	m := make(map[string]config.Key, len(keys))
	for _, k := range keys {
		m[k.Name] = k
	}
	st.rates.Store(&m)
}

// limit is the ratelimit Limit function of the buckets "rpm:NAME" and
// "tpm:NAME".
func (st *state) limit(bucket string) ratelimit.Limit {
	keys := *st.rates.Load()
	if name, ok := strings.CutPrefix(bucket, rpmPrefix); ok {
		return ratelimit.Limit{PerMinute: keys[name].RPM}
	}
	if name, ok := strings.CutPrefix(bucket, tpmPrefix); ok {
		return ratelimit.Limit{PerMinute: keys[name].TPM}
	}
	return ratelimit.Limit{}
}

// redisAllowed reports whether a call may go to Redis now: always while
// it answers; while it fails, only once the backoff has passed, and to one
// caller at a time (the probe). A caller told yes reports how its call
// went with redisDone.
func (st *state) redisAllowed() bool {
	if !st.down.Load() {
		return true
	}
	if time.Now().UnixNano() < st.retryAt.Load() {
		return false
	}
	return st.probing.CompareAndSwap(false, true)
}

// redisDone records how a call that redisAllowed let through went. A call
// given up because its caller's ctx ended says nothing of Redis.
func (st *state) redisDone(ctx context.Context, err error) {
	switch {
	case err == nil:
		st.succeeded()
	case ctx.Err() != nil:
		st.probing.Store(false)
	default:
		st.failed(err)
	}
}

// skipped is the error of a call not made during the backoff.
func (st *state) skipped() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return fmt.Errorf("%w (it failed: %v)", errRedisBackoff, st.lastErr)
}

// failed records a failed call, for /readyz, and starts or lengthens the
// backoff: a failure within a backoff already started (a call made
// before it) leaves it as it is.
func (st *state) failed(err error) {
	now := time.Now()
	st.mu.Lock()
	if !st.down.Load() {
		st.errAt = now // since when it has been failing
	}
	st.lastErr = err
	if now.UnixNano() >= st.retryAt.Load() {
		if st.down.Load() { // a probe failed
			st.backoff = min(max(2*st.backoff, redisBackoff), redisBackoffMax)
		} else {
			st.backoff = redisBackoff
		}
		st.retryAt.Store(now.Add(st.backoff).UnixNano())
	}
	st.down.Store(true)
	st.mu.Unlock()
	st.probing.Store(false)
}

// succeeded clears the failure and the backoff once a call went through.
func (st *state) succeeded() {
	if !st.down.Load() && !st.probing.Load() {
		return
	}
	st.mu.Lock()
	st.backoff = 0
	st.down.Store(false)
	st.mu.Unlock()
	st.probing.Store(false)
}

// guardedLimiter is the Redis limiter behind the backoff.
type guardedLimiter struct {
	st  *state
	lim stateLimiter
}

func (g guardedLimiter) AllowAll(ctx context.Context, takes []ratelimit.Take) (ratelimit.Decision, int, error) {
	if !g.st.redisAllowed() {
		return ratelimit.Decision{}, -1, g.st.skipped()
	}
	d, i, err := g.lim.AllowAll(ctx, takes)
	g.st.redisDone(ctx, err)
	return d, i, err
}

func (g guardedLimiter) AllowEach(ctx context.Context, takes []ratelimit.Take, each []ratelimit.Decision) (int, error) {
	if !g.st.redisAllowed() {
		return -1, g.st.skipped()
	}
	i, err := g.lim.AllowEach(ctx, takes, each)
	g.st.redisDone(ctx, err)
	return i, err
}

func (g guardedLimiter) Adjust(ctx context.Context, key string, delta int) error {
	if !g.st.redisAllowed() {
		return g.st.skipped()
	}
	err := g.lim.Adjust(ctx, key, delta)
	g.st.redisDone(ctx, err)
	return err
}

// guardedSpend is the Redis spend totals behind the backoff.
type guardedSpend struct {
	st    *state
	spend ratelimit.Spender
}

func (g guardedSpend) Spent(ctx context.Context, key string) (day, month float64, err error) {
	if !g.st.redisAllowed() {
		return 0, 0, g.st.skipped()
	}
	day, month, err = g.spend.Spent(ctx, key)
	g.st.redisDone(ctx, err)
	return day, month, err
}

func (g guardedSpend) AddSpend(ctx context.Context, key string, amount float64) error {
	if !g.st.redisAllowed() {
		return g.st.skipped()
	}
	err := g.spend.AddSpend(ctx, key, amount)
	g.st.redisDone(ctx, err)
	return err
}

// stateReady is the state's part of /readyz.
type stateReady struct {
	Backend    string `json:"backend"`
	OK         bool   `json:"ok"`
	FailClosed bool   `json:"fail_closed,omitempty"`
	// LocalLimits: failing open, the keys' rpm and tpm are kept by this
	// instance's own buckets until Redis answers again.
	LocalLimits bool   `json:"local_limits,omitempty"`
	Error       string `json:"error,omitempty"`
	Since       string `json:"since,omitempty"`
}

// ready checks the backend: a PING to Redis, bounded by ctx, unless it
// failed and its backoff is not over (then the last failure is shown).
func (st *state) ready(ctx context.Context) stateReady {
	r := stateReady{Backend: st.backend, OK: true, FailClosed: st.failClosed}
	if st.ping == nil {
		return r
	}
	var err error
	if st.redisAllowed() {
		err = st.ping(ctx)
		st.redisDone(ctx, err)
	}
	if err == nil && !st.down.Load() {
		return r
	}
	r.OK, r.LocalLimits = false, !st.failClosed
	st.mu.Lock()
	r.Error = "cannot reach Redis: " + cmp.Or(err, st.lastErr).Error()
	r.Since = st.errAt.UTC().Format(time.RFC3339)
	st.mu.Unlock()
	return r
}

// close sends what is pending and releases the Redis client.
func (st *state) close() error {
	if st.closer == nil {
		return nil
	}
	st.closed.Do(func() {
		close(st.stop)
		<-st.finished
		st.loops.Wait()
		st.closeErr = st.closer.Close()
	})
	return st.closeErr
}

// circuitShareEvery is how often an instance publishes the upstreams whose
// circuit it opened and reads those the others did.
const circuitShareEvery = time.Second

// shareCircuits starts, with Redis, the loop that shares open circuits
// between instances: an upstream whose circuit this instance opened is
// published for its cooldown, and one another instance published is
// avoided here for the rest of it (Upstream.CoolDown). current returns the
// pool and config in use (they change on reload).
func (st *state) shareCircuits(current func() (*upstream.Pool, *config.Config)) {
	if st.circuits == nil {
		return
	}
	st.loops.Add(1)
	go func() {
		defer st.loops.Done()
		t := time.NewTicker(circuitShareEvery)
		defer t.Stop()
		published := map[string]bool{} // open here, and published, until it closes
		for {
			select {
			case <-st.stop:
				return
			case <-t.C:
			}
			pool, cfg := current()
			st.shareOnce(pool, cfg, published)
		}
	}()
}

func (st *state) shareOnce(pool *upstream.Pool, cfg *config.Config, published map[string]bool) {
	if !st.redisAllowed() {
		return // Redis failed: asked again once its backoff ends
	}
	ctx, cancel := context.WithTimeout(context.Background(), circuitShareEvery)
	defer cancel()
	var failed error
	ups := pool.Upstreams()
	names := make([]string, 0, len(ups))
	for _, u := range ups {
		name := u.Name()
		uc := findUpstream(cfg, name)
		if uc == nil || uc.Circuit.Disable {
			continue
		}
		names = append(names, name)
		if u.Stats().Circuit != upstream.CircuitOpen {
			delete(published, name)
			continue
		}
		if !published[name] {
			cooldown := tuning(*uc).WithDefaults().Breaker.OpenTimeout
			if err := st.circuits.Publish(ctx, name, cooldown); err != nil {
				st.onErrLocked(name, "circuit", err)
				failed = err
				continue
			}
			published[name] = true
		}
	}
	if len(names) == 0 {
		st.probing.Store(false) // Redis was not asked: nothing learned
		return
	}
	open, err := st.circuits.Open(ctx, names)
	st.redisDone(ctx, cmp.Or(err, failed))
	if err != nil {
		st.onErrLocked("", "circuit", err)
		return
	}
	for _, u := range ups {
		if d, ok := open[u.Name()]; ok && !published[u.Name()] {
			u.CoolDown(d)
		}
	}
}

// onErrLocked reports a failed background call.
func (st *state) onErrLocked(name, op string, err error) {
	st.pmu.Lock()
	f := st.onErr
	st.pmu.Unlock()
	f(name, op, err)
}
