// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider

// Kind azure: Azure OpenAI. It speaks OpenAI's dialect (requests, answers,
// streams and errors are relayed byte for byte); what differs is where a
// request goes and how it is authenticated.
//
// Two URL styles:
//
//   - the v1 API: a base URL ending in /openai/v1
//     (https://RESOURCE.openai.azure.com/openai/v1). OpenAI's paths under
//     it as they are; the body's model is the deployment name. No
//     api-version is needed (one set in the config is sent as the
//     api-version query, e.g. "preview").
//   - the deployment style: any other base URL (the resource's root,
//     https://RESOURCE.openai.azure.com). A request for model M to
//     /chat/completions, /completions or /embeddings goes to
//     /openai/deployments/{deployments[M], or M}/chat/completions, and
//     any other path P to /openai/P, each with ?api-version=API_VERSION
//     (DefaultAzureAPIVersion unless the config names one).
//
// Credentials: the key goes out as "api-key: KEY", never Authorization;
// or, instead of a key, a Microsoft Entra ID access token goes out as
// "Authorization: Bearer TOKEN", from an environment variable (read once)
// or a file, read again whenever the file changes (its modification time
// or size), so that whatever renews the token (a sidecar, a cron job
// running az account get-access-token) only has to rewrite the file.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Azure is Azure OpenAI.
const Azure Kind = "azure"

// DefaultAzureAPIVersion is the api-version sent in Azure's deployment
// style when the config names none: the latest generally available
// version of the data-plane API (not a preview, which Azure retires
// sooner).
const DefaultAzureAPIVersion = "2024-10-21"

// azureV1 is the path of Azure OpenAI's v1 API under the resource's URL.
const azureV1 = "/openai/v1"

// azureDeploymentPaths are the request paths that Azure's deployment style
// serves under /openai/deployments/{deployment}.
var azureDeploymentPaths = map[string]bool{
	"/chat/completions": true, "/completions": true, "/embeddings": true,
	"/audio/transcriptions": true, "/audio/translations": true, "/audio/speech": true, "/images/generations": true,
}

// azureSpec is kind azure's row in kinds.
var azureSpec = spec{
	dialect: DialectOpenAI,
	base: func(u *url.URL) {
		// The deployment style's base is the resource's root: requests go
		// under its /openai (a base URL given with /openai is taken too).
		if !strings.HasSuffix(u.Path, azureV1) {
			u.Path = strings.TrimSuffix(u.Path, "/openai") + "/openai"
		}
	},
	build: buildAzure,
}

// buildAzure checks the settings of a kind azure upstream and makes its
// headers and request hook.
func buildAzure(s Settings, e *Endpoint) error {
	u, _ := url.Parse(e.BaseURL) // New made it
	v1 := strings.HasSuffix(u.Path, azureV1)
	switch {
	case s.AnthropicVersion != "":
		return errors.New("anthropic_version applies to kind anthropic only")
	case v1 && len(s.Deployments) > 0:
		return errors.New("deployments apply to the deployment style only: the v1 API (base_url ending in /openai/v1) takes the deployment name as the model; " +
			"remove deployments, or set base_url to the resource's root (https://RESOURCE.openai.azure.com) with api_version")
	case s.APIKey != "" && (s.EntraToken != "" || s.EntraTokenFile != ""):
		return errors.New("set an API key or a Microsoft Entra ID token, not both")
	case s.EntraToken != "" && s.EntraTokenFile != "":
		return errors.New("set entra_token_env or entra_token_file, not both")
	}
	if err := CheckAPIVersion(s.APIVersion); s.APIVersion != "" && err != nil {
		return err
	}
	switch {
	case s.APIKey != "":
		e.Header = http.Header{"Api-Key": {s.APIKey}}
	case s.EntraToken != "":
		e.Header = http.Header{"Authorization": {"Bearer " + s.EntraToken}}
	}
	a := &azure{base: u.Path, v1: v1, deployments: s.Deployments}
	switch {
	case s.APIVersion != "":
		a.query = "api-version=" + url.QueryEscape(s.APIVersion)
	case !v1:
		a.query = "api-version=" + DefaultAzureAPIVersion
	}
	if s.EntraTokenFile != "" {
		a.token = &tokenFile{path: s.EntraTokenFile}
		if _, err := a.token.get(); err != nil {
			return err
		}
	}
	e.Passes = []string{"Openai-Beta"}
	e.Prepare = a.prepare
	if a.query != "" { // GET /openai/models?api-version=... or /openai/v1/models: the models the resource offers
		e.ProbePath += "?" + a.query
	}
	return nil
}

// CheckAPIVersion reports whether v has the shape of an Azure api-version:
// a date, YYYY-MM-DD, optionally with a suffix such as "-preview", or
// "preview" or "latest" (the v1 API's).
func CheckAPIVersion(v string) error {
	if v == "preview" || v == "latest" {
		return nil
	}
	if len(v) >= 10 {
		if _, err := time.Parse(time.DateOnly, v[:10]); err == nil && (len(v) == 10 || v[10] == '-') {
			return nil
		}
	}
	return fmt.Errorf("api_version %q is not an Azure API version (use a date such as \"2024-10-21\" or \"2025-04-01-preview\")", v)
}

// azure is one kind azure upstream's request hook.
type azure struct {
	base        string // the base URL's path: .../openai or .../openai/v1
	v1          bool
	query       string            // "api-version=..." or ""
	deployments map[string]string // model → deployment
	token       *tokenFile        // the Entra ID token's file, or nil
}

// prepare maps the request's URL to Azure's and sets the token read from
// its file, if any.
func (a *azure) prepare(req *http.Request) error {
	if a.token != nil {
		tok, err := a.token.get()
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if !a.v1 {
		rel := strings.TrimPrefix(req.URL.Path, a.base)
		if azureDeploymentPaths[rel] {
			model, err := requestModel(req)
			if err != nil {
				return err
			}
			d := model
			if m, ok := a.deployments[model]; ok {
				d = m
			}
			if d == "" || d == "." || d == ".." {
				return fmt.Errorf("azure: no deployment for model %q: name a model (or map it in deployments)", d)
			}
			req.URL.Path = a.base + "/deployments/" + d + rel
			req.URL.RawPath = a.base + "/deployments/" + url.PathEscape(d) + rel
		}
	}
	if a.query != "" {
		if req.URL.RawQuery == "" {
			req.URL.RawQuery = a.query
		} else {
			q := req.URL.Query()
			q.Del("api-version")
			req.URL.RawQuery = a.query + "&" + q.Encode()
		}
	}
	return nil
}

// modelKey is the context key of WithModel.
type modelKey struct{}

// WithModel returns ctx carrying the model a request is for, as the
// upstream should see it (aliases applied): a kind whose URL depends on the
// model (azure's deployments) reads it from there instead of the body.
func WithModel(ctx context.Context, model string) context.Context {
	return context.WithValue(ctx, modelKey{}, model)
}

// requestModel is the model req is for: the one its context carries
// (WithModel), else its body's "model" (read from GetBody's copy).
func requestModel(req *http.Request) (string, error) {
	if m, ok := req.Context().Value(modelKey{}).(string); ok {
		return m, nil
	}
	if req.GetBody == nil {
		return "", nil
	}
	body, err := req.GetBody()
	if err != nil {
		return "", err
	}
	defer body.Close()
	var env struct {
		Model string `json:"model"`
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&env); err != nil {
		return "", nil // not JSON (a form): no model
	}
	return env.Model, nil
}

// tokenFile is a bearer token kept in a file, read again when the file
// changes.
type tokenFile struct {
	path string

	mu    sync.Mutex
	mod   time.Time
	size  int64
	token string
}

// get returns the file's token, reading the file again when its
// modification time or size changed. A file that cannot be read or is
// empty keeps the last token read (a renewal may be half done); with
// none, it is an error naming the file.
func (t *tokenFile) get() (string, error) {
	fi, err := os.Stat(t.path)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil && (!fi.ModTime().Equal(t.mod) || fi.Size() != t.size) {
		var b []byte
		if b, err = os.ReadFile(t.path); err == nil {
			if tok := strings.TrimSpace(string(b)); tok != "" {
				t.token, t.mod, t.size = tok, fi.ModTime(), fi.Size()
			} else {
				err = errors.New("the file is empty")
			}
		}
	}
	if t.token == "" {
		if err == nil {
			err = errors.New("the file is empty")
		}
		return "", fmt.Errorf("entra_token_file %s: %w (it must hold a Microsoft Entra ID access token)", t.path, unwrapPath(err))
	}
	return t.token, nil
}

// unwrapPath drops the path from an *os.PathError, which the message
// already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
