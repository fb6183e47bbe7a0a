// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/warmgate/warmgate/internal/mock"
)

// mockEnvPrefix prefixes the environment twin of every mock flag:
// --token-interval is WARMGATE_MOCK_TOKEN_INTERVAL.
const mockEnvPrefix = "WARMGATE_MOCK_"

// mockShutdownTimeout bounds the graceful stop: streams in flight get this
// long to finish before their connections are closed.
const mockShutdownTimeout = 5 * time.Second

func newMockCmd() *cobra.Command {
	var (
		listen string
		caOut  string
		keyEnv string
		sigv4  bool
		o      mock.Options
	)
	cmd := &cobra.Command{
		Use:   "mock",
		Short: "Run an OpenAI- and Anthropic-compatible fake upstream with fault injection",
		Long: `Run a fake upstream that speaks OpenAI's API, Anthropic's Messages API,
Azure OpenAI's, Google's Gemini API and AWS Bedrock Runtime's Converse, for
tests, demos and benchmarks.

It serves POST /v1/chat/completions (JSON, or SSE with "stream":true and a
usage chunk when stream_options.include_usage), /v1/completions,
/v1/embeddings and GET /v1/models, with plausible usage; Anthropic's
POST /v1/messages (JSON, or Anthropic's SSE events with "stream":true; a
tool_use block when the request has tools), /v1/messages/count_tokens, and
GET /v1/models in Anthropic's shape when asked with an anthropic-version
header; Azure OpenAI's paths (/openai/v1/..., /openai/deployments/NAME/...
and /openai/models with an api-version query, Azure's error shape); Gemini's
under /v1beta (models/{model}:generateContent, :streamGenerateContent?alt=sse,
:embedContent, :batchEmbedContents, GET models; Google's error shape); AWS
Bedrock Runtime's POST /model/{modelId}/converse (JSON) and
/converse-stream (AWS event-stream framing; a toolUse block when the
request has tools) and GET /async-invoke; and
GET /mock/stats: {"connections_accepted","tls_handshakes",
"requests","active_connections"}, counted on the server side. Errors take
the shape of the route's API (Anthropic's overload is status=529).

With --api-key-env VAR, requests must carry the key in $VAR: OpenAI's routes
as "Authorization: Bearer KEY", Anthropic's as "x-api-key: KEY" (or Bearer)
with an anthropic-version header, Azure's as "api-key: KEY" (or Bearer),
Gemini's as "x-goog-api-key: KEY"; others get the API's refusal (a 401;
Gemini's 403 without a key, 400 API_KEY_INVALID with a wrong one). With
--aws-sigv4, Bedrock's routes check every request's AWS Signature Version 4
(service bedrock, any region) against
$AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY; others get Bedrock's 403.

With --tls it serves HTTPS (HTTP/2 by ALPN unless --no-h2) with a certificate
for localhost, 127.0.0.1 and ::1, signed by a CA made at startup; --ca-out
writes that CA for clients to trust.

Faults: a comma-separated list of name=value, for the whole server with
--fault, or for one request with the header "X-Mock-Fault: SPEC" (which
replaces --fault; "X-Mock-Fault: none" turns it off):
  status=CODE           answer CODE (400-599) with an error body of the
                        route's API (OpenAI's, Gemini's, or Anthropic's: 529
                        is its overloaded_error, 429 its rate_limit_error)
  retry_after=S         add Retry-After: S seconds (alone: status 429)
  times=N               only the first N matching requests get the fault
  reset_after_chunks=K  send K stream events (or half a JSON body), then abort
  exception_after_chunks=K
                        Bedrock streams: send K events, then an exception
                        (its type from status=: 429 throttlingException, ...;
                        none: modelStreamErrorException)
  stall=D               pause D after the first stream event (or the headers)
  ttft=D                wait D before answering, instead of --ttft/--latency
  drop_idle=D           close, unanswered, a request arriving on a connection
                        idle for at least D (the stale keep-alive race)
  html=1                answer an HTML error page (status= or 502)
  safety=KIND           Gemini's routes (/v1beta): block the prompt or the
                        response (KIND prompt or response) by safety filters

Every flag can also be set by its environment twin, WARMGATE_MOCK_<FLAG>
(upper case, dashes as underscores); a flag on the command line wins.`,
		Example: `  # a plain mock on the default address
  warmgate mock

  # realistic delays: 300ms to first token, then a token every 20ms
  warmgate mock --ttft 300ms --token-interval 20ms --tokens 64

  # the first two requests fail with 503, then all succeed
  warmgate mock --listen 127.0.0.1:18080 --fault 'status=503,times=2'

  # HTTPS with HTTP/2, 50ms per new connection, and the CA for clients
  warmgate mock --tls --handshake-delay 50ms --ca-out /tmp/mock-ca.pem
  curl --cacert /tmp/mock-ca.pem https://127.0.0.1:18080/v1/models

  # one request's fault, by header
  curl -H 'X-Mock-Fault: status=429,retry_after=1' \
    -d '{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}' \
    http://127.0.0.1:18080/v1/chat/completions

  # Anthropic's Messages API, with a key, overloaded (529) twice
  MOCK_KEY=sk-ant-test warmgate mock --api-key-env MOCK_KEY --fault 'status=529,times=2'
  curl -H "x-api-key: sk-ant-test" -H 'anthropic-version: 2023-06-01' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}' \
    http://127.0.0.1:18080/v1/messages

  # connections close after 5s idle, and the server says so
  WARMGATE_MOCK_IDLE_TIMEOUT=5s warmgate mock --advertise-keepalive`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
	}

	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:18080", "address to listen on")
	fl.BoolVar(&o.TLS, "tls", false, "serve HTTPS with a self-signed CA (HTTP/2 by ALPN)")
	fl.BoolVar(&o.NoH2, "no-h2", false, "with --tls, do not offer HTTP/2: HTTP/1.1 only")
	fl.BoolVar(&o.H2C, "h2c", false, "without --tls, also serve HTTP/2 with prior knowledge (h2c)")
	fl.StringVar(&caOut, "ca-out", "", "write the CA certificate (PEM) to `FILE`; needs --tls")
	fl.DurationVar(&o.Latency, "latency", 0, "wait before a non-streaming answer")
	fl.DurationVar(&o.TTFT, "ttft", 0, "wait before a stream's first token (time to first token)")
	fl.IntVar(&o.Tokens, "tokens", 16, "completion tokens per answer")
	fl.DurationVar(&o.TokenInterval, "token-interval", 0, "gap between a stream's tokens")
	fl.DurationVar(&o.IdleTimeout, "idle-timeout", 0, "close connections idle this long (0: never)")
	fl.BoolVar(&o.AdvertiseKeepAlive, "advertise-keepalive", false, "add 'Keep-Alive: timeout=N' to HTTP/1 answers; needs --idle-timeout")
	fl.DurationVar(&o.HandshakeDelay, "handshake-delay", 0, "what every new connection costs before its first byte is read")
	fl.StringVar(&o.Fault, "fault", "", "server-wide fault `SPEC`, e.g. 'status=503,times=2' (see above)")
	fl.StringVar(&keyEnv, "api-key-env", "", "require the key in $`VAR` on every API request (see above; the key is never printed)")
	fl.BoolVar(&sigv4, "aws-sigv4", false, "check Bedrock requests' SigV4 signature against $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY")

	// Name each flag's environment twin in its help line.
	fl.VisitAll(func(f *pflag.Flag) {
		f.Usage += fmt.Sprintf(" [$%s]", mockEnvName(f.Name))
	})

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyEnv(cmd, mockEnvPrefix); err != nil {
			return err
		}
		if caOut != "" && !o.TLS {
			return errors.New("mock: --ca-out needs --tls")
		}
		if o.NoH2 && !o.TLS {
			return errors.New("mock: --no-h2 needs --tls (plain HTTP is HTTP/1.1 already)")
		}
		if o.AdvertiseKeepAlive && o.IdleTimeout <= 0 {
			return errors.New("mock: --advertise-keepalive needs --idle-timeout (the timeout it advertises)")
		}
		if o.Tokens <= 0 {
			return fmt.Errorf("mock: --tokens must be at least 1, got %d", o.Tokens)
		}
		if keyEnv != "" {
			if o.APIKey = strings.TrimSpace(os.Getenv(keyEnv)); o.APIKey == "" {
				return fmt.Errorf("mock: --api-key-env %s: the variable is not set or empty", keyEnv)
			}
		}
		if sigv4 {
			o.AWSAccessKeyID, o.AWSSecretAccessKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
			if o.AWSAccessKeyID == "" || o.AWSSecretAccessKey == "" {
				return errors.New("mock: --aws-sigv4 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set: the credentials Bedrock requests must be signed with")
			}
		}
		o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
		return runMock(cmd.Context(), cmd, o, listen, caOut)
	}
	return cmd
}

func runMock(ctx context.Context, cmd *cobra.Command, o mock.Options, listen, caOut string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := mock.Start(o, listen)
	if err != nil {
		return err
	}
	if caOut != "" {
		if err := os.WriteFile(caOut, s.CAPEM(), 0o644); err != nil {
			_ = s.Close()
			return fmt.Errorf("mock: writing the CA: %w", err)
		}
	}

	protos := "HTTP/1.1"
	switch {
	case o.TLS && !o.NoH2:
		protos = "HTTP/1.1 and HTTP/2 by ALPN"
	case o.H2C:
		protos = "HTTP/1.1 and h2c"
	}
	line := fmt.Sprintf("warmgate mock listening on %s/v1 (%s)", s.URL(), protos)
	if caOut != "" {
		line += "; CA written to " + caOut
	}
	if o.Fault != "" {
		line += "; fault " + o.Fault
	}
	fmt.Fprintln(cmd.OutOrStdout(), line)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	stop() // a second Ctrl-C now ends the process at once

	sctx, cancel := context.WithTimeout(context.Background(), mockShutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		_ = s.Close() // streams still running after the grace period
	}
	return nil
}

// mockEnvName is the environment twin of a flag, as applyEnv reads it.
func mockEnvName(flag string) string {
	return mockEnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}
