// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/warmgate/warmgate/internal/probe"
	"github.com/warmgate/warmgate/internal/provider"
)

// probeEnvPrefix prefixes the environment twin of every probe flag:
// --idle-max is WARMGATE_PROBE_IDLE_MAX.
const probeEnvPrefix = "WARMGATE_PROBE_"

func newProbeCmd() *cobra.Command {
	var (
		o       probe.Options
		keyEnv  string
		kind    string
		region  string
		caFile  string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "probe URL",
		Short: "Measure an endpoint's keep-alive behaviour and recommend client settings",
		Long: `The keep-alive doctor: probe an HTTP(S) endpoint, e.g. https://api.openai.com/v1
or https://api.anthropic.com, and report what a new connection costs, how long the server keeps an idle
connection, how many requests it serves on one, and the client settings to
use (warmgate, Go, Python httpx, Node.js), ready to paste.

It sends GET URL+PATH (default /models; for --kind anthropic, URL is taken as
Anthropic's SDKs take it, with or without /v1, and the path is under /v1; for
--kind gemini, with or without its version, /v1beta when it names none):
  - --samples requests on new connections and as many on one reused
    connection, each traced (DNS, TCP connect, TLS handshake, first byte),
    reported as p50/p90; TLS version, cipher, ALPN (h2 or http/1.1), TLS
    session resumption and the server's Keep-Alive header;
  - up to --max-requests requests on one connection, to find a per-connection
    cap;
  - idle gaps of 1s, 2s, 4s, ... up to --idle-max, one connection each, then
    narrower gaps until the idle timeout is known within 10%. This takes
    about --idle-max when the server has no shorter timeout.

It connects directly (no proxy), trusts the system roots (and SSL_CERT_FILE)
plus --ca, and sends the key in $VAR with --key-env VAR as the API takes it
(the key is never printed): --kind openai sends "Authorization: Bearer KEY";
--kind anthropic sends "x-api-key: KEY" and "anthropic-version: 2023-06-01"
(Anthropic's /v1/models wants both); --kind azure sends "api-key: KEY" to
/openai/models?api-version=2024-10-21 (URL: the resource's root) or to
/openai/v1/models (URL ending in /openai/v1); --kind gemini sends
"x-goog-api-key: KEY"; --kind bedrock --region REGION
signs every request with AWS Signature Version 4, credentials from the AWS
SDK's default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
AWS_PROFILE, a role), and its default path is Bedrock Runtime's cheap GET,
ListAsyncInvokes (/async-invoke?maxResults=1); URL is
https://bedrock-runtime.REGION.amazonaws.com or a VPC endpoint. --kind defaults to anthropic for
api.anthropic.com, to gemini for generativelanguage.googleapis.com, and to openai for any
other host. A failure to connect names the phase: DNS lookup, TCP
connect or TLS handshake.

Every flag can also be set by its environment twin, WARMGATE_PROBE_<FLAG>
(upper case, dashes as underscores); a flag on the command line wins.`,
		Example: `  # an OpenAI-compatible API, as an authenticated client
  warmgate probe https://api.openai.com/v1 --key-env OPENAI_API_KEY

  # Anthropic's API (the kind is found from the host; --kind anthropic for a proxy)
  warmgate probe https://api.anthropic.com --key-env ANTHROPIC_API_KEY

  # the mock, with its private CA, a 5s idle timeout, and JSON for scripts
  warmgate mock --tls --idle-timeout 5s --ca-out /tmp/mock-ca.pem &
  warmgate probe https://127.0.0.1:18080/v1 --ca /tmp/mock-ca.pem --idle-max 10s --json

  # what an HTTP/1.1 client (httpx, Node's https) sees
  warmgate probe https://api.example.com/v1 --http1`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Samples, "samples", probe.DefaultSamples, "requests on new connections, and again on one reused connection")
	fl.DurationVar(&o.IdleMax, "idle-max", probe.DefaultIdleMax, "longest idle gap to test (negative: skip the idle timeout search)")
	fl.IntVar(&o.MaxRequests, "max-requests", probe.DefaultMaxRequests, "most requests to send on one connection to find a cap (negative: skip)")
	fl.StringVar(&o.Path, "path", probe.DefaultPath, "path appended to URL for every request")
	fl.StringVar(&keyEnv, "key-env", "", "send the key in $`VAR` as the API takes it (the key is never printed)")
	fl.StringVar(&kind, "kind", "", "the API's kind: "+provider.KindNames()+" (default: by the host, else openai)")
	fl.StringVar(&region, "region", "", "kind bedrock: the AWS `REGION` requests are signed for (credentials: the AWS SDK's default chain)")
	fl.StringVar(&caFile, "ca", "", "also trust the CA certificates (PEM) in `FILE`")
	fl.BoolVar(&o.HTTP1, "http1", false, "probe as an HTTP/1.1 client even if the server offers h2")
	fl.DurationVar(&o.RequestTimeout, "timeout", probe.DefaultRequestTimeout, "limit for each request, connection included")
	fl.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	fl.VisitAll(func(f *pflag.Flag) {
		f.Usage += fmt.Sprintf(" [$%s%s]", probeEnvPrefix, strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")))
	})

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := applyEnv(cmd, probeEnvPrefix); err != nil {
			return err
		}
		o.URL = args[0]
		if o.Samples < 1 {
			return fmt.Errorf("probe: --samples must be at least 1, got %d", o.Samples)
		}
		var key string
		if keyEnv != "" {
			if key = os.Getenv(keyEnv); key == "" {
				return fmt.Errorf("probe: --key-env %s: the variable is not set or empty", keyEnv)
			}
		}
		k, err := probeKind(kind, o.URL)
		if err != nil {
			return err
		}
		if (k == provider.Bedrock) != (region != "") {
			return errors.New("probe: --region goes with --kind bedrock, and kind bedrock needs it (e.g. --region us-east-1)")
		}
		if k == provider.Bedrock {
			// Signed one by one, with credentials from the AWS chain: the
			// probe's GET /models becomes Bedrock's ListAsyncInvokes.
			ep, err := provider.New(provider.Settings{Kind: k, BaseURL: o.URL, Region: region})
			if err != nil {
				return fmt.Errorf("probe: %w", err)
			}
			if err := ep.Check(cmd.Context()); err != nil {
				return fmt.Errorf("probe: %w", err)
			}
			o.URL, o.Prepare = ep.BaseURL, ep.Prepare
			if !cmd.Flags().Changed("path") {
				o.Path = ep.ProbePath
			}
		} else if ep, err := provider.New(provider.Settings{Kind: k, BaseURL: o.URL, APIKey: key}); err == nil {
			// The kind's base URL and headers; a URL it cannot take is left
			// for the probe to report in its own words.
			o.URL, o.Header = ep.BaseURL, ep.ProbeHeader()
			if !cmd.Flags().Changed("path") {
				o.Path = ep.ProbePath // e.g. Azure's, with its api-version
			}
		}
		if caFile != "" {
			pool, err := certPool(caFile)
			if err != nil {
				return err
			}
			o.RootCAs = pool
		}
		if f, ok := cmd.ErrOrStderr().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			bar := newProbeBar(f)
			defer bar.finish()
			o.Progress = bar.update
		}

		ctx, stop := interruptible(cmd)
		defer stop()
		r, err := probe.Run(ctx, o)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if jsonOut {
			return writeJSON(out, r)
		}
		return probe.WriteText(out, r)
	}
	return cmd
}

// probeKind is the --kind flag's kind, or when it is empty the kind of the
// URL's host: Anthropic's API host is anthropic, Gemini's gemini, any other
// openai.
func probeKind(flag, rawURL string) (provider.Kind, error) {
	if flag != "" {
		k, err := provider.ParseKind(flag)
		if err != nil {
			return "", fmt.Errorf("probe: --kind: %w", err)
		}
		return k, nil
	}
	if u, err := url.Parse(rawURL); err == nil {
		switch strings.ToLower(u.Hostname()) {
		case "api.anthropic.com":
			return provider.Anthropic, nil
		case "generativelanguage.googleapis.com":
			return provider.Gemini, nil
		}
	}
	return provider.OpenAI, nil
}

// certPool is the system roots plus the PEM certificates in file.
func certPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("probe: --ca: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system roots here: trust the file alone
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("probe: --ca %s: no PEM certificate in the file", file)
	}
	return pool, nil
}

// probeBar shows a probe's progress on a terminal: one bar per count
// (the cost requests, the request cap, the idle search in milliseconds).
type probeBar struct {
	w    io.Writer
	last int64 // the bar's count so far
	bar  *progressbar.ProgressBar
}

func newProbeBar(w io.Writer) *probeBar { return &probeBar{w: w} }

func (b *probeBar) update(p probe.Progress) {
	if b.bar == nil || p.Done < b.last { // a new count starts
		b.finish()
		b.bar = progressbar.NewOptions64(max(p.Total, 1),
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(true),
		)
	}
	b.last = p.Done
	b.bar.ChangeMax64(max(p.Total, p.Done, 1))
	b.bar.Describe(p.Detail)
	_ = b.bar.Set64(p.Done)
}

func (b *probeBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		_ = b.bar.Clear()
		b.bar = nil
	}
}
