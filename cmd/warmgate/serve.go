// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/logbuf"
	"github.com/warmgate/warmgate/internal/logfmt"
)

func newServeCmd() *cobra.Command {
	var (
		cfgFile, listen, logFormat, logLevel string
		allowOpen, printConfig               bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the OpenAI-compatible gateway",
		Long: `Run the gateway. Apps point their OpenAI SDK's base_url at http://<listen>/v1.

Without --config it serves one upstream from OPENAI_BASE_URL (default
https://api.openai.com/v1) with the key in OPENAI_API_KEY, on 127.0.0.1:8080.
With --config it reads the YAML file described in docs/config.md.

It refuses to listen beyond loopback unless client keys are configured
(keys: in the config file) or --allow-open is given. Without client keys it
answers only requests addressed to localhost, 127.0.0.1, [::1] or the listen
address (allowed_hosts: in the config adds names), and refuses requests from
web pages of other sites.

SIGHUP (or POST /admin/reload) rereads the config file: upstreams whose
settings did not change keep their warm connections; a bad file is refused
and the running configuration stays.

SIGTERM stops it as load balancers expect: /readyz answers 503 at once while
requests are still accepted for server.shutdown_delay (default 5s), then it
stops accepting and requests in flight get server.drain_timeout (default
30s) to finish; those still running then get an error (a stream, an error
event) and are cut. SIGINT (Ctrl-C) skips the delay. A second SIGINT or
SIGTERM cuts everything and exits at once. The last log line says how many
requests were cut.

--print-config shows the configuration it would run, defaults filled in
and secrets redacted, then exits: check a file before deploying it.

Every flag has an environment twin: WARMGATE_CONFIG, WARMGATE_LISTEN, ...`,
		Example: `  OPENAI_API_KEY=sk-... warmgate serve
  warmgate serve --config warmgate.yaml --listen 0.0.0.0:8080
  warmgate serve --config warmgate.yaml --print-config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, "WARMGATE_"); err != nil {
				return err
			}
			// Access log lines are batched and written every 100ms, off the
			// request path; warnings and errors go out at once.
			lw := logbuf.New(cmd.ErrOrStderr(), logbuf.DefaultInterval)
			defer lw.Close()
			log, err := newLogger(lw, logFormat, logLevel)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cfgFile)
			if err != nil {
				return err
			}
			if listen != "" {
				cfg.Listen = listen
			}
			if allowOpen {
				cfg.Server.AllowOpen = true
			}
			if err := cfg.Validate(); err != nil { // the flags' values, and how they combine with the file
				return fmt.Errorf("invalid settings:\n%w", err)
			}
			if printConfig {
				return gateway.PrintConfig(cmd.OutOrStdout(), cfg)
			}
			if err := checkOpen(cfg); err != nil {
				return err
			}
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sigs)
			return runServer(cmd.Context(), cfg, cfgFile, log, cmd.OutOrStdout(), sigs)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgFile, "config", "c", "", "YAML config file (default: one upstream from OPENAI_BASE_URL and OPENAI_API_KEY)")
	f.StringVar(&listen, "listen", "", "address to listen on (default from config, else 127.0.0.1:8080)")
	f.BoolVar(&allowOpen, "allow-open", false, "allow listening beyond loopback without client keys")
	f.BoolVar(&printConfig, "print-config", false, "print the effective configuration (defaults applied, secrets redacted) as YAML and exit")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

func loadConfig(file string) (*config.Config, error) {
	if file == "" {
		return config.FromEnv(os.Getenv)
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil, fmt.Errorf("invalid config:\n%w", err)
	}
	return cfg, nil
}

// checkOpen refuses an unauthenticated gateway reachable from the network.
func checkOpen(cfg *config.Config) error {
	if cfg.HasKeys() || cfg.Server.AllowOpen {
		return nil
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return fmt.Errorf("invalid listen address %q: %w (use host:port, e.g. 127.0.0.1:8080)", cfg.Listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without client keys: anyone who can reach it could spend your upstream credit; "+
		"add keys: to the config, listen on 127.0.0.1, or pass --allow-open", cfg.Listen)
}

// warmUpLimit bounds the warm-up at start: /readyz answers 503 until every
// upstream answered or failed, or this long, whichever comes first.
const warmUpLimit = 15 * time.Second

// runServer serves until SIGINT or SIGTERM arrives on sigs (or ctx ends,
// which counts as SIGINT), then shuts down as the serve command's help
// says. SIGHUP reloads the config file.
func runServer(ctx context.Context, cfg *config.Config, file string, log *slog.Logger, out io.Writer, sigs <-chan os.Signal) error {
	s, err := gateway.NewServer(cfg, log, gateway.WithConfigFile(file))
	if err != nil {
		return err
	}
	if err := s.Listen(cfg.Listen); err != nil {
		_ = s.Close()
		return err
	}
	s.Start()
	fmt.Fprintf(out, "warmgate listening on %s (base_url for clients: %s)\n", s.Addr(), s.URL())
	for _, u := range gateway.Effective(cfg).Upstreams { // base_url passwords redacted
		log.Info("upstream", "name", u.Name, "base_url", u.BaseURL, "models", u.Models)
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen); !cfg.HasKeys() && len(cfg.AllowedHosts) == 0 && (host == "" || net.ParseIP(host).IsUnspecified()) {
		log.Warn("no client keys: the gateway answers only requests addressed to loopback (Host localhost, 127.0.0.1 or [::1]); "+
			"list the names clients use to reach it in allowed_hosts", "listen", cfg.Listen)
	}
	s.StartWarm(warmUpLimit)

	// next waits for the next SIGINT or SIGTERM, reloading on SIGHUP; nil
	// when ctx ended or, if until is not nil, when it fired.
	next := func(until <-chan time.Time) os.Signal {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-until:
				return nil
			case sig := <-sigs:
				if sig != syscall.SIGHUP {
					return sig
				}
				if until != nil {
					log.Warn("SIGHUP ignored: the gateway is shutting down")
				} else if err := s.ReloadFile(); err != nil {
					log.Error("SIGHUP: reload refused", "error", err.Error())
				}
			}
		}
	}
	sig := next(nil)
	hurry := false // a second signal came during the delay
	if delay := cfg.Server.PreStop(); sig == syscall.SIGTERM && delay > 0 {
		s.BeginShutdown()
		log.Info("SIGTERM: /readyz answers 503; still serving until load balancers stop sending", "shutdown_delay", delay)
		t := time.NewTimer(delay)
		hurry = next(t.C) != nil
		t.Stop()
	}
	log.Info("shutting down: no new connections; draining requests in flight", "drain_timeout", cfg.Server.DrainTimeout)
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	second := errors.New("a second SIGINT or SIGTERM")
	if hurry {
		cancel(second)
	}
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(sctx) }()
	for {
		select {
		case err := <-done:
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return nil // requests were cut; the server's last log line says how many
			}
			return err
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				log.Warn("SIGHUP ignored: the gateway is shutting down")
				continue
			}
			log.Warn("second signal: cutting the requests in flight and exiting now", "signal", sig.String())
			cancel(second)
		}
	}
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", level)
	}
	f, err := logfmt.ParseFormat(format)
	if err != nil {
		return nil, fmt.Errorf("invalid --log-format %q: use text or json", format)
	}
	// slog's text or JSON output, written in half the time: one
	// access line per request is a share of the gateway's CPU.
	h := logfmt.NewHandler(w, f, &slog.HandlerOptions{Level: lv})
	if lw, ok := w.(*logbuf.Writer); ok {
		h = logbuf.Handler(h, lw, slog.LevelWarn)
	}
	return slog.New(h), nil
}
