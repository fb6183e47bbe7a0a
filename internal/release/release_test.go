// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// TestBuildHost builds a release for this machine's platform from this
// checkout, then checks what a user downloading it would: the archive
// holds the binary, LICENSE and README.md; the binary reports the stamped
// version and commit; the checksums file matches; the SBOM lists the
// modules of go.mod at their versions; and a second build gives the same
// bytes.
func TestBuildHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds warmgate: not in -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	host := HostTarget()
	if host.OS == "windows" {
		t.Skip("the test unpacks the .tar.gz of a unix host")
	}
	const commit = "0123456789abcdef0123456789abcdef01234567"
	c := Config{Version: "v1.2.3-test", Commit: commit, Date: time.Date(2026, 12, 6, 5, 28, 5, 0, time.UTC),
		Root: filepath.Join("..", ".."), Out: t.TempDir(), Targets: []Target{host}}
	a, err := Build(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Archives) != 1 || len(a.SBOMs) != 1 {
		t.Fatalf("artifacts %+v, want one archive and one SBOM", a)
	}
	name := "warmgate_1.2.3-test_" + host.OS + "_" + host.Arch
	if got := filepath.Base(a.Archives[0]); got != name+".tar.gz" {
		t.Errorf("archive %s, want %s.tar.gz", got, name)
	}

	// Unpack, and run the binary.
	files := untar(t, a.Archives[0])
	for _, f := range []string{"warmgate", "LICENSE", "README.md"} {
		if _, ok := files[name+"/"+f]; !ok {
			t.Errorf("the archive lacks %s/%s (has %v)", name, f, keys(files))
		}
	}
	bin := filepath.Join(t.TempDir(), "warmgate")
	if err := os.WriteFile(bin, files[name+"/warmgate"], 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "warmgate v1.2.3-test (commit 0123456789ab, " + runtime.Version()
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("version = %q, want it to start %q", out, want)
	}
	out, err = exec.Command(bin, "version", "--json").Output()
	if err != nil || !bytes.Contains(out, []byte(`"date": "2026-12-06T05:28:05Z"`)) || bytes.Contains(out, []byte("dirty")) {
		t.Errorf("version --json = %s (%v), want the stamped date and no dirty flag", out, err)
	}

	// The checksums file covers both artifacts, in sha256sum's format.
	sums, err := os.ReadFile(a.Checksums)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(a.Archives, a.SBOMs...) {
		sum, err := fileSHA256(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(sums, []byte(sum+"  "+filepath.Base(f)+"\n")) {
			t.Errorf("checksums lack %s's:\n%s", filepath.Base(f), sums)
		}
	}

	// The SBOM: CycloneDX, the main module at the release version, and
	// each module go.mod requires directly, at its version.
	var doc struct {
		BOMFormat, SpecVersion string
		Metadata               struct {
			Component struct{ Name, Version string }
		}
		Components []struct{ Name, Version, Purl string }
	}
	b, err := os.ReadFile(a.SBOMs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" || doc.Metadata.Component.Name != "github.com/warmgate/warmgate" || doc.Metadata.Component.Version != "v1.2.3-test" {
		t.Errorf("SBOM header: %s %s %+v", doc.BOMFormat, doc.SpecVersion, doc.Metadata.Component)
	}
	got := map[string]string{}
	for _, comp := range doc.Components {
		got[comp.Name] = comp.Version
	}
	if got["std"] != runtime.Version() {
		t.Errorf("SBOM std = %q, want %s", got["std"], runtime.Version())
	}
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"github.com/spf13/cobra", "github.com/prometheus/client_golang", "golang.org/x/net"} {
		var ver string
		for _, req := range mf.Require {
			if req.Mod.Path == r {
				ver = req.Mod.Version
			}
		}
		if ver == "" || got[r] != ver {
			t.Errorf("SBOM lists %s at %q, go.mod requires %q", r, got[r], ver)
		}
	}

	// Reproducible: the same inputs, the same bytes.
	c.Out = t.TempDir()
	a2, err := Build(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	sums2, err := os.ReadFile(a2.Checksums)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sums, sums2) {
		t.Errorf("two builds differ:\n%s\n%s", sums, sums2)
	}
}

func TestZipArchive(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "warmgate.exe")
	if err := os.WriteFile(src, []byte("MZ binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "a.zip")
	mtime := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	if err := writeZip(out, "warmgate_1.0.0_windows_amd64", []archiveFile{{name: "warmgate.exe", path: src, mode: 0o755}}, mtime); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "warmgate_1.0.0_windows_amd64/warmgate.exe" || !zr.File[0].Modified.Equal(mtime) {
		t.Fatalf("zip holds %+v", zr.File)
	}
	rc, _ := zr.File[0].Open()
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "MZ binary" {
		t.Errorf("content %q", b)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		ok   bool
	}{
		{"linux/amd64", Target{"linux", "amd64"}, true},
		{"windows/arm64", Target{"windows", "arm64"}, true},
		{"linux", Target{}, false},
		{"linux/", Target{}, false},
		{"a/b/c", Target{}, false},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseTarget(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func untar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
