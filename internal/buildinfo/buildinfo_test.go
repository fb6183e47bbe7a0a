// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-06T05:28:05Z"}, {Key: "vcs.modified", Value: modified}}
	}
	const sha = "2c5127f0a1b2c3d4e5f60718293a4b5c6d7e8f90"
	tests := []struct {
		name           string
		bi             *debug.BuildInfo
		ver, rev, date string
		want           Info
		str            string
	}{
		{"no build info", nil, "", "", "", Info{Version: "dev", Commit: "unknown"}, "dev (commit unknown, go1.26.8)"},
		{"source build, clean", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs(sha, "false")}, "", "", "",
			Info{Version: "dev", Commit: sha, Date: "2026-12-06T05:28:05Z"}, "dev (commit 2c5127f0a1b2, go1.26.8)"},
		{"source build, dirty", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs(sha, "true")}, "", "", "",
			Info{Version: "dev", Commit: sha, Dirty: true, Date: "2026-12-06T05:28:05Z"}, "dev (commit 2c5127f0a1b2-dirty, go1.26.8)"},
		{"go install of a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, "", "", "",
			Info{Version: "v1.2.3", Commit: "unknown"}, "v1.2.3 (commit unknown, go1.26.8)"},
		{"go install of a pseudo-version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261206052805-2c5127f0a1b2"}}, "", "", "",
			Info{Version: "v0.0.0-20261206052805-2c5127f0a1b2", Commit: "2c5127f0a1b2"}, "v0.0.0-20261206052805-2c5127f0a1b2 (commit 2c5127f0a1b2, go1.26.8)"},
		{"pseudo-version after a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.4-0.20261206052805-2c5127f0a1b2"}}, "", "", "",
			Info{Version: "v1.2.4-0.20261206052805-2c5127f0a1b2", Commit: "2c5127f0a1b2"}, "v1.2.4-0.20261206052805-2c5127f0a1b2 (commit 2c5127f0a1b2, go1.26.8)"},
		{"source build with Go's pseudo-version, dirty", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261206052805-2c5127f0a1b2+dirty"}, Settings: vcs(sha, "true")}, "", "", "",
			Info{Version: "v0.0.0-20261206052805-2c5127f0a1b2+dirty", Commit: sha, Dirty: true, Date: "2026-12-06T05:28:05Z"}, "v0.0.0-20261206052805-2c5127f0a1b2+dirty (commit 2c5127f0a1b2-dirty, go1.26.8)"},
		{"go install of a pseudo-version, dirty mark", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261206052805-2c5127f0a1b2+dirty"}}, "", "", "",
			Info{Version: "v0.0.0-20261206052805-2c5127f0a1b2+dirty", Commit: "2c5127f0a1b2"}, "v0.0.0-20261206052805-2c5127f0a1b2+dirty (commit 2c5127f0a1b2, go1.26.8)"},
		{"a pre-release is no pseudo-version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3-rc.1"}}, "", "", "",
			Info{Version: "v1.2.3-rc.1", Commit: "unknown"}, "v1.2.3-rc.1 (commit unknown, go1.26.8)"},
		{"release ldflags win", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("ffff", "true")}, "v1.2.3", sha, "2026-12-01T00:00:00Z",
			Info{Version: "v1.2.3", Commit: sha, Date: "2026-12-01T00:00:00Z"}, "v1.2.3 (commit 2c5127f0a1b2, go1.26.8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.bi, tt.ver, tt.rev, tt.date)
			if tt.bi == nil {
				got.Go = "go1.26.8" // the test binary's own
			}
			tt.want.Go = "go1.26.8"
			if got != tt.want {
				t.Errorf("resolve = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
		})
	}
}
