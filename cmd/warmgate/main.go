// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Command warmgate is an OpenAI-compatible gateway that keeps a warm,
// observable pool of keep-alive and HTTP/2 connections to AI APIs, plus the
// tools around it: a mock upstream, a demo, a benchmark and a keep-alive
// doctor. Run "warmgate --help".
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "warmgate:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "warmgate",
		Short: "A warm, observable connection gateway for AI APIs",
		Long: `warmgate is an OpenAI-compatible gateway. Point any app's base_url at it and
it keeps a warm pool of keep-alive / HTTP/2 connections to each upstream,
retries safely, fails over, streams SSE without buffering and shows its
connection pools live.

Start with "warmgate demo" to see the difference keep-alive makes, then
"warmgate serve" in front of your provider.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newMockCmd(), newDemoCmd(), newVersionCmd(), newProbeCmd(), newBenchCmd(), newKeysCmd(), newUsageCmd(), newHealthCmd())
	return root
}

// applyEnv gives every flag of cmd that was not set on the command line the
// value of its environment twin, prefix + the flag's name in upper case
// with dashes as underscores (e.g. WARMGATE_LISTEN for --listen).
func applyEnv(cmd *cobra.Command, prefix string) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		name := prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if serr := cmd.Flags().Set(f.Name, v); serr != nil {
				err = fmt.Errorf("environment variable %s=%q is not a valid value for --%s: %w", name, v, f.Name, serr)
			}
		}
	})
	return err
}

// interruptible returns cmd's context, ended by SIGINT or SIGTERM. The first
// signal ends the context (a run stops and reports); the handler is then
// removed, so a second one ends the process at once.
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// writeJSON writes v to w as indented JSON: the --json output of every
// subcommand.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
