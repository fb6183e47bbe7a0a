// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSystemdUnit checks deploy/systemd/warmgate.service with systemd's own
// tools where they exist: `systemd-analyze verify` must print nothing (an
// unknown or misspelled key is a warning there), and the offline security
// review must rate the unit's exposure low. The unit's binary path is
// pointed at an existing program for the check.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("systemd", "warmgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStart=/usr/local/bin/warmgate serve --config /etc/warmgate/warmgate.yaml",
		"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=warmgate", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=\n", "#AmbientCapabilities=CAP_NET_BIND_SERVICE", "ExecReload=/bin/kill -HUP $MAINPID",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found (Debian package systemd): the unit's syntax is not verified")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "warmgate.service")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/warmgate"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Skipf("systemd-analyze security --offline is not available here (%v): exposure not rated\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for warmgate\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f (0 = locked down, 10 = exposed)", level)
	if level > 2.0 {
		lines := strings.Split(string(out), "\n")
		t.Errorf("exposure %.1f, want ≤ 2.0 (\"OK\"):\n%s", level, strings.Join(lines[:min(len(lines), 80)], "\n"))
	}
}
