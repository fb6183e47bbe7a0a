// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/encoding/httpbinding"
)

// This file is kind bedrock: AWS Bedrock Runtime, whose requests are
// signed with Signature Version 4 by aws-sdk-go-v2's signer, with
// credentials from the SDK's default chain.

// BedrockService is the service name in Bedrock Runtime's signatures (its
// signing name; the host is bedrock-runtime).
const BedrockService = "bedrock"

// BedrockProbePath is the warm-up and probe request of kind bedrock,
// relative to the base URL: ListAsyncInvokes asking for one item. Bedrock
// Runtime has no model list; this is its one cheap GET. It runs no model,
// costs nothing, and any answer warms the connection: the list (often
// empty), or a 403 AccessDeniedException when the role may not list async
// invocations, which still proves the signature good (a bad one is
// InvalidSignatureException).
const BedrockProbePath = "/async-invoke?maxResults=1"

// bedrockOps are the operations under /model/{modelId}/ (the last path
// segment) a bedrock upstream is sent: the gateway's. Prepare signs no
// other request, so that the gateway's AWS credentials cannot be used for
// another operation (InvokeModel with any body, StartAsyncInvoke) by a
// request passed through.
var bedrockOps = map[string]bool{"converse": true, "converse-stream": true, "count-tokens": true}

// BedrockPath is the path, relative to a bedrock upstream's base URL, of
// Converse (stream false) or ConverseStream for model: a model id, an
// inference profile id or an ARN. It is escaped (an ARN's ":" and "/" are
// part of one path segment): use it as a URL reference, as
// http.NewRequest parses it, never as a URL's decoded Path. The kind's
// Prepare escapes the id on the wire as AWS's SDKs do, whatever escaping
// the request came with.
func BedrockPath(model string, stream bool) string {
	op := "/converse"
	if stream {
		op = "/converse-stream"
	}
	return "/model/" + url.PathEscape(model) + op
}

// bedrockBase is the base URL of Bedrock Runtime in region.
func bedrockBase(region string) string {
	return "https://bedrock-runtime." + region + ".amazonaws.com"
}

// CheckRegion reports whether r has the shape of an AWS region name
// (us-east-1, eu-central-2, us-gov-west-1): it goes into a host name.
func CheckRegion(r string) error {
	ok := r != "" && len(r) <= 32 && r[0] >= 'a' && r[0] <= 'z' && r[len(r)-1] != '-'
	for i := 0; ok && i < len(r); i++ {
		c := r[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("region %q is not an AWS region name (e.g. us-east-1)", r)
	}
	return nil
}

// bedrockSigner signs a bedrock upstream's requests: one per upstream,
// shared by its attempts, safe for concurrent use.
type bedrockSigner struct {
	region   string
	creds    aws.CredentialsProvider // an *aws.CredentialsCache
	signer   *v4.Signer
	basePath string // the base URL's path, decoded ("" or "/proxy")
	baseRaw  string // the same, escaped
	now      func() time.Time
}

// newBedrock loads the AWS configuration of s (environment, shared config
// and credentials files, the profile) without any network I/O, and
// returns the signer of its requests. Credentials are not fetched yet:
// Check fetches them, and the cache refreshes them when they expire.
func newBedrock(s Settings, base *url.URL) (*bedrockSigner, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(s.Region)}
	if s.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(s.Profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		if _, ok := errors.AsType[awsconfig.SharedConfigProfileNotExistError](err); ok {
			return nil, fmt.Errorf("profile %q is in no AWS config or credentials file (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE): add it, or name another profile", s.Profile)
		}
		return nil, fmt.Errorf("loading the AWS configuration (environment and ~/.aws files): %w", err)
	}
	creds := cfg.Credentials
	if creds == nil {
		return nil, errors.New("the AWS configuration has no credential chain")
	}
	if _, ok := creds.(*aws.CredentialsCache); !ok {
		creds = aws.NewCredentialsCache(creds) // fetched once, refreshed when they expire
	}
	return &bedrockSigner{
		region:   s.Region,
		creds:    creds,
		signer:   v4.NewSigner(),
		basePath: base.Path,
		baseRaw:  base.EscapedPath(),
		now:      time.Now,
	}, nil
}

// check fetches the credentials (through the cache, which keeps them): a
// missing credential is an error saying how to provide one.
func (b *bedrockSigner) check(ctx context.Context) error {
	if _, err := b.creds.Retrieve(ctx); err != nil {
		return b.credsError(err)
	}
	return nil
}

func (b *bedrockSigner) credsError(err error) error {
	return fmt.Errorf("no AWS credentials for Bedrock in %s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
		"or a profile (the upstream's profile key, or AWS_PROFILE) in ~/.aws/config or ~/.aws/credentials, "+
		"or run with a role (web identity, ECS task role or EC2 instance profile): %w", b.region, err)
}

// prepare is the kind's Prepare: it maps the URL (the warm-up's GET
// /models to BedrockProbePath; a model id escaped as the SDKs do) and
// signs the request, with a fresh date and the hash of the body that
// GetBody gives, on every attempt. It refuses, unsigned, a request that is
// neither Converse, ConverseStream, CountTokens nor the warm-up.
//
// It signs only host, content-type, content-length and its own x-amz-*
// headers, not every header the client sent: a header that a proxy on
// the way adds or changes (x-forwarded-*, ...) then cannot break the
// signature, and no client header reaches the signature's canonical form.
func (b *bedrockSigner) prepare(req *http.Request) error {
	if !b.mapURL(req) {
		return fmt.Errorf("a bedrock upstream is sent only Converse and ConverseStream (POST /model/{modelId}/converse, /converse-stream), "+
			"CountTokens and its warm-up (GET %s), not %s %s", BedrockProbePath, req.Method, req.URL.Path)
	}
	if req.Method == http.MethodPost && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json") // Converse's; the SDKs send it
	}
	sum, err := payloadHash(req)
	if err != nil {
		return err
	}
	creds, err := b.creds.Retrieve(req.Context())
	if err != nil {
		return b.credsError(err)
	}
	u := *req.URL
	signed := &http.Request{Method: req.Method, URL: &u, Host: req.Host, ContentLength: req.ContentLength,
		Header: http.Header{}}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		signed.Header.Set("Content-Type", ct)
	}
	if err := b.signer.SignHTTP(req.Context(), creds, signed, sum, BedrockService, b.region, b.now()); err != nil {
		return fmt.Errorf("signing the Bedrock request: %w", err)
	}
	for k := range req.Header {
		if strings.HasPrefix(k, "X-Amz-") { // a client's (x-amz-content-sha256, ...): never sent
			req.Header.Del(k)
		}
	}
	for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := signed.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		} else {
			req.Header.Del(k)
		}
	}
	req.URL.RawQuery = u.RawQuery // as signed: the signer's canonical encoding
	if signed.Host != "" {
		req.Host = signed.Host // the host as signed (a default port dropped)
	}
	return nil
}

// mapURL maps the warm-up request and escapes a model id in the path;
// it reports whether the request is one a bedrock upstream is sent.
func (b *bedrockSigner) mapURL(req *http.Request) bool {
	u := req.URL
	rel, ok := strings.CutPrefix(u.Path, b.basePath)
	if !ok {
		return false
	}
	path, query, _ := strings.Cut(BedrockProbePath, "?")
	if req.Method == http.MethodGet && (rel == "/models" || rel == path) { // the pool's warm-up request, or the probe's
		u.Path, u.RawPath, u.RawQuery = b.basePath+path, "", query
		return true
	}
	rest, ok := strings.CutPrefix(rel, "/model/")
	if !ok || req.Method != http.MethodPost {
		return false
	}
	// The operation is the last segment; the id is all before it, "/"
	// included (an ARN's): the request may have come with the id's "/"
	// unescaped.
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 || !bedrockOps[rest[i+1:]] {
		return false
	}
	u.RawPath = b.baseRaw + "/model/" + httpbinding.EscapePath(rest[:i], true) + rest[i:]
	return true
}

// emptySHA256 is the hash of no payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// payloadHash is the hex SHA-256 of req's body, read from GetBody's copy
// (the body itself is the transport's to read).
func payloadHash(req *http.Request) (string, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return emptySHA256, nil
	}
	if req.GetBody == nil {
		return "", errors.New("a Bedrock request is signed over its body, and this one cannot be read twice (no GetBody)")
	}
	body, err := req.GetBody()
	if err != nil {
		return "", fmt.Errorf("reading the body to sign: %w", err)
	}
	defer body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, body); err != nil {
		return "", fmt.Errorf("reading the body to sign: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
