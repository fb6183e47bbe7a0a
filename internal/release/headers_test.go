// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package release

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// licenseHeader opens every Go source file of the repository: who holds
// the copyright, and the license by its SPDX identifier (the LICENSE file
// at the root has its text).
const licenseHeader = "// Copyright 2026 The warmgate Authors\n// SPDX-License-Identifier: Apache-2.0\n\n"

var addHeaders = flag.Bool("add-headers", false, "add the license header to the Go files that lack it")

// TestLicenseHeaders: every Go file in the repository starts with
// licenseHeader. Fix with:
//
//	go test ./internal/release -run TestLicenseHeaders -add-headers
func TestLicenseHeaders(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("not at the repository root: %v", err)
	}
	var missing []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// testdata holds inputs, not our sources; dot directories
			// (.git) and build outputs are not the repository's files.
			if path != root && (name == "testdata" || name == "dist" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(b, []byte(licenseHeader)) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if !*addHeaders {
			missing = append(missing, rel)
			return nil
		}
		return os.WriteFile(path, append([]byte(licenseHeader), b...), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("%d Go files lack the license header (%q), e.g. %s; add it with:\n\tgo test ./internal/release -run TestLicenseHeaders -add-headers",
			len(missing), strings.TrimSpace(licenseHeader), strings.Join(missing[:min(5, len(missing))], ", "))
	}
}
