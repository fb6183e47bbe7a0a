// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/warmgate/warmgate/internal/provider"
)

// The keys of kind azure (Azure OpenAI): api_version, deployments, and a
// Microsoft Entra ID token in place of a key (entra_token_env,
// entra_token_file).

// resolveEntraToken fills EntraToken from EntraTokenEnv, and checks that
// EntraTokenFile can be read now (the gateway reads it again whenever it
// changes). Messages name variables and files, never values.
func (u *Upstream) resolveEntraToken(p *problems, key string, getenv func(string) string) {
	switch {
	case u.EntraTokenEnv != "" && u.EntraTokenFile != "":
		p.at(key+".entra_token_file", "set entra_token_env or entra_token_file, not both")
	case u.EntraTokenEnv != "":
		u.EntraToken = secretFromEnv(p, key+".entra_token_env", u.EntraTokenEnv, "the Entra ID token of upstream "+quoteName(u.Name, key), getenv)
	case u.EntraTokenFile != "":
		b, err := os.ReadFile(u.EntraTokenFile)
		switch {
		case err != nil:
			p.at(key+".entra_token_file", "cannot read the Entra ID token of upstream %s: %v", quoteName(u.Name, key), err)
		case strings.TrimSpace(string(b)) == "":
			p.at(key+".entra_token_file", "file %q (the Entra ID token of upstream %s) is empty", u.EntraTokenFile, quoteName(u.Name, key))
		}
	}
}

// validateAzure checks the keys of kind azure: on another kind they are a
// mistake; on kind azure, their values.
func (u *Upstream) validateAzure(p *problems, key string, kind provider.Kind) {
	set := map[string]bool{"api_version": u.APIVersion != "", "deployments": len(u.Deployments) > 0,
		"entra_token_env": u.EntraTokenEnv != "", "entra_token_file": u.EntraTokenFile != ""}
	if kind != provider.Azure {
		for _, k := range []string{"api_version", "deployments", "entra_token_env", "entra_token_file"} {
			if set[k] {
				p.at(key+"."+k, "%s applies to kind: azure only (this upstream is kind %s): set kind: azure, or remove it", k, kind)
			}
		}
		return
	}
	if u.APIVersion != "" {
		if err := provider.CheckAPIVersion(u.APIVersion); err != nil {
			p.at(key+".api_version", "%v", err)
		}
	}
	if (u.EntraTokenEnv != "" || u.EntraTokenFile != "") && (u.APIKeyEnv != "" || u.APIKeyFile != "") {
		k := "entra_token_env"
		if u.EntraTokenFile != "" {
			k = "entra_token_file"
		}
		p.at(key+"."+k, "an Azure upstream takes an API key (api_key_env, api_key_file) or a Microsoft Entra ID token (entra_token_env, entra_token_file), not both: remove one")
	}
	if len(u.Deployments) > 0 && strings.HasSuffix(strings.TrimRight(u.BaseURL, "/"), "/openai/v1") {
		p.at(key+".deployments", "deployments apply to Azure's deployment style; with the v1 API (base_url ending in /openai/v1) the model is the deployment name: "+
			"remove deployments, or set base_url to the resource's root (https://RESOURCE.openai.azure.com)")
	}
	for _, m := range sortedKeys(u.Deployments) {
		k := fmt.Sprintf("%s.deployments[%q]", key, m)
		switch d := u.Deployments[m]; {
		case strings.TrimSpace(m) == "":
			p.at(k, "the model name is empty")
		case strings.TrimSpace(d) == "":
			p.at(k, "model %q maps to an empty deployment name (name the deployment as the Azure portal shows it)", m)
		case strings.ContainsAny(d, "/?#") || d == "." || d == "..":
			p.at(k, "%q is not a deployment name (letters, digits, -, _ and .)", d)
		}
	}
}
