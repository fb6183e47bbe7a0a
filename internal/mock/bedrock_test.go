// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/warmgate/warmgate/internal/translate/bedrock"
)

// AWS's documented example credentials.
const (
	awsKeyID  = "AKIAIOSFODNN7EXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// An inference profile ARN: its ":" and "/" are one path segment.
const bedrockModel = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"

// bedrockSDK is aws-sdk-go-v2's Bedrock Runtime client pointed at s, with
// static credentials, and without retries unless attempts > 1 (then
// without waits between them).
func bedrockSDK(s *Server, secret string, attempts int) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(awsKeyID, secret, ""),
		HTTPClient:   s.Client(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
}

func userSays(text string) []types.Message {
	return []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}}}}
}

var weatherSpec = &types.ToolMemberToolSpec{Value: types.ToolSpecification{
	Name: aws.String("get_weather"),
	InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer"}},
		"required":   []string{"city", "days"},
	})},
}}

// TestBedrockSDK: the official Bedrock Runtime client, signing with the
// mock's credentials, gets answers it reads in full, over HTTP/1.1 and
// over TLS with HTTP/2: Converse, ConverseStream (every event, the usage
// of metadata last), a tool use in both, and the warm-up request
// (ListAsyncInvokes). This shows the mock's dialect is Bedrock's.
func TestBedrockSDK(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			s := start(t, Options{TLS: tls, AWSAccessKeyID: awsKeyID, AWSSecretAccessKey: awsSecret, Tokens: 5})
			c := bedrockSDK(s, awsSecret, 1)
			ctx := t.Context()

			out, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(bedrockModel), Messages: userSays("Hello"),
				System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "You are a mock."}}})
			if err != nil {
				t.Fatalf("Converse: %v", err)
			}
			msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
			if !ok || len(msg.Value.Content) != 1 || out.StopReason != types.StopReasonEndTurn {
				t.Fatalf("Converse: output %#v, stop %q", out.Output, out.StopReason)
			}
			if txt, _ := msg.Value.Content[0].(*types.ContentBlockMemberText); txt == nil || txt.Value != content(5) {
				t.Errorf("Converse: content %#v, want %q", msg.Value.Content[0], content(5))
			}
			if u := out.Usage; u == nil || *u.OutputTokens != 5 || *u.InputTokens < 1 || *u.TotalTokens != *u.InputTokens+5 {
				t.Errorf("Converse: usage %+v", out.Usage)
			}

			// Streamed: every event, in order.
			so, err := c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(bedrockModel), Messages: userSays("Hello")})
			if err != nil {
				t.Fatalf("ConverseStream: %v", err)
			}
			names, text, usage := readStream(t, so)
			want := "messageStart " + strings.Repeat("contentBlockDelta ", 5) + "contentBlockStop messageStop metadata"
			if names != want || text != content(5) || usage == nil || *usage.OutputTokens != 5 {
				t.Errorf("ConverseStream: events %q, text %q, usage %+v; want %q, %q", names, text, usage, want, content(5))
			}

			// A tool use, plain and streamed.
			tc := &types.ToolConfiguration{Tools: []types.Tool{weatherSpec},
				ToolChoice: &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String("get_weather")}}}
			out, err = c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(bedrockModel), Messages: userSays("Weather?"), ToolConfig: tc})
			if err != nil {
				t.Fatalf("Converse with a tool: %v", err)
			}
			msg, _ = out.Output.(*types.ConverseOutputMemberMessage)
			if msg == nil || len(msg.Value.Content) != 1 || out.StopReason != types.StopReasonToolUse {
				t.Fatalf("Converse with a tool: %#v, stop %q", out.Output, out.StopReason)
			}
			use, _ := msg.Value.Content[0].(*types.ContentBlockMemberToolUse)
			var input map[string]any
			if use == nil || *use.Value.Name != "get_weather" || !strings.HasPrefix(*use.Value.ToolUseId, "tooluse_") ||
				use.Value.Input.UnmarshalSmithyDocument(&input) != nil || input["city"] != "mock" {
				t.Errorf("tool use %#v, input %v", msg.Value.Content[0], input)
			}
			so, err = c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(bedrockModel), Messages: userSays("Weather?"), ToolConfig: tc})
			if err != nil {
				t.Fatalf("ConverseStream with a tool: %v", err)
			}
			names, text, _ = readStream(t, so)
			if !strings.HasPrefix(names, "messageStart contentBlockStart contentBlockDelta") || !strings.HasSuffix(names, "contentBlockStop messageStop metadata") ||
				text != `{"city":"mock","days":1}` {
				t.Errorf("streamed tool use: events %q, input %q", names, text)
			}

			// The warm-up request.
			list, err := c.ListAsyncInvokes(ctx, &bedrockruntime.ListAsyncInvokesInput{MaxResults: aws.Int32(1)})
			if err != nil || len(list.AsyncInvokeSummaries) != 0 {
				t.Errorf("ListAsyncInvokes: %+v, %v", list, err)
			}
		})
	}
}

// readStream reads a ConverseStream to its end: the event names, the
// text (or tool input) of its deltas, the usage of its metadata.
func readStream(t *testing.T, so *bedrockruntime.ConverseStreamOutput) (string, string, *types.TokenUsage) {
	t.Helper()
	st := so.GetStream()
	defer st.Close()
	var names []string
	var text strings.Builder
	var usage *types.TokenUsage
	for ev := range st.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			names = append(names, bedrock.EventMessageStart)
		case *types.ConverseStreamOutputMemberContentBlockStart:
			names = append(names, bedrock.EventContentBlockStart)
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			names = append(names, bedrock.EventContentBlockDelta)
			switch d := v.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				text.WriteString(d.Value)
			case *types.ContentBlockDeltaMemberToolUse:
				text.WriteString(*d.Value.Input)
			}
		case *types.ConverseStreamOutputMemberContentBlockStop:
			names = append(names, bedrock.EventContentBlockStop)
		case *types.ConverseStreamOutputMemberMessageStop:
			names = append(names, bedrock.EventMessageStop)
		case *types.ConverseStreamOutputMemberMetadata:
			names = append(names, bedrock.EventMetadata)
			usage = v.Value.Usage
		default:
			t.Errorf("unknown event %T", ev)
		}
	}
	if err := st.Err(); err != nil {
		t.Errorf("stream: %v", err)
	}
	return strings.Join(names, " "), text.String(), usage
}

// TestBedrockSDKErrors: the client gets Bedrock's errors as its own typed
// errors: a throttled request a *types.ThrottlingException (and a
// retried throttle succeeds), a 5xx a *types.InternalServerException, a
// wrong secret key InvalidSignatureException (403), a stream cut after
// its third event an error from the stream.
func TestBedrockSDKErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(bedrockModel), Messages: userSays("Hello")}
	creds := Options{AWSAccessKeyID: awsKeyID, AWSSecretAccessKey: awsSecret}

	o := creds
	o.Fault = "status=429"
	_, err := bedrockSDK(start(t, o), awsSecret, 1).Converse(ctx, in)
	if te, ok := errors.AsType[*types.ThrottlingException](err); !ok || !strings.Contains(te.ErrorMessage(), "Too many requests") {
		t.Errorf("status=429: %v; want a *types.ThrottlingException", err)
	}
	if re, ok := errors.AsType[*awshttp.ResponseError](err); !ok || re.HTTPStatusCode() != 429 {
		t.Errorf("status=429: %v; want HTTP 429", err)
	}

	o.Fault = "status=429,times=1"
	if _, err := bedrockSDK(start(t, o), awsSecret, 3).Converse(ctx, in); err != nil {
		t.Errorf("a throttle, then an answer: the SDK's retry got %v", err)
	}

	o.Fault = "status=500"
	if _, err := bedrockSDK(start(t, o), awsSecret, 1).Converse(ctx, in); !isType[*types.InternalServerException](err) {
		t.Errorf("status=500: %v; want a *types.InternalServerException", err)
	}
	o.Fault = "status=503"
	if _, err := bedrockSDK(start(t, o), awsSecret, 1).Converse(ctx, in); !isType[*types.ServiceUnavailableException](err) {
		t.Errorf("status=503: %v; want a *types.ServiceUnavailableException", err)
	}

	s := start(t, creds)
	_, err = bedrockSDK(s, "not-the-secret", 1).Converse(ctx, in)
	ae, ok := errors.AsType[smithy.APIError](err)
	re, _ := errors.AsType[*awshttp.ResponseError](err)
	if !ok || ae.ErrorCode() != bedrock.ErrInvalidSignature || re == nil || re.HTTPStatusCode() != 403 ||
		!strings.Contains(ae.ErrorMessage(), "signature we calculated does not match") {
		t.Errorf("a wrong secret key: %v; want InvalidSignatureException, 403", err)
	}

	o.Fault = "reset_after_chunks=3"
	so, err := bedrockSDK(start(t, o), awsSecret, 1).ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(bedrockModel), Messages: userSays("Hi")})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK sees a stream cut between two messages as its end (Err is
	// nil): only the missing metadata event shows the cut.
	st := so.GetStream()
	n := 0
	for range st.Events() {
		n++
	}
	st.Close()
	if n != 3 {
		t.Errorf("reset_after_chunks=3: %d events, want 3", n)
	}
	// An exception mid-stream: the SDK's typed error after the events
	// before it.
	for _, tt := range []struct {
		fault string
		want  func(error) bool
	}{
		{"exception_after_chunks=2", isType[*types.ModelStreamErrorException]},
		{"status=429,exception_after_chunks=2", isType[*types.ThrottlingException]},
		{"status=503,exception_after_chunks=2", isType[*types.ServiceUnavailableException]},
	} {
		o.Fault = tt.fault
		so, err := bedrockSDK(start(t, o), awsSecret, 1).ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(bedrockModel), Messages: userSays("Hi")})
		if err != nil {
			t.Fatalf("%s: %v", tt.fault, err)
		}
		st := so.GetStream()
		n := 0
		for range st.Events() {
			n++
		}
		st.Close()
		if n != 2 || !tt.want(st.Err()) {
			t.Errorf("%s: %d events, then %v (%T)", tt.fault, n, st.Err(), errors.Unwrap(st.Err()))
		}
	}

	// warmgate's own reader says the body was cut.
	cut := start(t, Options{Fault: "reset_after_chunks=3"})
	r, _ := http.NewRequestWithContext(ctx, http.MethodPost, cut.URL()+"/model/m/converse-stream",
		strings.NewReader(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`))
	resp, err := cut.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bedrock.NewReader(resp.Body, 0)
	for n = 0; n < 10; n++ {
		if _, err = rd.Next(); err != nil {
			break
		}
	}
	if n != 3 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reset_after_chunks=3, read by bedrock.Reader: %d events, then %v; want 3, then io.ErrUnexpectedEOF", n, err)
	}
}

func isType[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}

// TestBedrockSignatureCheck: the mock's check refuses what AWS refuses,
// with its types: a request unsigned, signed with another secret, by an
// unknown key id, for another service, too long ago, or changed after it
// was signed (body, path, a signed header); a header added unsigned is
// fine.
func TestBedrockSignatureCheck(t *testing.T) {
	t.Parallel()
	s := start(t, Options{AWSAccessKeyID: awsKeyID, AWSSecretAccessKey: awsSecret})
	body := `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`
	path := "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
	sign := func(r *http.Request, body, key, secret, service string, at time.Time) {
		sum := sha256Hex(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, r, sum, service, "us-east-1", at); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for _, tt := range []struct {
		name     string
		prepare  func(r *http.Request) // signs, and may change the request after
		wantType string
	}{
		{"signed", func(r *http.Request) { sign(r, body, awsKeyID, awsSecret, "bedrock", now) }, ""},
		{"an unsigned header added", func(r *http.Request) {
			sign(r, body, awsKeyID, awsSecret, "bedrock", now)
			r.Header.Set("X-Forwarded-For", "10.0.0.1")
		}, ""},
		{"unsigned", func(*http.Request) {}, "MissingAuthenticationTokenException"},
		{"another secret", func(r *http.Request) { sign(r, body, awsKeyID, "other", "bedrock", now) }, bedrock.ErrInvalidSignature},
		{"an unknown key id", func(r *http.Request) { sign(r, body, "AKIDOTHER", awsSecret, "bedrock", now) }, bedrock.ErrUnrecognizedClient},
		{"another service", func(r *http.Request) { sign(r, body, awsKeyID, awsSecret, "s3", now) }, bedrock.ErrInvalidSignature},
		{"ten minutes ago", func(r *http.Request) { sign(r, body, awsKeyID, awsSecret, "bedrock", now.Add(-10*time.Minute)) }, bedrock.ErrInvalidSignature},
		{"the body changed", func(r *http.Request) {
			sign(r, `{"messages":[]}`, awsKeyID, awsSecret, "bedrock", now)
		}, bedrock.ErrInvalidSignature},
		{"the path changed", func(r *http.Request) {
			sign(r, body, awsKeyID, awsSecret, "bedrock", now)
			r.URL.RawPath, r.URL.Path = "/model/anthropic.claude-3-haiku-20240307-v1%3A1/converse", "/model/anthropic.claude-3-haiku-20240307-v1:1/converse"
		}, bedrock.ErrInvalidSignature},
		{"a signed header changed", func(r *http.Request) {
			sign(r, body, awsKeyID, awsSecret, "bedrock", now)
			r.Header.Set("Content-Type", "text/plain")
		}, bedrock.ErrInvalidSignature},
		{"no signature", func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+awsKeyID) }, bedrock.ErrIncompleteSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/json")
			tt.prepare(r)
			resp, err := s.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := bedrock.ErrorType(resp.Header.Get(bedrock.ErrorTypeHeader), b)
			switch {
			case tt.wantType == "" && resp.StatusCode != 200:
				t.Errorf("status %d (%s): %s", resp.StatusCode, got, b)
			case tt.wantType != "" && (resp.StatusCode != 403 || got != tt.wantType || !bytes.HasPrefix(b, []byte(`{"message":"`))):
				t.Errorf("status %d, type %q: %s; want 403 %s", resp.StatusCode, got, b, tt.wantType)
			}
		})
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
