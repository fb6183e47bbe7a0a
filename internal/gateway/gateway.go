// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package gateway is warmgate's OpenAI-compatible relay: an http.Handler
// that authenticates, routes a request by its model to the upstreams that
// serve it, sends it through the warm upstream pool and relays the answer,
// streaming server-sent events one by one.
package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/dashboard"
	"github.com/warmgate/warmgate/internal/metrics"
	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/internal/usage"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/upstream"
)

// Gateway is the relay handler. Create it with New.
type Gateway struct {
	cfg     *config.Config
	pool    *upstream.Pool
	log     *slog.Logger
	keys    map[string]*config.Key // by hex SHA-256 of the key
	state   *state                 // the keys' rpm, tpm and spend (state.go, limit.go)
	maxBody int64
	// passAuth forwards the client's Authorization to upstreams that have
	// no key of their own, when the gateway has no client keys: the client
	// then brings its own provider key.
	passAuth map[string]bool
	// withModel: some upstream's URL depends on the routed model (kind
	// azure's deployments), so outbound puts the model in the request's
	// context (provider.WithModel); without one, that allocation is saved.
	withModel bool
	// hosts are the names an open gateway answers to (edge.go).
	hosts edgeHosts
	// forward lists, per upstream, the client headers of
	// config.ForwardableHeaders that it gets (relay.go).
	forward map[string]map[string]bool

	views  sync.Map     // model -> *viewEntry (the upstreams serving it); dialect+"\x00"+model -> those of one dialect
	nviews atomic.Int64 // entries in views, bounded by maxViews

	// dialects is each upstream's dialect, by name (translation.go);
	// mixed says they are not all one dialect, only.
	dialects map[string]provider.Dialect
	mixed    bool
	only     provider.Dialect
	// order is the dialects of the upstreams, each once, in the config
	// order of their first upstream: the order of translated groups.
	order []provider.Dialect
	// anyModel is the view of a request that names no model (passthrough):
	// every upstream but those of kind bedrock, which take only the
	// gateway's signed Converse requests; nil when none is left.
	anyModel *upstream.Pool

	modelTab modelTable // GET /v1/models (models.go)

	// untraced: no tracer wraps the handler (NewServer's, with tracing
	// off), so no request span is looked for (tracing.Annotate, Inject).
	untraced bool
	// metrics records requests when set (NewServer sets it).
	metrics *metrics.Metrics
	// dash serves /dashboard and /api/pools when set (NewServer sets it).
	dash *dashboard.Dashboard
	// ledger records every API request's usage, and serves /api/usage,
	// when set (NewServer sets it unless usage.disable).
	ledger *usage.Ledger
	// reload rereads the config file, for POST /admin/reload (NewServer
	// sets it).
	reload func() error
	// life is the Server's warm-up and shutdown, for /readyz (NewServer
	// sets it).
	life *lifecycle
}

// New builds the handler. pool must hold one upstream per cfg.Upstreams
// entry, with the same names.
func New(cfg *config.Config, pool *upstream.Pool, log *slog.Logger) *Gateway {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, pool: pool, log: log, keys: map[string]*config.Key{},
		maxBody: cfg.Server.MaxBodyBytes, passAuth: map[string]bool{}}
	for i := range cfg.Keys {
		k := &cfg.Keys[i]
		g.keys[strings.ToLower(k.KeySHA256)] = k
	}
	g.hosts = newEdgeHosts(cfg.Listen, cfg.AllowedHosts)
	for _, u := range cfg.Upstreams {
		// Only an upstream with no credentials of its own takes the client's.
		g.passAuth[u.Name] = u.APIKey == "" && u.EntraToken == "" && u.EntraTokenFile == "" && len(cfg.Keys) == 0 &&
			u.Kind != "bedrock" // signed with AWS credentials: a client key means nothing to it
		g.withModel = g.withModel || u.Kind == string(provider.Azure)
	}
	g.forward = forwardHeaders(cfg, g.passAuth)
	g.initDialects()

	g.modelTab = modelTable{ttl: modelsTTL, lists: make([][]modelEntry, len(cfg.Upstreams))}
	g.state, _ = newState(&config.Config{Keys: cfg.Keys}) // in memory: NewServer gives its own
	if g.maxBody <= 0 {
		g.maxBody = 32 << 20
	}
	return g
}

// ServeHTTP dispatches by path. Every answer carries X-Request-Id.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	dropUnreadBody(w, r) // until the relay reads it (body.go)
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// net/http reads a chunked body by its chunks and silently drops a
		// Content-Length sent with it, but keeps the connection open. RFC
		// 9112 section 6.1 requires closing it: a front proxy that went by
		// the Content-Length disagrees on where the next request starts
		// (request smuggling). Whether a Content-Length came cannot be seen
		// here any more, so every chunked request ends its connection; the
		// SDKs send Content-Length, and a chunked client only pays a new
		// connection.
		w.Header().Set("Connection", "close")
	}
	id := r.Header.Get("X-Request-Id")
	if !validRequestID(id) {
		id = newRequestID()
	}
	c := &call{}
	c.id[0] = id
	h := w.Header()
	h["X-Request-Id"] = c.id[:]
	p := r.URL.Path
	ep := forClient(endpointFor(p, r.Method), r) // nil outside the API
	fr, route := openaiFront, ""
	if ep != nil {
		fr, route = ep.front, ep.label(p)
		if fr.idHeader != "" {
			h[fr.idHeader] = c.id[:]
		}
	} else {
		route = routeLabel(p)
	}
	c.rec.start, c.rec.id, c.rec.idv, c.rec.route = time.Now(), id, c.id[:], route // not a literal: see c.x below
	c.sw.ResponseWriter = w
	rec, sw := &c.rec, &c.sw
	defer func() { g.logAccess(r, sw, rec) }()

	if !cleanPath(p) {
		// The path goes upstream appended to the base URL: dot segments or
		// empty ones would let the client leave the base path once the
		// upstream (or a proxy in front of it) resolves them.
		fr.writeError(sw, errBadRequest("invalid_path", "the request path "+quote(p)+
			" is not clean: it must not contain \".\" or \"..\" segments, empty segments (\"//\") or backslashes"))
		return
	}
	if aerr := g.edge(r, p, ep); aerr != nil {
		fr.writeError(sw, aerr)
		return
	}
	switch {
	case ep != nil && ep.method != "" && r.Method != ep.method:
		methodNotAllowed(sw, ep.method, fr)
	case ep != nil && ep.serve != nil:
		ep.serve(g, sw, r, rec)
	case ep != nil:
		// Field by field, not a composite literal: that would be built in
		// ServeHTTP's frame and copied, and the frame stays on the stack for
		// a held stream's life (it took the handler's stack past 8 KiB).
		c.x.ep, c.x.w, c.x.r, c.x.ur, c.x.rec = ep, sw, r, r, rec
		g.relay(&c.x)
	case !g.serveOps(sw, r, p):
		writeError(sw, &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "unknown_route",
			message: "unknown route " + r.Method + " " + p + ": the API is served under /v1/ (e.g. POST /v1/chat/completions)"})
	}
}

// call is what one request needs for its whole life, in one allocation:
// the access log record and the response writer of every request, and an
// API request's exchange.
type call struct {
	rec accessLog
	sw  respWriter
	x   exchange
	// id is the request id as a header value, which the answer's header
	// and the upstream request's share (never changed in place).
	id [1]string
}

// serveOps serves the operational routes (health, metrics, usage,
// reload, profiler, dashboard) and reports whether p is one. It is kept
// out of ServeHTTP so that ServeHTTP's stack frame, which stays on the
// stack for the whole life of a stream, holds only what the API routes
// need (a handler's stack that fits in 8 KiB is half the memory per held
// stream of one that does not).
//
//go:noinline
func (g *Gateway) serveOps(sw *respWriter, r *http.Request, p string) bool {
	switch {
	case p == "/healthz":
		g.healthz(sw, r)
	case p == "/readyz":
		g.readyz(sw, r)
	case p == "/metrics" || p == "/api/pools":
		if r.Method != http.MethodGet {
			methodNotAllowed(sw, http.MethodGet, openaiFront)
			return true
		}
		if !g.admin(sw, r) {
			return true
		}
		if p == "/api/pools" && g.dash != nil {
			g.dash.ServeHTTP(sw, r)
		} else if p == "/api/pools" {
			g.pools(sw)
		} else if g.metrics != nil {
			g.metrics.Handler().ServeHTTP(sw, r)
		} else {
			writeError(sw, &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "metrics_off", message: "metrics are not enabled"})
		}
	case p == "/api/usage":
		if !g.admin(sw, r) {
			return true
		}
		if g.ledger == nil {
			writeError(sw, &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "usage_off",
				message: "the usage ledger is off (usage.disable in the config)"})
			return true
		}
		g.ledger.Handler().ServeHTTP(sw, r)
	case p == "/admin/reload":
		if r.Method != http.MethodPost {
			methodNotAllowed(sw, http.MethodPost, openaiFront)
			return true
		}
		if !g.admin(sw, r) {
			return true
		}
		g.adminReload(sw)
	case strings.HasPrefix(p, "/debug/pprof/"):
		if !g.cfg.PprofOn() {
			writeError(sw, &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "pprof_off",
				message: "the profiler is off: set admin.pprof: true in the config"})
			return true
		}
		if !g.admin(sw, r) {
			return true
		}
		servePprof(sw, r)
	case p == "/dashboard" || strings.HasPrefix(p, "/dashboard/"):
		// The page and its assets are static and hold no data, so they are
		// served without the admin key: a browser cannot send it on a
		// navigation. The page asks for the key and sends it to /api/pools,
		// which is guarded above.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(sw, "GET, HEAD", openaiFront)
			return true
		}
		if g.dash == nil {
			writeError(sw, &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "dashboard_off", message: "the dashboard is not enabled"})
			return true
		}
		g.dash.ServeHTTP(sw, r)
	default:
		return false
	}
	return true
}

// cleanPath reports whether p, the decoded request path, is canonical: no
// "." or ".." segments, no empty segments and no backslash (which some
// servers take for a slash). A trailing slash is allowed. The empty path
// (a CONNECT's) is left to the routes, which refuse it.
func cleanPath(p string) bool {
	q := strings.TrimSuffix(p, "/")
	return q == "" || path.Clean(q) == q && !strings.Contains(p, "\\")
}

// methodNotAllowed is the 405 of a route that takes only allow, in the
// dialect of fr.
func methodNotAllowed(w http.ResponseWriter, allow string, fr *front) {
	w.Header().Set("Allow", allow)
	fr.writeError(w, &apiError{status: http.StatusMethodNotAllowed, typ: openai.TypeInvalidRequest, code: "method_not_allowed",
		message: "method not allowed: use " + allow})
}

// admin lets a request reach the operational endpoints (/metrics, /api/*,
// /admin/*, /debug/pprof/): with the admin key whenever one is configured;
// without one, only on an open gateway (no client keys), whose edge checks
// keep out other hosts and sites. It writes the refusal itself.
func (g *Gateway) admin(w http.ResponseWriter, r *http.Request) bool {
	var key string
	if g.cfg.Admin != nil {
		key = g.cfg.Admin.Key
	}
	if key == "" {
		if len(g.keys) == 0 {
			return true
		}
		writeError(w, &apiError{status: http.StatusForbidden, typ: openai.TypePermission, code: "admin_disabled",
			message: "admin endpoints are off: with client keys configured they need an admin key (admin.key_env in the config)"})
		return false
	}
	if subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(key)) != 1 {
		writeError(w, &apiError{status: http.StatusUnauthorized, typ: openai.TypeAuthentication, code: "invalid_admin_key",
			message: "this endpoint needs the admin key: send \"Authorization: Bearer <admin key>\""})
		return false
	}
	return true
}

// adminReload answers POST /admin/reload: the config file is read again;
// a bad one is refused with its reason (422) and the running one stays.
func (g *Gateway) adminReload(w http.ResponseWriter) {
	if g.reload == nil {
		writeError(w, &apiError{status: http.StatusNotFound, typ: openai.TypeNotFound, code: "reload_off", message: "reload is not available"})
		return
	}
	if err := g.reload(); err != nil {
		g.log.Warn("reload refused", "error", err.Error())
		writeError(w, &apiError{status: http.StatusUnprocessableEntity, typ: openai.TypeInvalidRequest, code: "reload_refused", message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"reloaded":true}` + "\n"))
}

// pools answers GET /api/pools when there is no dashboard (a Gateway made
// by New alone): every upstream's live connection stats.
func (g *Gateway) pools(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"time": time.Now().UTC(), "upstreams": g.pool.Stats()})
}

func (g *Gateway) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// authenticate returns the client key, read as the front fr reads it,
// nil in open mode, or an error.
func (g *Gateway) authenticate(r *http.Request, fr *front) (*config.Key, *apiError) {
	if len(g.keys) == 0 {
		return nil, nil
	}
	tok := fr.clientKey(r)
	if tok == "" {
		return nil, &apiError{status: http.StatusUnauthorized, typ: openai.TypeAuthentication, code: "missing_api_key",
			message: "missing API key: " + fr.keyHint}
	}
	// The lookup is by the SHA-256 of what the client sent, and that makes
	// it safe without a constant-time compare: how long the map takes can
	// at most tell an attacker how the hash of their guess relates to the
	// stored hashes, and a guess whose hash shares a prefix with a key's
	// hash is no closer to that key (finding one that matches is a SHA-256
	// preimage). No secret is ever compared byte by byte.
	sum := sha256.Sum256([]byte(tok))
	k, ok := g.keys[hex.EncodeToString(sum[:])]
	if !ok {
		return nil, &apiError{status: http.StatusUnauthorized, typ: openai.TypeAuthentication, code: "invalid_api_key",
			message: "invalid API key"}
	}
	return k, nil
}

// keyAllows reports whether client key k may use model (always in open
// mode). Key.MatchModel is the config's one model matcher: its * and ?
// also match "/", so a key allowed "*" may use "meta-llama/Llama-3.1-8B".
func keyAllows(k *config.Key, model string) bool {
	return k == nil || k.MatchModel(model)
}

// pathNotAllowed is the 403 for a request that names no model (a
// pass-through endpoint such as /v1/files) from a key whose paths do not
// allow it (config.Key.AllowsPath); the message says which config key
// lets it through.
func pathNotAllowed(k *config.Key, r *http.Request) *apiError {
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	glob := quote("/v1/" + first + "*")
	msg := "this API key may not use " + r.Method + " " + quote(r.URL.Path) + ": "
	if len(k.Paths) == 0 {
		msg += "key " + quote(k.Name) + " is limited to its models (keys[].models), and a request that names no model " +
			"needs the key's paths to allow it: add paths: [" + glob + "] to the key in the config"
	} else {
		msg += "the path is not in the paths of key " + quote(k.Name) + " (keys[].paths): add " + glob + " to them in the config"
	}
	return &apiError{status: http.StatusForbidden, typ: openai.TypePermission, code: "path_not_allowed", message: msg}
}

// view returns the pool view of the upstreams serving model, in config
// order (first match first), or nil when none does.
func (g *Gateway) view(model string) *upstream.Pool { return g.viewOf(model).pool }

// viewEntry is an entry of the views cache: the pool view of the upstreams
// serving a model (those of one dialect, in a dialect's entry) and, in a
// model's entry, the largest timeouts.total among them (0 when none sets
// one), so that a request matches the model against the upstreams' globs
// only once.
type viewEntry struct {
	pool  *upstream.Pool
	total time.Duration
}

// viewOf is the views cache's entry of model; its pool is nil when no
// upstream serves model.
func (g *Gateway) viewOf(model string) viewEntry {
	if v, ok := g.views.Load(model); ok {
		return *v.(*viewEntry)
	}
	var names []string
	var total time.Duration
	for _, u := range g.cfg.Upstreams {
		if u.MatchModel(model) {
			names = append(names, u.Name)
			total = max(total, u.Timeouts.Total)
		}
	}
	if len(names) == 0 {
		return viewEntry{}
	}
	v := &viewEntry{pool: g.pool.Only(names...), total: total}
	// Bound the cache to sane model names, and its size: the name is the
	// client's, and an upstream without model globs takes any.
	if len(model) <= 256 && g.nviews.Load() < maxViews {
		if _, loaded := g.views.LoadOrStore(model, v); !loaded {
			g.nviews.Add(1)
		}
	}
	return *v
}

// maxViews bounds the per-model view cache, far above the few dozen models
// a deployment routes; past it, views are built per request (a few slices).
const maxViews = 1024

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}
