// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// TestVersionJSON: --json gives the same facts as fields.
func TestVersionJSON(t *testing.T) {
	out, err := execute(t, t.Context(), "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version, Commit, Go string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Version == "" || v.Commit == "" || !strings.HasPrefix(v.Go, "go1.") {
		t.Fatalf("version --json = %q (%v)", out, err)
	}
}

// goTool returns the go command, or skips the test.
func goTool(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds warmgate: not in -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	return gobin
}

// repoRoot is the root of the git checkout the test runs in, or skips.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout (%v): the VCS stamp cannot be checked", err)
	}
	root := strings.TrimSpace(string(out))
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		// The go command (and x/mod's zip) find git only by a .git
		// directory: a linked worktree's .git file stamps nothing.
		t.Skip("a linked git worktree: the go command records no VCS information here; run in a clone")
	}
	return root
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// TestVersionFromSourceBuild builds warmgate from this checkout as a user
// would and checks that `warmgate version` names the checkout's commit,
// with -dirty exactly when the tree has uncommitted changes.
func TestVersionFromSourceBuild(t *testing.T) {
	gobin := goTool(t)
	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "warmgate")
	// -buildvcs=true: some machines set GOFLAGS=-buildvcs=false, which
	// would leave the commit out. -trimpath and no cgo, as the release
	// build and the go install below: the three share one build cache.
	build := exec.Command(gobin, "build", "-trimpath", "-buildvcs=true", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	// The go command names a checkout's build by a pseudo-version
	// ("v0.0.0-<time>-<commit>[+dirty]"); the commit is the fact to check.
	head := git(t, root, "rev-parse", "HEAD")
	want := "(commit " + head[:12]
	if git(t, root, "status", "--porcelain") != "" {
		want += "-dirty"
	}
	if !strings.HasPrefix(string(out), "warmgate v") || !strings.Contains(string(out), want+", go1.") {
		t.Errorf("version = %q, want a version and %q", out, want+", go1.")
	}
}

// TestVersionFromGoInstall installs a tagged warmgate with `go install
// ...@v0.99.0` from a module proxy in a directory (this checkout's HEAD,
// zipped as the proxy protocol serves it; dependencies through the usual
// proxy or the module cache) and checks that it reports v0.99.0.
func TestVersionFromGoInstall(t *testing.T) {
	gobin := goTool(t)
	root := repoRoot(t)
	const ver = "v0.99.0"
	mod := module.Version{Path: "github.com/warmgate/warmgate", Version: ver}
	proxy := t.TempDir()
	dir := filepath.Join(proxy, "github.com", "warmgate", "warmgate", "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(dir, ver+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.CreateFromVCS(zf, mod, root, "HEAD", ""); err != nil {
		t.Fatalf("zipping HEAD as %s: %v", ver, err)
	}
	if err := zf.Close(); err != nil {
		t.Fatal(err)
	}
	gomod := git(t, root, "show", "HEAD:go.mod")
	info, _ := json.Marshal(map[string]string{"Version": ver, "Time": time.Now().UTC().Format(time.RFC3339)})
	for name, body := range map[string]string{ver + ".mod": gomod + "\n", ver + ".info": string(info), "list": ver + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	upstreamProxy := strings.TrimSpace(goEnv(t, gobin, "GOPROXY"))
	gopath := t.TempDir()
	cmd := exec.Command(gobin, "install", "github.com/warmgate/warmgate/cmd/warmgate@"+ver)
	cmd.Env = append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+","+upstreamProxy,
		"GONOSUMDB=github.com/warmgate/warmgate", "GOFLAGS=-trimpath", "CGO_ENABLED=0", "GOWORK=off",
		"GOBIN="+gopath, // the module cache and build cache stay the user's
	)
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(gopath, "warmgate"), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "warmgate "+ver+" (commit unknown, go1.") {
		t.Errorf("version = %q, want %s", out, ver)
	}
}

func goEnv(t *testing.T, gobin, name string) string {
	t.Helper()
	out, err := exec.Command(gobin, "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
