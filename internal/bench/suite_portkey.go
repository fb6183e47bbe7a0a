// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
)

// Portkey's open-source AI gateway (npm @portkey-ai/gateway, TypeScript on
// Node.js) is the one of the gateways users compare warmgate with that
// runs here without a network: LiteLLM needs Python packages and Bifrost a
// binary download. The suite runs it, when given its start-server.js, as
// one more proxy of the overhead scenario: the same mock behind it, the
// same load, its process's CPU metered like nginx's. It is told where the
// upstream is per request, by its x-portkey-* headers (portkeyHeader), and
// runs --headless: without its request-log console, which a production
// deployment leaves out too.

// findPortkey returns node's path when the suite should run Portkey, or ""
// (with a note when it was asked for and cannot be run).
func (e *suiteEnv) findPortkey(rep *SuiteReport) string {
	if e.o.Portkey == "" || !slices.Contains(e.o.Scenarios, ScenarioOverhead) {
		return ""
	}
	if _, err := os.Stat(e.o.Portkey); err != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("portkey: %v, so it is missing from the overhead scenario (--portkey names node_modules/@portkey-ai/gateway/build/start-server.js after npm install @portkey-ai/gateway)", err))
		return ""
	}
	node, err := exec.LookPath("node")
	if err != nil {
		rep.Notes = append(rep.Notes, "portkey: node is not on PATH, so Portkey is missing from the overhead scenario (apt-get install nodejs)")
		return ""
	}
	return node
}

// portkeyVersion reads the version from the package.json next to the
// build directory of start-server.js, or says it is unknown.
func portkeyVersion(startServer string) string {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(startServer), "..", "package.json"))
	if err != nil {
		return "version unknown"
	}
	var pkg struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil || pkg.Version == "" {
		return "version unknown"
	}
	return pkg.Name + " " + pkg.Version
}

// portkeyHeader routes a request through Portkey to the OpenAI-compatible
// API at base (the mock's /v1).
func portkeyHeader(base string) http.Header {
	h := http.Header{}
	h.Set("X-Portkey-Provider", "openai")
	h.Set("X-Portkey-Custom-Host", base)
	// Portkey forwards the client's key upstream; the mock takes any.
	h.Set("Authorization", "Bearer sk-bench")
	return h
}

// startPortkey starts Portkey's gateway with node and waits until it
// answers. It returns the process and its origin.
func (e *suiteEnv) startPortkey(ctx context.Context) (*proc, string, error) {
	listen, err := freePort()
	if err != nil {
		return nil, "", err
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, "", err
	}
	// NODE_ENV=production: the same as --headless for its console, and
	// what a deployment sets.
	p, _, err := startProcEnv(ctx, "portkey", e.logDir, e.node,
		[]string{e.o.Portkey, "--port=" + port, "--headless"}, []string{"NODE_ENV=production"}, nil)
	if err != nil {
		return nil, "", err
	}
	origin := "http://" + listen
	if err := p.waitReady(ctx, e.get, origin+"/"); err != nil {
		p.stop()
		return nil, "", err
	}
	e.logf("portkey: pid %d, %s", p.pid(), origin)
	return p, origin, nil
}
