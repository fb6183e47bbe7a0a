// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package release builds warmgate's release artifacts: for each target
// platform a binary stamped with the version, commit and date
// (internal/buildinfo), packed with LICENSE and README.md into a .tar.gz
// (a .zip for Windows), a CycloneDX SBOM of the modules compiled into it,
// and one SHA-256 checksums file over everything. Archives are
// reproducible: the same commit, version and Go give the same bytes.
//
// cmd/release is its command line; the tests build the host's target and
// run the result.
package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// DefaultTargets are the platforms a release is built for.
var DefaultTargets = []Target{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// Target is one platform: GOOS and GOARCH.
type Target struct{ OS, Arch string }

func (t Target) String() string { return t.OS + "/" + t.Arch }

// ParseTarget reads "linux/amd64".
func ParseTarget(s string) (Target, error) {
	os, arch, ok := strings.Cut(s, "/")
	if !ok || os == "" || arch == "" || strings.Contains(arch, "/") {
		return Target{}, fmt.Errorf("target %q: want GOOS/GOARCH, e.g. linux/amd64", s)
	}
	return Target{os, arch}, nil
}

// HostTarget is the platform this program runs on.
func HostTarget() Target { return Target{runtime.GOOS, runtime.GOARCH} }

// Config says what to build.
type Config struct {
	// Version is stamped into the binaries and names the archives
	// ("v1.2.3"); required.
	Version string
	// Commit is the full revision stamped into the binaries; required.
	Commit string
	// Date is the commit's time: stamped into the binaries, and the
	// modification time of every archived file (so archives are
	// reproducible). Zero means the Unix epoch.
	Date time.Time
	// Root is the module's root directory (holding go.mod, LICENSE and
	// README.md).
	Root string
	// Out is the directory the artifacts are written to; created if
	// missing.
	Out string
	// Targets to build; empty means DefaultTargets.
	Targets []Target
	// Go is the go command; empty means "go" on PATH.
	Go string
	// Log, if not nil, gets a line per step.
	Log io.Writer
}

// Artifacts lists what Build wrote, as paths under Config.Out.
type Artifacts struct {
	Archives  []string
	SBOMs     []string
	Checksums string
}

// Package is the main package built.
const Package = "./cmd/warmgate"

const buildinfoPkg = "github.com/warmgate/warmgate/internal/buildinfo"

// Build builds every target and writes the archives, SBOMs and checksums.
func Build(ctx context.Context, c Config) (*Artifacts, error) {
	if c.Version == "" || c.Commit == "" {
		return nil, fmt.Errorf("release: a version and a commit are required")
	}
	if !strings.HasPrefix(c.Version, "v") {
		return nil, fmt.Errorf("release: version %q must start with v (as Go module versions do: v1.2.3)", c.Version)
	}
	if c.Go == "" {
		c.Go = "go"
	}
	if len(c.Targets) == 0 {
		c.Targets = DefaultTargets
	}
	if c.Date.IsZero() {
		c.Date = time.Unix(0, 0)
	}
	c.Date = c.Date.UTC()
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "warmgate-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	extras := []string{"LICENSE", "README.md"}
	for _, f := range extras {
		if _, err := os.Stat(filepath.Join(c.Root, f)); err != nil {
			return nil, fmt.Errorf("release: %s is missing from %s", f, c.Root)
		}
	}
	var a Artifacts
	for _, t := range c.Targets {
		name := "warmgate_" + strings.TrimPrefix(c.Version, "v") + "_" + t.OS + "_" + t.Arch
		bin := filepath.Join(work, name, "warmgate")
		if t.OS == "windows" {
			bin += ".exe"
		}
		logf(c.Log, "building %s", t)
		if err := goBuild(ctx, c, t, bin); err != nil {
			return nil, err
		}
		files := []archiveFile{{name: filepath.Base(bin), path: bin, mode: 0o755}}
		for _, f := range extras {
			files = append(files, archiveFile{name: f, path: filepath.Join(c.Root, f), mode: 0o644})
		}
		arch := filepath.Join(c.Out, name+".tar.gz")
		if t.OS == "windows" {
			arch = filepath.Join(c.Out, name+".zip")
			err = writeZip(arch, name, files, c.Date)
		} else {
			err = writeTarGz(arch, name, files, c.Date)
		}
		if err != nil {
			return nil, fmt.Errorf("release: archiving %s: %w", t, err)
		}
		sbom := filepath.Join(c.Out, name+".sbom.cdx.json")
		if err := writeSBOM(sbom, bin, c, t); err != nil {
			return nil, fmt.Errorf("release: SBOM of %s: %w", t, err)
		}
		a.Archives = append(a.Archives, arch)
		a.SBOMs = append(a.SBOMs, sbom)
		logf(c.Log, "wrote %s and %s", filepath.Base(arch), filepath.Base(sbom))
	}
	a.Checksums = filepath.Join(c.Out, "warmgate_"+strings.TrimPrefix(c.Version, "v")+"_checksums.txt")
	if err := writeChecksums(a.Checksums, append(append([]string{}, a.Archives...), a.SBOMs...)); err != nil {
		return nil, err
	}
	return &a, nil
}

// LDFlags are the linker flags that stamp the build.
func LDFlags(c Config) string {
	return strings.Join([]string{
		"-s", "-w",
		"-X", buildinfoPkg + ".version=" + c.Version,
		"-X", buildinfoPkg + ".commit=" + c.Commit,
		"-X", buildinfoPkg + ".date=" + c.Date.UTC().Format(time.RFC3339),
	}, " ")
}

// goBuild builds Package for t into bin: static (no cgo), paths trimmed,
// no VCS stamp of the build tree (the ldflags say which commit).
func goBuild(ctx context.Context, c Config, t Target, bin string) error {
	cmd := exec.CommandContext(ctx, c.Go, "build", "-trimpath", "-buildvcs=false", "-ldflags", LDFlags(c), "-o", bin, Package)
	cmd.Dir = c.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch, "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("release: go build for %s: %v\n%s", t, err, out)
	}
	return nil
}

// writeChecksums writes "sha256  name" lines, as sha256sum prints them and
// `sha256sum -c` checks them, sorted by name.
func writeChecksums(path string, files []string) error {
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		sum, err := fileSHA256(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, filepath.Base(f))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
