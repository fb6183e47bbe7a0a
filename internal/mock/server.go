// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// defaultTokens is the completion length when Options.Tokens is 0: long
// enough for a stream to have a middle, short enough to keep tests fast.
const defaultTokens = 16

// Options configure a Server. The zero value is a plain-HTTP server that
// answers at once with 16 tokens.
type Options struct {
	// Latency is the wait before a non-streaming answer.
	Latency time.Duration
	// TTFT (time to first token) is the wait before a stream's headers and
	// first chunks.
	TTFT time.Duration
	// Tokens is the number of completion tokens per answer; 0 means 16.
	Tokens int
	// TokenInterval is the gap between a stream's token chunks.
	TokenInterval time.Duration
	// IdleTimeout closes connections idle this long (http.Server.IdleTimeout,
	// for HTTP/1 and HTTP/2). 0 means the Go default: no idle timeout.
	IdleTimeout time.Duration
	// AdvertiseKeepAlive adds "Keep-Alive: timeout=N" to HTTP/1 answers, N
	// being IdleTimeout in whole seconds (rounded down, so never a promise
	// the server breaks). It needs IdleTimeout.
	AdvertiseKeepAlive bool
	// HandshakeDelay is what every new connection costs before its first byte
	// is read, as a real network's TCP and TLS round trips would.
	HandshakeDelay time.Duration
	// TLS serves HTTPS with a certificate for localhost, 127.0.0.1 and ::1,
	// signed by a CA made in memory at startup (see CAPEM and CertPool).
	TLS bool
	// NoH2, with TLS, does not offer h2 by ALPN: HTTP/1.1 only.
	NoH2 bool
	// H2C, without TLS, also serves HTTP/2 with prior knowledge (h2c).
	H2C bool
	// Fault is the server-wide fault spec (see the package doc); "" is none.
	Fault string
	// APIKey, when set, is the key every API request must carry: OpenAI's
	// dialect as "Authorization: Bearer KEY", Anthropic's as "x-api-key:
	// KEY" (or Bearer) with an anthropic-version header. A request without
	// it gets the provider's 401 (Anthropic: 400 without anthropic-version).
	// "" checks nothing.
	APIKey string
	// AWSAccessKeyID and AWSSecretAccessKey, when the key id is set, are
	// the AWS credentials every request of Bedrock's dialect must be
	// signed with (Signature Version 4, service bedrock, any region); a
	// request that is not gets Bedrock's 403. "" checks nothing.
	AWSAccessKeyID     string
	AWSSecretAccessKey string
	// AzureDeployments, when set, are the deployments the Azure paths
	// know (/openai/deployments/NAME/...); another is Azure's 404
	// DeploymentNotFound. Empty: any name is a deployment.
	AzureDeployments []string
	// Logger receives debug logs of connections and requests (never their
	// credentials); nil discards them.
	Logger *slog.Logger
}

// Stats are counted on the server side. Each field is exact; the fields are
// read one by one, not as one atomic snapshot.
type Stats struct {
	// ConnectionsAccepted counts every accepted TCP connection.
	ConnectionsAccepted int64 `json:"connections_accepted"`
	// TLSHandshakes counts completed TLS handshakes (HTTP/1 and HTTP/2).
	TLSHandshakes int64 `json:"tls_handshakes"`
	// Requests counts requests, except those to /mock/ paths.
	Requests int64 `json:"requests"`
	// ActiveConnections counts the connections open now.
	ActiveConnections int64 `json:"active_connections"`
}

// Server is the mock upstream. Make one with New (then Serve) or Start.
type Server struct {
	opts      Options
	fault     Fault
	log       *slog.Logger
	srv       *http.Server
	auth      *authority  // nil without TLS
	tlsConfig *tls.Config // nil without TLS
	start     time.Time   // origin of clock()

	addr atomic.Pointer[string]

	accepted   atomic.Int64
	handshakes atomic.Int64
	requests   atomic.Int64
	active     atomic.Int64
	seq        atomic.Int64 // answer and request ids
	inflight   atomic.Int64 // API requests being handled; lets tests see handlers end

	faultCounts sync.Map // canonical fault spec -> *atomic.Int64 (times=N)

	mu      sync.Mutex
	clients []*http.Transport // made by Client; idle conns closed on Close
}

// New validates opts and prepares a Server; nothing listens until Serve.
func New(opts Options) (*Server, error) {
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	fault, err := ParseFault(opts.Fault)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, fault: fault, log: log, start: time.Now()}
	if opts.TLS {
		s.auth, err = newAuthority(s.start)
		if err != nil {
			return nil, err
		}
		s.tlsConfig = s.auth.serverTLSConfig(opts.NoH2)
	}

	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(opts.TLS && !opts.NoH2)
	protos.SetUnencryptedHTTP2(opts.H2C)
	s.srv = &http.Server{
		Handler:     http.HandlerFunc(s.serveHTTP),
		IdleTimeout: opts.IdleTimeout,
		// Bounds a client that never finishes its headers; also the TLS
		// handshake timeout. Long enough for any HandshakeDelay a test uses.
		ReadHeaderTimeout: time.Minute,
		Protocols:         &protos,
		ConnContext:       s.connContext,
		// net/http's own complaints (TLS handshake errors, aborted
		// handlers) are expected in fault tests: debug level.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		// TLSConfig stays nil: the listener wraps connections itself, and
		// net/http then still installs HTTP/2 for the "h2" *tls.Conns.
	}
	return s, nil
}

func checkOptions(o *Options) error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"Latency", o.Latency}, {"TTFT", o.TTFT}, {"TokenInterval", o.TokenInterval},
		{"IdleTimeout", o.IdleTimeout}, {"HandshakeDelay", o.HandshakeDelay},
	} {
		if d.v < 0 {
			return fmt.Errorf("mock: %s must not be negative, got %v", d.name, d.v)
		}
	}
	switch {
	case o.Tokens < 0:
		return fmt.Errorf("mock: Tokens must not be negative, got %d", o.Tokens)
	case o.Tokens == 0:
		o.Tokens = defaultTokens
	}
	if o.AdvertiseKeepAlive && o.IdleTimeout == 0 {
		return errors.New("mock: AdvertiseKeepAlive needs an IdleTimeout to advertise")
	}
	if o.H2C && o.TLS {
		return errors.New("mock: H2C is for plain-text servers; with TLS, HTTP/2 is offered by ALPN")
	}
	return nil
}

// Start makes a Server with New, listens on addr ("127.0.0.1:0" picks a free
// port) and serves in the background. Stop it with Close or Shutdown.
func Start(opts Options, addr string) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	s.setAddr(ln.Addr()) // URL works as soon as Start returns
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("mock: serve", "err", err)
		}
	}()
	return s, nil
}

// Serve accepts connections on ln until Close or Shutdown, then returns
// http.ErrServerClosed. It closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	s.setAddr(ln.Addr())
	return s.srv.Serve(&listener{Listener: ln, s: s})
}

func (s *Server) setAddr(a net.Addr) {
	str := a.String()
	s.addr.Store(&str)
}

// Addr is the listening address ("127.0.0.1:PORT"), "" before Serve.
func (s *Server) Addr() string {
	if p := s.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// URL is "http://HOST:PORT" or "https://HOST:PORT", without /v1; "" before
// Serve. An unspecified listening address (0.0.0.0, ::) shows as 127.0.0.1.
func (s *Server) URL() string {
	addr := s.Addr()
	if addr == "" {
		return ""
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	if s.auth != nil {
		return "https://" + addr
	}
	return "http://" + addr
}

// CAPEM is the PEM of the CA that signed the server certificate; nil
// without TLS.
func (s *Server) CAPEM() []byte {
	if s.auth == nil {
		return nil
	}
	return bytes.Clone(s.auth.caPEM)
}

// CertPool is a pool trusting the server's CA; nil without TLS.
func (s *Server) CertPool() *x509.CertPool {
	if s.auth == nil {
		return nil
	}
	return s.auth.pool.Clone()
}

// Client returns a new client for this server: it trusts the CA and speaks
// what the server offers (HTTP/2 by ALPN with TLS, h2c with H2C). Close and
// Shutdown close its idle connections.
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the mock is local; never go through an environment proxy
	switch {
	case s.auth != nil:
		tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool()}
		tr.ForceAttemptHTTP2 = !s.opts.NoH2
	case s.opts.H2C:
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr.Protocols = &p
	}
	s.mu.Lock()
	s.clients = append(s.clients, tr)
	s.mu.Unlock()
	return &http.Client{Transport: tr}
}

// Stats returns the server-side counters.
func (s *Server) Stats() Stats {
	return Stats{
		ConnectionsAccepted: s.accepted.Load(),
		TLSHandshakes:       s.handshakes.Load(),
		Requests:            s.requests.Load(),
		ActiveConnections:   s.active.Load(),
	}
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	defer s.closeClients()
	return s.srv.Close()
}

// Shutdown stops accepting, then waits for in-flight requests to finish
// (or ctx to end) and closes the connections.
func (s *Server) Shutdown(ctx context.Context) error {
	defer s.closeClients()
	return s.srv.Shutdown(ctx)
}

func (s *Server) closeClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tr := range s.clients {
		tr.CloseIdleConnections()
	}
}

// clock is the time since the server was made, on the monotonic clock.
func (s *Server) clock() time.Duration { return time.Since(s.start) }
