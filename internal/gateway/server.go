// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/dashboard"
	"github.com/warmgate/warmgate/internal/metrics"
	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/internal/tracing"
	"github.com/warmgate/warmgate/internal/usage"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/ratelimit/redislimit"
	"github.com/warmgate/warmgate/upstream"
)

// Server is a running gateway: the upstream pool, the handler and the
// hardened inbound http.Server. cmd/warmgate's serve and demo use it, and so
// do the end-to-end tests.
type Server struct {
	cfg *config.Config
	log *slog.Logger
	// Pool and Handler are the ones in use; Reload replaces them (do not
	// read them concurrently with Reload).
	Pool    *upstream.Pool
	Handler *Gateway
	cur     atomic.Pointer[Gateway] // what requests are served by
	file    string                  // the config file, for ReloadFile
	metrics *metrics.Metrics
	dash    *dashboard.Dashboard
	reload  sync.Mutex
	srv     *http.Server
	ln      net.Listener
	listen  string // the address given to Listen: its host is one an open gateway answers to
	done    chan error
	once    sync.Once
	state   *state          // the keys' limits and spend, kept across reloads
	ledger  *usage.Ledger   // nil when usage.disable
	tracer  *tracing.Tracer // nil when tracing is off
	stopped sync.Once       // the tracer's stop: Shutdown, then Close, may both try
	// roots are the upstreams' tls.ca_file pools, by name: a reload
	// rebuilds an upstream whose file changed, even at the same path.
	roots  map[string]*x509.CertPool
	life   lifecycle      // warm-up and shutdown, for /readyz
	warms  sync.WaitGroup // StartWarm's goroutine
	unwarm context.CancelFunc

	// Every request's context descends from base; cut cancels it, with
	// errShuttingDown, when the drain timeout ends.
	cut      context.CancelCauseFunc
	inFlight atomic.Int64 // requests in the handler
}

// Option changes what NewServer builds.
type Option func(*options)

type options struct {
	spanExporter sdktrace.SpanExporter
	file         string
}

// WithSpanExporter turns tracing on with exp in place of the OTLP exporter,
// whatever the config's endpoint; spans are exported as they end (tests use
// tracetest.NewInMemoryExporter). The config's sample ratio and service
// name still apply.
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return func(o *options) { o.spanExporter = exp }
}

// UpstreamConfigs turns the file's upstreams into the pool's configs:
// what the upstream's kind needs (base URL, credential headers, request
// hook: internal/provider), TLS trust, pool tuning.
func UpstreamConfigs(cfg *config.Config, log *slog.Logger) ([]upstream.Config, error) {
	out := make([]upstream.Config, 0, len(cfg.Upstreams))
	for _, u := range cfg.Upstreams {
		uc := tuning(u)
		ep, err := providerEndpoint(u)
		if err != nil {
			return nil, err
		}
		if ep.Check != nil { // kind bedrock: its AWS credentials, fetched now (and cached for Prepare)
			ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
			err := ep.Check(ctx)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("upstream %q: %w", u.Name, err)
			}
		}
		uc.BaseURL, uc.Header, uc.Prepare = ep.BaseURL, ep.Header.Clone(), ep.Prepare
		for k, v := range u.Headers { // headers: set on every request, over the client's
			if uc.Header == nil {
				uc.Header = http.Header{}
			}
			uc.Header.Set(k, v)
		}
		if u.TLS.CAFile != "" || u.TLS.InsecureSkipVerify || u.TLS.ServerName != "" {
			tc := &tls.Config{ServerName: u.TLS.ServerName, InsecureSkipVerify: u.TLS.InsecureSkipVerify}
			if u.TLS.InsecureSkipVerify {
				log.Warn("TLS certificate verification is OFF for this upstream (tls.insecure_skip_verify): anyone on the path can read its traffic", "upstream", u.Name)
			}
			if u.TLS.CAFile != "" {
				pem, err := os.ReadFile(u.TLS.CAFile)
				if err != nil {
					return nil, fmt.Errorf("upstream %q: tls.ca_file: %w", u.Name, err)
				}
				roots, err := x509.SystemCertPool()
				if err != nil {
					roots = x509.NewCertPool()
				}
				if !roots.AppendCertsFromPEM(pem) {
					return nil, fmt.Errorf("upstream %q: tls.ca_file %s holds no PEM certificate", u.Name, u.TLS.CAFile)
				}
				tc.RootCAs = roots
			}
			uc.TLS = tc
		}
		out = append(out, uc)
	}
	return out, nil
}

// checkTimeout bounds an upstream's startup check (provider.Endpoint.Check):
// AWS credentials from a metadata service or STS come in well under it.
const checkTimeout = 15 * time.Second

// providerEndpoint is how the gateway talks to u, by its kind.
func providerEndpoint(u config.Upstream) (*provider.Endpoint, error) {
	ep, err := provider.New(provider.Settings{Kind: provider.Kind(u.Kind), BaseURL: u.BaseURL, APIKey: u.APIKey, AnthropicVersion: u.AnthropicVersion,
		Region: u.Region, Profile: u.Profile,
		APIVersion: u.APIVersion, Deployments: u.Deployments, EntraToken: u.EntraToken, EntraTokenFile: u.EntraTokenFile})
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", u.Name, err)
	}
	return ep, nil
}

// tuning is u's pool settings as the upstream package takes them; zero
// values stay zero (New applies the defaults).
func tuning(u config.Upstream) upstream.Config {
	return upstream.Config{
		Name:              u.Name,
		BaseURL:           u.BaseURL,
		Weight:            u.Weight,
		Priority:          u.Priority,
		MaxConns:          u.Pool.MaxConns,
		MaxIdle:           u.Pool.MaxIdle,
		IdleTimeout:       u.Pool.IdleTimeout,
		Prewarm:           u.Pool.Prewarm,
		DisableHTTP2:      u.Pool.HTTP2 != nil && !*u.Pool.HTTP2,
		MaxConnAge:        u.Pool.MaxConnAge,
		MaxStreamsPerConn: u.Pool.MaxStreamsPerConn,
		Timeouts: upstream.Timeouts{
			Connect:    u.Timeouts.Connect,
			TLS:        u.Timeouts.TLS,
			FirstByte:  u.Timeouts.FirstByte,
			StreamIdle: u.Timeouts.StreamIdle,
			PoolWait:   u.Timeouts.PoolWait,
		},
		Retry: upstream.RetryPolicy{
			Attempts: u.Retry.Attempts,
			Base:     u.Retry.Base,
			Max:      u.Retry.Max,
			Budget:   u.Retry.Budget,

			AssumeIdempotent: u.Retry.AssumeIdempotent,
		},
		Breaker: upstream.BreakerSettings{
			ConsecutiveFailures: u.Circuit.Failures,
			FailureRatio:        u.Circuit.Ratio,
			MinRequests:         u.Circuit.MinRequests,
			Window:              u.Circuit.Window,
			OpenTimeout:         u.Circuit.Cooldown,
			Disable:             u.Circuit.Disable,
		},
	}
}

// NewServer builds the pool and handler for cfg. Nothing listens yet.
func NewServer(cfg *config.Config, log *slog.Logger, opts ...Option) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ucs, err := UpstreamConfigs(cfg, log)
	if err != nil {
		return nil, err
	}
	st, err := newState(cfg)
	if err != nil {
		return nil, err
	}
	var led *usage.Ledger
	if !cfg.Usage.Disable {
		if led, err = usage.Open(cfg.DataDir, usage.Options{Logger: log}); err != nil {
			_ = st.close()
			return nil, fmt.Errorf("usage ledger: %w", err)
		}
	}
	tr, err := startTracing(cfg, o.spanExporter, log)
	if err != nil {
		_ = st.close()
		closeLedger(led, log)
		return nil, err
	}
	m := metrics.New()
	d := dashboard.New()
	obs := []upstream.Observer{m, d.Observer()}
	if tr != nil {
		obs = append(obs, tr.Observer())
	}
	pool, err := upstream.New(ucs, upstream.WithObserver(upstream.Observers(obs...)))
	if err != nil {
		_ = st.close()
		closeLedger(led, log)
		if tr != nil {
			_ = tr.Shutdown(context.Background())
		}
		return nil, err
	}
	m.WatchPool(pool)
	if led != nil {
		m.WatchLedger(led)
	}
	d.Watch(pool)
	s := &Server{cfg: cfg, log: log, done: make(chan error, 1), tracer: tr, metrics: m, dash: d, file: o.file, state: st, ledger: led,
		roots: rootsOf(ucs)}
	if st.backend == "redis" {
		redislimit.LogTo(log) // not the standard library's log on stderr
		log.Info("limits, budgets and open circuits shared through Redis", "redis", redactURL(cfg.Redis.URL), "fail_closed", cfg.Redis.FailClosed)
	}
	s.install(cfg, pool)
	st.shareCircuits(s.current)
	// warmgate_state_up from the start, not from the first limited request.
	pctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if st.ready(pctx).OK {
		m.StateOK(st.backend)
	}
	cancel()
	for _, u := range cfg.Upstreams {
		if u.APIKey == "" && !cfg.HasKeys() && u.Kind != "bedrock" { // as Gateway.passAuth
			log.Warn("upstream has no API key of its own: each client's own Authorization header is passed through to it "+
				"(give it one with api_key_env, or OPENAI_API_KEY without --config)", "upstream", u.Name)
		}
	}
	var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1) // also when the handler aborts (panic)
		s.cur.Load().ServeHTTP(w, r)
	})
	if tr != nil {
		handler = tr.Handler(handler, traceRoute)
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true) // h2c for clients that speak it (gRPC-style proxies)
	base, cut := context.WithCancelCause(context.Background())
	s.cut = cut
	s.srv = &http.Server{
		BaseContext:       func(net.Listener) context.Context { return base },
		Handler:           handler,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
		Protocols:         &protos,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Listen opens the listener on addr (cfg.Listen when empty). A busy
// address is reported with what to do about it.
func (s *Server) Listen(addr string) error {
	if addr == "" {
		addr = s.cfg.Listen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, errAddrInUse) {
			return fmt.Errorf("cannot listen on %s: the address is already in use (stop the other process or pick another port with --listen)", addr)
		}
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	s.ln = ln
	s.listen = addr
	s.cur.Load().hosts = newEdgeHosts(addr, s.cfg.AllowedHosts) // before Start: nothing serves yet
	return nil
}

// Addr is the listening address, once Listen succeeded.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the gateway's base URL for clients ("http://host:port/v1").
func (s *Server) URL() string { return "http://" + s.Addr() + "/v1" }

// Start serves in the background; Warm or StartWarm warms the pool, and
// Shutdown returns the serving error.
func (s *Server) Start() {
	go func() {
		err := s.srv.Serve(&acceptLog{Listener: s.ln, log: s.log}) // accept errors at warn (acceptlog.go)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
}

// Warm opens connections to every upstream so that the first requests pay
// no handshake. It returns when every upstream answered or failed, or ctx
// ends; until then /readyz answers 503.
func (s *Server) Warm(ctx context.Context) {
	s.life.warming.Add(1)
	defer s.life.warming.Add(-1)
	s.warm(ctx)
}

// StartWarm runs Warm in the background for at most d, and returns at
// once: /readyz answers 503 from now until the warm-up is done or d has
// passed. Shutdown and Close stop it.
func (s *Server) StartWarm(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	s.unwarm = cancel
	s.life.warming.Add(1)
	s.warms.Go(func() {
		defer cancel()
		defer s.life.warming.Add(-1)
		s.warm(ctx)
	})
}

// warm warms the pool, then warns about the upstreams whose warm-up
// request (GET <base_url>/models) answered 404: almost always a base_url
// without the API's /v1, which would make every request a 404 too.
func (s *Server) warm(ctx context.Context) {
	s.Pool.Warm(ctx)
	for _, st := range s.Pool.Stats() {
		if st.WarmStatus != http.StatusNotFound {
			continue
		}
		fix := "check base_url: requests go to it + the API path (/chat/completions, ...)"
		bedrock := s.cur.Load().dialects[st.Name] == provider.DialectBedrock
		if bedrock {
			fix = "check base_url: it is Bedrock Runtime's endpoint (https://bedrock-runtime.REGION.amazonaws.com, no path), or leave it out to use the region's"
		} else if u, err := url.Parse(st.BaseURL); err == nil && !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v1") {
			u.Path = strings.TrimSuffix(u.Path, "/") + "/v1"
			fix = "its base_url probably lacks /v1: try base_url: " + redactURL(u.String())
		}
		s.log.Warn("upstream answered 404 to the warm-up request GET <base_url>/models: "+fix,
			"upstream", st.Name, "base_url", redactURL(st.BaseURL))
	}
}

// stopWarm ends StartWarm's warm-up, if any, and waits for it.
func (s *Server) stopWarm() {
	if s.unwarm != nil {
		s.unwarm()
	}
	s.warms.Wait()
}

// errShuttingDown is the cause every request still in flight when the
// drain timeout ends is canceled with: its client is told so (a 503, or an
// error event ending a stream) instead of meeting a cut connection.
var errShuttingDown = errors.New("the gateway is shutting down")

// wasCut reports whether the Server cut r at the drain timeout.
func wasCut(r *http.Request) bool {
	return errors.Is(context.Cause(r.Context()), errShuttingDown)
}

// clientGone reports whether r's client went away: its context ended, and
// not because the Server cut it.
func clientGone(r *http.Request) bool {
	return r.Context().Err() != nil && !wasCut(r)
}

// failure is what r's client is told when its request failed with err:
// statusFor(err), or 503 shutting_down when the Server cut it; err itself
// when it is the gateway's own.
func failure(r *http.Request, err error) *apiError {
	if e, ok := err.(*apiError); ok {
		return e
	}
	if wasCut(r) {
		return &apiError{status: http.StatusServiceUnavailable, typ: openai.TypeServer, code: "shutting_down",
			message: "the gateway is shutting down and cut this request at its drain timeout (server.drain_timeout); send it again: another instance will take it"}
	}
	return statusFor(err)
}

// cutGrace bounds the wait, after the cut, for the handlers to tell their
// clients: writing one error event takes microseconds, unless the client
// does not read.
const cutGrace = time.Second

// BeginShutdown marks the instance as going away: /readyz answers 503 from
// now on, while requests are still accepted and served, so that load
// balancers stop sending before Shutdown stops accepting (serve waits
// server.shutdown_delay in between). Shutdown calls it too.
func (s *Server) BeginShutdown() {
	s.life.draining.Store(true)
}

// Shutdown stops accepting, lets requests and streams in flight finish
// within the drain timeout, then closes the pool. When the drain timeout
// ends, or ctx does first (a second signal), the requests still in flight
// are cut: each client gets a 503 shutting_down error, a stream an error
// event, before its connection is closed. The last log line says how many
// were cut; so does the error, which is then non-nil.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		s.BeginShutdown()
		s.stopWarm()
		dctx, cancel := context.WithTimeout(ctx, s.cfg.Server.DrainTimeout)
		defer cancel()
		err = s.srv.Shutdown(dctx)
		cut := int64(0)
		if err != nil {
			cut = s.cutInFlight(ctx)
			_ = s.srv.Close()
			err = fmt.Errorf("%d request(s) in flight cut: %w", cut, err)
		}
		_ = s.Pool.Close()
		_ = s.state.close()
		closeLedger(s.ledger, s.log) // after the drain: every request is in it
		flush := tracerFlushTimeout
		if ctx.Err() != nil {
			flush = hurriedFlushTimeout // asked to stop now
		}
		s.stopTracing(ctx, flush)
		if serr := <-s.done; serr != nil && err == nil {
			err = serr
		}
		switch {
		case cut == 0:
			s.log.Info("stopped: every request in flight finished", "requests_cut", 0)
		case ctx.Err() != nil:
			s.log.Warn("stopped before the drain timeout: requests in flight were cut", "requests_cut", cut,
				"why", context.Cause(ctx).Error())
		default:
			s.log.Warn("stopped: requests still in flight at the drain timeout were cut", "requests_cut", cut,
				"drain_timeout", s.cfg.Server.DrainTimeout)
		}
	})
	return err
}

// cutInFlight cancels every request in flight with errShuttingDown and
// gives their handlers up to cutGrace to tell their clients, unless ctx
// has ended (then there is no time for that). It returns how many requests
// it cut.
func (s *Server) cutInFlight(ctx context.Context) int64 {
	n := s.inFlight.Load()
	s.cut(errShuttingDown)
	if ctx.Err() != nil {
		return n
	}
	t := time.NewTimer(cutGrace)
	defer t.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.inFlight.Load() > 0 {
		select {
		case <-t.C:
			return n
		case <-tick.C:
		}
	}
	return n
}

// Close stops at once, cutting requests in flight.
func (s *Server) Close() error {
	s.BeginShutdown()
	s.stopWarm()
	s.cut(errShuttingDown)
	err := s.srv.Close()
	_ = s.Pool.Close()
	_ = s.state.close()
	closeLedger(s.ledger, s.log)
	s.stopTracing(context.Background(), time.Second)
	return err
}

// closeLedger writes what the ledger still holds and closes it.
func closeLedger(l *usage.Ledger, log *slog.Logger) {
	if l == nil {
		return
	}
	if err := l.Close(); err != nil {
		log.Error("usage ledger: records lost at shutdown", "error", err.Error())
	}
}

// tracerFlushTimeout bounds the export of the last spans at shutdown: they
// are worth a moment, but a collector that is down must not hold up the
// exit.
const tracerFlushTimeout = 5 * time.Second

// hurriedFlushTimeout replaces tracerFlushTimeout when Shutdown's context
// ended (a second signal): a reachable collector takes the last spans in
// that time, and the exit is not held up.
const hurriedFlushTimeout = 200 * time.Millisecond

// startTracing starts the tracer when the config (or the environment, see
// config.Tracing.Endpoint) names an OTLP endpoint, or exp is given. It
// returns nil when tracing is off: then nothing of it is installed.
func startTracing(cfg *config.Config, exp sdktrace.SpanExporter, log *slog.Logger) (*tracing.Tracer, error) {
	endpoint, err := cfg.Tracing.Endpoint(os.Getenv)
	if err != nil {
		return nil, err
	}
	if endpoint == "" && exp == nil {
		return nil, nil
	}
	// The SDK's own errors (a collector that cannot be reached) into our
	// log, not plain text on stderr.
	tracing.LogErrorsTo(log)
	tr, err := tracing.New(context.Background(), tracing.Config{
		Endpoint:    endpoint,
		SampleRatio: cfg.Tracing.Ratio(),
		PerSecond:   cfg.Tracing.PerSecond(),
		ServiceName: cfg.Tracing.Service(),
		Exporter:    exp,
	})
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	log.Info("tracing on", "otlp_endpoint", redactURL(endpoint), "sample_ratio", cfg.Tracing.Ratio(),
		"sample_per_second", cfg.Tracing.PerSecond(), "service_name", cfg.Tracing.Service())
	return tr, nil
}

// stopTracing flushes and stops the tracer, if any, within d of ctx's
// values (not its deadline: the drain may have used it up).
func (s *Server) stopTracing(ctx context.Context, d time.Duration) {
	if s.tracer == nil {
		return
	}
	s.stopped.Do(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
		defer cancel()
		if err := s.tracer.Shutdown(ctx); err != nil {
			s.log.Warn("tracing: the last spans were not exported", "error", err)
		}
	})
}

// traceRoute names the request span of an API request. Only /v1/ is
// traced: probes, scrapes and the dashboard's polling would drown the API's
// traces.
func traceRoute(p string) (string, bool) {
	if !strings.HasPrefix(p, "/v1/") {
		return "", false
	}
	return routeLabel(p), true
}

// current is the pool and config requests are served with.
func (s *Server) current() (*upstream.Pool, *config.Config) {
	h := s.cur.Load()
	return h.pool, h.cfg
}

// install makes a gateway for cfg over pool and serves requests with it.
func (s *Server) install(cfg *config.Config, pool *upstream.Pool) {
	h := New(cfg, pool, s.log)
	h.metrics, h.dash, h.state, h.ledger = s.metrics, s.dash, s.state, s.ledger
	h.untraced = s.tracer == nil
	s.metrics.Configure(cfg) // the model and key label values follow the config
	s.dash.SetKeyLimits(h.keyLimits)
	h.life = &s.life
	s.state.setOnErr(func(name, op string, err error) { _ = h.stateFailure(name, op, err) })
	h.reload = s.ReloadFile
	if s.listen != "" { // the address in use, not the file's (--listen, or a reload that changed it)
		h.hosts = newEdgeHosts(s.listen, cfg.AllowedHosts)
	}
	s.cfg, s.Pool, s.Handler = cfg, pool, h
	s.cur.Store(h)
}

// Reload switches to cfg for new requests: upstreams whose settings did not
// change keep their warm pools, new ones start, removed ones close once
// their requests in flight end. Client keys, aliases, fallbacks and limits
// follow cfg; limit and spend counters keep their levels unless the state's
// backend (redis.url) changed. The listen address and the
// server settings need a restart. On error the running configuration stays.
func (s *Server) Reload(cfg *config.Config) error {
	s.reload.Lock()
	defer s.reload.Unlock()
	old := s.cur.Load()
	ucs, err := UpstreamConfigs(cfg, s.log)
	if err != nil {
		return err
	}
	// The state first: it is the last step that can fail.
	newSt := s.state
	if !s.state.sameBackend(cfg) {
		if newSt, err = newState(cfg); err != nil {
			return err
		}
	}
	// Unchanged: the same settings, and the same CAs trusted (the file at
	// tls.ca_file may have new content: a rotated private CA).
	oldRoots, newRoots := s.roots, rootsOf(ucs)
	unchanged := func(name string) bool {
		a, b := findUpstream(old.cfg, name), findUpstream(cfg, name)
		return a != nil && b != nil && reflect.DeepEqual(*a, *b) && sameRoots(oldRoots[name], newRoots[name])
	}
	pool, err := old.pool.Rebuild(ucs, unchanged)
	if err != nil {
		if newSt != s.state {
			_ = newSt.close()
		}
		return err
	}
	oldState := s.state
	if newSt == oldState {
		oldState = nil
	}
	newSt.setKeys(cfg.Keys)
	s.state = newSt
	s.roots = newRoots
	s.metrics.ReplacePool(old.pool, pool)
	s.dash.Watch(pool)
	if cfg.Listen != old.cfg.Listen || !reflect.DeepEqual(cfg.Server, old.cfg.Server) {
		s.log.Warn("reload: listen and server settings take effect only after a restart")
	}
	if cfg.DataDir != old.cfg.DataDir || cfg.Usage != old.cfg.Usage {
		s.log.Warn("reload: data_dir and usage settings take effect only after a restart")
	}
	s.install(cfg, pool)
	if oldState != nil {
		s.state.shareCircuits(s.current)
		_ = oldState.close() // requests still using it fail open (or closed), as with Redis down
	}
	kept := 0
	for _, u := range cfg.Upstreams {
		if unchanged(u.Name) {
			kept++
		}
	}
	s.log.Info("configuration reloaded", "upstreams", len(cfg.Upstreams), "kept_warm", kept, "keys", len(cfg.Keys))
	return nil
}

// ReloadFile reloads the config file the server was started with (see
// WithConfigFile). A bad file is refused, with the reason, and the running
// configuration stays.
func (s *Server) ReloadFile() error {
	if s.file == "" {
		return errors.New("no config file to reload: the gateway runs on the no-config default (start it with --config)")
	}
	cfg, err := config.Load(s.file)
	if err != nil {
		return fmt.Errorf("reload refused, the running configuration stays: %w", err)
	}
	return s.Reload(cfg)
}

// WithConfigFile names the file ReloadFile reads.
func WithConfigFile(path string) Option { return func(o *options) { o.file = path } }

// rootsOf returns the CA pools of ucs that have one, by upstream name.
func rootsOf(ucs []upstream.Config) map[string]*x509.CertPool {
	m := map[string]*x509.CertPool{}
	for _, uc := range ucs {
		if uc.TLS != nil && uc.TLS.RootCAs != nil {
			m[uc.Name] = uc.TLS.RootCAs
		}
	}
	return m
}

// sameRoots reports whether a and b trust the same CAs (both nil: the
// system's).
func sameRoots(a, b *x509.CertPool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}

func findUpstream(cfg *config.Config, name string) *config.Upstream {
	for i := range cfg.Upstreams {
		if cfg.Upstreams[i].Name == name {
			return &cfg.Upstreams[i]
		}
	}
	return nil
}
