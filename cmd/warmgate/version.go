// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/warmgate/warmgate/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print warmgate's version, commit and Go version",
		Long: `Print warmgate's version, the commit it was built from and the Go version.

The version is the release's (stamped by the release build), the module version
of a "go install github.com/warmgate/warmgate/cmd/warmgate@vX.Y.Z", or "dev" for
a build from a source checkout. The commit is the VCS revision of a source
build, with "-dirty" when the tree had uncommitted changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := buildinfo.Get()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), in)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "warmgate %s %s/%s\n", in, runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the build information as JSON")
	return cmd
}
