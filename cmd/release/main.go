// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Command release builds warmgate's release artifacts: archives for
// linux, darwin and windows on amd64 and arm64, each with a CycloneDX SBOM,
// and a SHA-256 checksums file, with the version, commit and date stamped
// into the binaries.
//
//	go run ./cmd/release --version v1.2.3                    # every target, into ./dist
//	go run ./cmd/release --version v1.2.3 --targets linux/amd64 --out /tmp/dist
//
// The commit and date default to the checkout's HEAD (git must be on
// PATH); a tree with uncommitted changes is refused unless --allow-dirty.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/release"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		version    = flag.String("version", "", "the version to stamp and name the archives with, e.g. v1.2.3 (required)")
		out        = flag.String("out", "dist", "directory to write the artifacts to")
		targets    = flag.String("targets", "", "comma-separated GOOS/GOARCH list (default: linux, darwin and windows on amd64 and arm64; \"host\" for this machine's)")
		commit     = flag.String("commit", "", "the commit to stamp (default: git rev-parse HEAD)")
		allowDirty = flag.Bool("allow-dirty", false, "build even though the tree has uncommitted changes (they would be in the binaries, not in the named commit)")
	)
	flag.Parse()
	if *version == "" {
		return errors.New("--version is required, e.g. --version v1.2.3")
	}
	c := release.Config{Version: *version, Commit: *commit, Root: ".", Out: *out, Log: os.Stderr}
	if c.Commit == "" {
		rev, err := gitOut("rev-parse", "HEAD")
		if err != nil {
			return fmt.Errorf("cannot read the commit (run in a git checkout, or pass --commit): %w", err)
		}
		c.Commit = rev
		if st, _ := gitOut("status", "--porcelain", "--untracked-files=no"); st != "" && !*allowDirty {
			return errors.New("the tree has uncommitted changes: commit them, or pass --allow-dirty")
		}
	}
	if ts, err := gitOut("show", "-s", "--format=%ct", c.Commit); err == nil {
		var sec int64
		if _, err := fmt.Sscan(ts, &sec); err == nil {
			c.Date = time.Unix(sec, 0)
		}
	}
	if *targets != "" {
		for _, s := range strings.Split(*targets, ",") {
			if s = strings.TrimSpace(s); s == "host" {
				c.Targets = append(c.Targets, release.HostTarget())
				continue
			}
			t, err := release.ParseTarget(s)
			if err != nil {
				return err
			}
			c.Targets = append(c.Targets, t)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a, err := release.Build(ctx, c)
	if err != nil {
		return err
	}
	fmt.Println(a.Checksums)
	return nil
}

func gitOut(args ...string) (string, error) {
	b, err := exec.Command("git", args...).Output()
	return strings.TrimSpace(string(b)), err
}
