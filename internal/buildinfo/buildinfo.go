// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package buildinfo says which warmgate a binary is: its version, the
// commit it was built from, whether that tree had uncommitted changes, and
// the Go version. A release build stamps them with -ldflags (see
// cmd/release); otherwise they come from what the Go toolchain recorded in
// the binary: the module version for `go install ...@vX.Y.Z`, the VCS
// revision and dirty flag for a build from a git checkout.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by release builds:
//
//	-ldflags "-X github.com/warmgate/warmgate/internal/buildinfo.version=v1.2.3
//	          -X github.com/warmgate/warmgate/internal/buildinfo.commit=<sha>
//	          -X github.com/warmgate/warmgate/internal/buildinfo.date=<RFC 3339>"
var version, commit, date string

// Info is what a binary knows of its own build.
type Info struct {
	// Version is the release version ("v1.2.3"), the module version of a
	// `go install` ("v1.2.3" or a pseudo-version), the pseudo-version the
	// go command makes for a build in a git checkout ("v0.0.0-<time>-<commit>",
	// "+dirty" after it for a modified tree), or "dev" when nothing says.
	Version string `json:"version"`
	// Commit is the full VCS revision, the short one a pseudo-version
	// names, or "unknown" (a `go install` of a tagged version records no
	// revision).
	Commit string `json:"commit"`
	// Dirty reports that the source tree had uncommitted changes.
	Dirty bool `json:"dirty,omitempty"`
	// Date is the commit time of a source build or the build time of a
	// release, RFC 3339; empty when unknown.
	Date string `json:"date,omitempty"`
	// Go is the Go version the binary was built with.
	Go string `json:"go"`
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(bi, version, commit, date)
}

// resolve merges the ldflags values (which win) with the toolchain's
// record bi (which may be nil).
func resolve(bi *debug.BuildInfo, ver, rev, when string) Info {
	in := Info{Version: ver, Commit: rev, Date: when, Go: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			in.Go = bi.GoVersion
		}
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.modified":
				if rev == "" { // a release's ldflags say which commit; the flag is the build tree's
					in.Dirty = s.Value == "true"
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			}
		}
		if in.Commit == "" {
			in.Commit = pseudoRevision(in.Version)
		}
	}
	if in.Version == "" {
		in.Version = "dev"
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	return in
}

// pseudoRevision is the short commit hash a pseudo-version ends with
// ("v0.0.0-20261206052805-2c5127f0a1b2" → "2c5127f0a1b2", "+dirty" or
// "+incompatible" after it), or "".
func pseudoRevision(v string) string {
	v, _, _ = strings.Cut(v, "+") // "+incompatible", "+dirty"
	i := strings.LastIndexByte(v, '-')
	if i < 0 || len(v)-i-1 != 12 {
		return ""
	}
	h := v[i+1:]
	// The part before the hash is a 14-digit UTC timestamp.
	j := strings.LastIndexAny(v[:i], "-.")
	if j < 0 || i-j-1 != 14 {
		return ""
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	return h
}

// Short is the commit cut to 12 characters, as git and pseudo-versions
// show it.
func (in Info) Short() string {
	if len(in.Commit) > 12 {
		return in.Commit[:12]
	}
	return in.Commit
}

// String is the one-line form `warmgate version` prints:
// "v1.2.3 (commit 2c5127f0a1b2, go1.26.8)", with "-dirty" after a commit
// built from a modified tree.
func (in Info) String() string {
	c := in.Short()
	if in.Dirty {
		c += "-dirty"
	}
	return in.Version + " (commit " + c + ", " + in.Go + ")"
}
