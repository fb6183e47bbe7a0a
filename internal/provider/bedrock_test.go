// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Test credentials, in AWS's documented example format.
const (
	testAccessKey = "AKIDWARMGATEEXAMPLE"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// awsEnv isolates the AWS SDK's default chain from the machine: the
// given static keys in the environment (none when access is ""), config
// and credentials files of its own (credentials holds creds), no instance
// metadata, no container or web identity credentials. Nothing reaches
// the network.
func awsEnv(t *testing.T, access, secret, credentials string) {
	t.Helper()
	dir := t.TempDir()
	cfgFile, credFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, f := range []struct{ name, text string }{{cfgFile, ""}, {credFile, credentials}} {
		if err := os.WriteFile(f.name, []byte(f.text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": cfgFile, "AWS_SHARED_CREDENTIALS_FILE": credFile,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
		"AWS_ROLE_ARN": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "",
	} {
		t.Setenv(k, v)
	}
}

func TestBedrockNew(t *testing.T) {
	awsEnv(t, testAccessKey, testSecretKey, "[team]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n")
	tests := []struct {
		name     string
		in       Settings
		wantBase string
		wantErr  string
	}{
		{"base URL from the region", Settings{Kind: Bedrock, Region: "eu-west-3"}, "https://bedrock-runtime.eu-west-3.amazonaws.com", ""},
		{"a VPC endpoint wins", Settings{Kind: Bedrock, Region: "us-east-1", BaseURL: "https://vpce-0a1b.bedrock-runtime.us-east-1.vpce.amazonaws.com/"},
			"https://vpce-0a1b.bedrock-runtime.us-east-1.vpce.amazonaws.com", ""},
		{"a proxy path is kept", Settings{Kind: Bedrock, Region: "us-west-2", BaseURL: "http://127.0.0.1:9000/aws/"}, "http://127.0.0.1:9000/aws", ""},
		{"a profile", Settings{Kind: Bedrock, Region: "us-east-1", Profile: "team"}, "https://bedrock-runtime.us-east-1.amazonaws.com", ""},
		{"no region", Settings{Kind: Bedrock}, "", "kind bedrock needs a region (e.g. region: us-east-1)"},
		{"bad region", Settings{Kind: Bedrock, Region: "US East"}, "", `region "US East" is not an AWS region name (e.g. us-east-1)`},
		{"region in a host name", Settings{Kind: Bedrock, Region: "x.evil.test/"}, "", "is not an AWS region name"},
		{"an API key", Settings{Kind: Bedrock, Region: "us-east-1", APIKey: "sk-secret"}, "", "kind bedrock takes no API key"},
		{"a bad base URL", Settings{Kind: Bedrock, Region: "us-east-1", BaseURL: "bedrock.internal"}, "",
			"base_url must be an absolute http:// or https:// URL, e.g. https://bedrock-runtime.us-east-1.amazonaws.com"},
		{"an unknown profile", Settings{Kind: Bedrock, Region: "us-east-1", Profile: "nope"}, "", `profile "nope" is in no AWS config or credentials file`},
		{"region on openai", Settings{BaseURL: "https://x", Region: "us-east-1"}, "", "region and profile apply to kind bedrock only"},
		{"profile on anthropic", Settings{Kind: Anthropic, BaseURL: "https://x", Profile: "team"}, "", "region and profile apply to kind bedrock only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "sk-secret") {
					t.Errorf("error shows the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.BaseURL != tt.wantBase || e.Dialect != DialectBedrock || e.ProbePath != BedrockProbePath || e.Header != nil {
				t.Errorf("base %q, dialect %q, probe path %q, header %v; want %q, bedrock, %q, none",
					e.BaseURL, e.Dialect, e.ProbePath, e.Header, tt.wantBase, BedrockProbePath)
			}
			if e.Prepare == nil || e.Check == nil {
				t.Fatal("no Prepare or Check")
			}
			if err := e.Check(t.Context()); err != nil {
				t.Errorf("Check: %v", err)
			}
			if h := e.ProbeHeader(); len(h) != 0 {
				t.Errorf("ProbeHeader = %v, want none (each request is signed by Prepare)", h)
			}
		})
	}
}

// TestBedrockCheckNoCredentials: with no credential anywhere in the chain,
// Check says how to provide one; so does Prepare.
func TestBedrockCheckNoCredentials(t *testing.T) {
	awsEnv(t, "", "", "")
	e, err := New(Settings{Kind: Bedrock, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err) // loading the configuration needs no credential
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = e.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "no AWS credentials for Bedrock in us-east-1: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("Check: %v; want the missing credentials explained", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", strings.NewReader("{}"))
	if err := e.Prepare(req); err == nil || !strings.Contains(err.Error(), "no AWS credentials") {
		t.Errorf("Prepare: %v; want the missing credentials explained", err)
	}
}

// TestBedrockMapURL: the model id is escaped on the wire as AWS's SDKs
// escape it (an ARN's ":" and "/" included), however it came; the warm-up
// GET /models becomes ListAsyncInvokes; other paths are left alone.
func TestBedrockMapURL(t *testing.T) {
	awsEnv(t, testAccessKey, testSecretKey, "")
	arn := "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	arnEsc := "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-5-20250929-v1%3A0"
	for _, tt := range []struct {
		name, base, method, target string
		wantPath, wantQuery        string // EscapedPath, RawQuery
	}{
		{"a model id", "https://h", "POST", "https://h" + BedrockPath("anthropic.claude-3-haiku-20240307-v1:0", false),
			"/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", ""},
		{"an ARN, streamed", "https://h", "POST", "https://h" + BedrockPath(arn, true), "/model/" + arnEsc + "/converse-stream", ""},
		{"an ARN sent unescaped", "https://h", "POST", "https://h/model/" + arn + "/converse", "/model/" + arnEsc + "/converse", ""},
		{"under a proxy path", "http://p/a%20b", "POST", "http://p/a%20b" + BedrockPath("m:1", false), "/a%20b/model/m%3A1/converse", ""},
		{"the warm-up", "https://h/x", "GET", "https://h/x/models", "/x/async-invoke", "maxResults=1"},
		{"the probe", "https://h", "GET", "https://h/async-invoke?maxResults=1", "/async-invoke", "maxResults=1"},
		{"the probe, any query", "https://h", "GET", "https://h/async-invoke?maxResults=100&statusEquals=Failed", "/async-invoke", "maxResults=1"},
		{"another operation", "https://h", "POST", "https://h/guardrail/g:1/version/1/apply", "", ""},
		{"InvokeModel", "https://h", "POST", "https://h/model/m:1/invoke", "", ""},
		{"StartAsyncInvoke", "https://h", "POST", "https://h/async-invoke", "", ""},
		{"Converse by GET", "https://h", "GET", "https://h/model/m/converse", "", ""},
		{"outside the base URL", "https://h/x", "POST", "https://h/model/m/converse", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(Settings{Kind: Bedrock, Region: "us-east-1", BaseURL: tt.base})
			if err != nil {
				t.Fatal(err)
			}
			var body *strings.Reader
			if tt.method == "POST" {
				body = strings.NewReader(`{"messages":[]}`)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, tt.target, nil)
			if body != nil {
				req, err = http.NewRequestWithContext(t.Context(), tt.method, tt.target, body)
			}
			if err != nil {
				t.Fatal(err)
			}
			err = e.Prepare(req)
			if tt.wantPath == "" { // refused, unsigned
				if err == nil || !strings.Contains(err.Error(), "a bedrock upstream is sent only Converse and ConverseStream") || req.Header.Get("Authorization") != "" {
					t.Errorf("Prepare: %v, Authorization %q; want it refused, unsigned", err, req.Header.Get("Authorization"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := req.URL.EscapedPath(); got != tt.wantPath {
				t.Errorf("path on the wire %q, want %q", got, tt.wantPath)
			}
			if req.URL.RawQuery != tt.wantQuery {
				t.Errorf("query %q, want %q", req.URL.RawQuery, tt.wantQuery)
			}
		})
	}
}

// TestBedrockPrepareSigns: Prepare signs host, content-length,
// content-type and its own x-amz-* headers (never the client's others), with
// the date of each call and the hash of GetBody's copy; a session token
// goes out and is signed; a body without GetBody cannot be signed.
func TestBedrockPrepareSigns(t *testing.T) {
	awsEnv(t, testAccessKey, testSecretKey, "")
	t.Setenv("AWS_SESSION_TOKEN", "session-token-example")
	e, err := New(Settings{Kind: Bedrock, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.BaseURL+BedrockPath("m", false), bytes.NewReader(body))
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("Authorization", "Bearer client-key")
	req.Header.Set("X-Amz-Content-Sha256", "a client's")
	if err := e.Prepare(req); err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	const wantPrefix = "AWS4-HMAC-SHA256 Credential=" + testAccessKey + "/"
	if !strings.HasPrefix(auth, wantPrefix) || !strings.Contains(auth, "/us-east-1/bedrock/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token, Signature=") {
		t.Errorf("Authorization = %q", auth)
	}
	if strings.Contains(auth, testSecretKey) {
		t.Error("the secret key is in the request")
	}
	if req.Header.Get("X-Amz-Content-Sha256") != "" {
		t.Error("the client's x-amz-content-sha256 went out")
	}
	if req.Header.Get("X-Amz-Security-Token") != "session-token-example" || req.Header.Get("X-Amz-Date") == "" ||
		req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", req.Header)
	}

	// Another attempt a second later: a fresh date and signature.
	base, _ := url.Parse(e.BaseURL)
	b, err := newBedrock(Settings{Kind: Bedrock, Region: "us-east-1"}, base)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return clock }
	req2, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.BaseURL+BedrockPath("m", false), bytes.NewReader(body))
	if err := b.prepare(req2); err != nil {
		t.Fatal(err)
	}
	first := req2.Header.Get("Authorization")
	clock = clock.Add(time.Second)
	if err := b.prepare(req2); err != nil {
		t.Fatal(err)
	}
	if req2.Header.Get("X-Amz-Date") != "20261206T120001Z" || req2.Header.Get("Authorization") == first {
		t.Errorf("second attempt: date %q, signature unchanged %v", req2.Header.Get("X-Amz-Date"), req2.Header.Get("Authorization") == first)
	}

	noReplay, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.BaseURL+"/model/m/converse", nil)
	noReplay.Body = http.NoBody
	if err := e.Prepare(noReplay); err != nil {
		t.Errorf("an empty body: %v", err)
	}
	noReplay.Body, noReplay.GetBody = readCloser{strings.NewReader("{}")}, nil
	if err := e.Prepare(noReplay); err == nil || !strings.Contains(err.Error(), "no GetBody") {
		t.Errorf("a body without GetBody: %v, want an error", err)
	}
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

// BenchmarkSign is what kind bedrock's Prepare costs per attempt: the URL
// mapped, the body hashed (read through GetBody) and the request signed,
// with cached credentials, for a 4 KB and a 78 KB body.
func BenchmarkSign(b *testing.B) {
	awsEnvB(b)
	e, err := New(Settings{Kind: Bedrock, Region: "us-east-1"})
	if err != nil {
		b.Fatal(err)
	}
	target := e.BaseURL + BedrockPath("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0", true)
	for _, size := range []int{4 << 10, 78 << 10} {
		body := bytes.Repeat([]byte("a"), size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				req, _ := http.NewRequestWithContext(b.Context(), http.MethodPost, target, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if err := e.Prepare(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// awsEnvB is awsEnv for a benchmark: static keys, nothing else.
func awsEnvB(b *testing.B) {
	dir := b.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": testAccessKey, "AWS_SECRET_ACCESS_KEY": testSecretKey, "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
	} {
		b.Setenv(k, v)
	}
}

// TestBedrockCredentialsCached: credentials are fetched once, not per
// request, and fetched again once they have expired. They come from a
// profile's credential_process, which counts its runs.
func TestBedrockCredentialsCached(t *testing.T) {
	for _, tt := range []struct {
		name       string
		expiration string
		wantRuns   int
	}{
		{"valid for long", "2099-01-01T00:00:00Z", 1},
		{"expired", "2001-01-01T00:00:00Z", 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			runs := filepath.Join(dir, "runs")
			script := filepath.Join(dir, "creds.sh")
			if err := os.WriteFile(script, []byte("#!/bin/sh\necho run >> "+runs+"\n"+
				`echo '{"Version":1,"AccessKeyId":"AKIDPROCESS","SecretAccessKey":"process-secret","SessionToken":"tok","Expiration":"`+tt.expiration+`"}'`+"\n"), 0o700); err != nil {
				t.Fatal(err)
			}
			awsEnv(t, "", "", "[process]\ncredential_process = "+script+"\n")
			e, err := New(Settings{Kind: Bedrock, Region: "us-east-1", Profile: "process"})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Check(t.Context()); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.BaseURL+BedrockPath("m", false), strings.NewReader("{}"))
				if err := e.Prepare(req); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(req.Header.Get("Authorization"), "Credential=AKIDPROCESS/") || req.Header.Get("X-Amz-Security-Token") != "tok" {
					t.Fatalf("signed with %q", req.Header.Get("Authorization"))
				}
			}
			b, _ := os.ReadFile(runs)
			if n := strings.Count(string(b), "run"); n != tt.wantRuns {
				t.Errorf("credential_process ran %d times for a check and 3 requests, want %d", n, tt.wantRuns)
			}
		})
	}
}
