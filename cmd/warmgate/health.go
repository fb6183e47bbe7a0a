// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newHealthCmd() *cobra.Command {
	var (
		listen  string
		ready   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check that a gateway on this machine answers (for container health checks)",
		Long: `Ask a running gateway whether it is alive (GET /healthz) or, with --ready,
ready to serve (GET /readyz). Exit status 0 when it answers 200, 1 otherwise,
with the reason on stderr. Meant for a container's HEALTHCHECK, where there
is no curl: the gateway's own binary checks itself.

The address is the one "warmgate serve" listens on: --listen, or its
environment twin WARMGATE_LISTEN (the same variable serve reads). An
unspecified host (0.0.0.0, [::]) is asked on loopback.`,
		Example: `  warmgate health
  WARMGATE_LISTEN=0.0.0.0:8080 warmgate health --ready`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, "WARMGATE_"); err != nil {
				return err
			}
			u, err := healthURL(listen, ready)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("no answer from %s: %w (is warmgate serve running on that address?)", u, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s answered %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", u, strings.TrimSpace(string(body)))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "the address warmgate serve listens on")
	f.BoolVar(&ready, "ready", false, "ask /readyz (ready to serve) instead of /healthz (alive)")
	f.DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

// healthURL is the URL to ask the gateway listening on listen.
func healthURL(listen string, ready bool) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("invalid listen address %q: %w (use host:port, e.g. 127.0.0.1:8080)", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	p := "/healthz"
	if ready {
		p = "/readyz"
	}
	return "http://" + net.JoinHostPort(host, port) + p, nil
}
