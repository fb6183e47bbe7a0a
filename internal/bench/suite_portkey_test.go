// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindPortkey(t *testing.T) {
	dir := t.TempDir()
	start := filepath.Join(dir, "build", "start-server.js")
	if err := os.MkdirAll(filepath.Dir(start), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(start, []byte("// a stand-in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"@portkey-ai/gateway","version":"1.15.2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		portkey   string
		scenarios []string
		path      string // PATH for node
		want      bool   // node found and Portkey to run
		note      string // in the report's notes, "" for none
	}{
		{"not asked", "", Scenarios, os.Getenv("PATH"), false, ""},
		{"no overhead scenario", start, []string{ScenarioStreaming}, os.Getenv("PATH"), false, ""},
		{"missing file", filepath.Join(dir, "nope.js"), Scenarios, os.Getenv("PATH"), false, "npm install @portkey-ai/gateway"},
		{"no node", start, Scenarios, t.TempDir(), false, "node is not on PATH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			e := &suiteEnv{o: SuiteOptions{Portkey: tc.portkey, Scenarios: tc.scenarios}}
			rep := &SuiteReport{}
			got := e.findPortkey(rep)
			if (got != "") != tc.want {
				t.Errorf("findPortkey = %q, want found=%v", got, tc.want)
			}
			notes := strings.Join(rep.Notes, "\n")
			if tc.note == "" && notes != "" || !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q, want one saying %q", notes, tc.note)
			}
		})
	}
	if v := portkeyVersion(start); v != "@portkey-ai/gateway 1.15.2" {
		t.Errorf("portkeyVersion = %q", v)
	}
	if v := portkeyVersion(filepath.Join(t.TempDir(), "build", "start-server.js")); v != "version unknown" {
		t.Errorf("portkeyVersion without a package.json = %q", v)
	}
	h := portkeyHeader("http://127.0.0.1:1/v1")
	if h.Get("X-Portkey-Provider") != "openai" || h.Get("X-Portkey-Custom-Host") != "http://127.0.0.1:1/v1" {
		t.Errorf("portkeyHeader = %v", h)
	}
}
