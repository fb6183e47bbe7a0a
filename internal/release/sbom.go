// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package release

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// sbom is the part of a CycloneDX 1.5 bill of materials that a Go binary's
// build information fills: the main module, every module compiled in, and
// the Go standard library.
type sbom struct {
	BOMFormat    string        `json:"bomFormat"`
	SpecVersion  string        `json:"specVersion"`
	SerialNumber string        `json:"serialNumber"`
	Version      int           `json:"version"`
	Metadata     sbomMetadata  `json:"metadata"`
	Components   []sbomComp    `json:"components"`
	Dependencies []sbomDepends `json:"dependencies"`
}

type sbomMetadata struct {
	Timestamp string     `json:"timestamp"`
	Tools     sbomTools  `json:"tools"`
	Component sbomComp   `json:"component"`
	Props     []sbomProp `json:"properties,omitempty"`
}

type sbomTools struct {
	Components []sbomComp `json:"components"`
}

type sbomComp struct {
	Type     string        `json:"type"`
	BOMRef   string        `json:"bom-ref,omitempty"`
	Name     string        `json:"name"`
	Version  string        `json:"version,omitempty"`
	PURL     string        `json:"purl,omitempty"`
	Licenses []sbomLicense `json:"licenses,omitempty"`
}

type sbomLicense struct {
	License struct {
		ID string `json:"id"`
	} `json:"license"`
}

type sbomProp struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type sbomDepends struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// writeSBOM reads the module list the go command recorded in bin and
// writes it as CycloneDX JSON.
func writeSBOM(path, bin string, c Config, t Target) error {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return err
	}
	main := sbomComp{Type: "application", Name: bi.Main.Path, Version: c.Version,
		PURL: purl(bi.Main.Path, c.Version) + "?goos=" + t.OS + "&goarch=" + t.Arch}
	main.BOMRef = main.PURL
	var apache sbomLicense
	apache.License.ID = "Apache-2.0"
	main.Licenses = []sbomLicense{apache}
	doc := sbom{
		BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		SerialNumber: serial(c.Version, c.Commit, t),
		Metadata: sbomMetadata{
			Timestamp: c.Date.UTC().Format(time.RFC3339),
			Tools:     sbomTools{Components: []sbomComp{{Type: "application", Name: "warmgate release", Version: c.Version}}},
			Component: main,
			Props: []sbomProp{{Name: "vcs.revision", Value: c.Commit},
				{Name: "goos", Value: t.OS}, {Name: "goarch", Value: t.Arch}},
		},
	}
	std := sbomComp{Type: "library", Name: "std", Version: bi.GoVersion, PURL: purl("std", bi.GoVersion)}
	std.BOMRef = std.PURL
	doc.Components = append(doc.Components, std)
	deps := sbomDepends{Ref: main.BOMRef, DependsOn: []string{std.BOMRef}}
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		comp := sbomComp{Type: "library", Name: m.Path, Version: m.Version, PURL: purl(m.Path, m.Version)}
		comp.BOMRef = comp.PURL
		doc.Components = append(doc.Components, comp)
		deps.DependsOn = append(deps.DependsOn, comp.BOMRef)
	}
	doc.Dependencies = []sbomDepends{deps}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// purl is a Go module's package URL (pkg:golang/path@version), the
// version's "+" escaped as the purl spec asks.
func purl(path, version string) string {
	return "pkg:golang/" + path + "@" + strings.ReplaceAll(version, "+", "%2B")
}

// serial is the SBOM's serial number: a UUID made from what the SBOM
// describes, so the same build gives the same document.
func serial(version, commit string, t Target) string {
	h := sha256.Sum256([]byte(version + "\x00" + commit + "\x00" + t.String()))
	h[6] = h[6]&0x0f | 0x50 // a name-based UUID's version nibble
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
