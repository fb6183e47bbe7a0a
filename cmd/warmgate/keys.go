// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// keyPrefix marks the keys "warmgate keys new" makes, so that a leaked one
// is recognisable (and secret scanners can be taught it).
const keyPrefix = "sk-wg-"

// maxKeyInput bounds what "keys hash" reads from standard input.
const maxKeyInput = 4 << 10

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Make client keys and hash them for the config",
		Long: `Client keys let apps call the gateway. The config stores only each key's
SHA-256 (keys[].key_sha256), never the key itself:

  warmgate keys new               make a random key and print it with its hash
  warmgate keys hash < key.txt    print the hash of an existing key

See docs/keys.md for limits (rpm, tpm) and allowed models per key.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newKeysHashCmd(), newKeysNewCmd())
	return cmd
}

func newKeysHashCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash [KEY]",
		Short: "Print the SHA-256 of a client key, for key_sha256 in the config",
		Long: `Print the hex SHA-256 of a client key, then a key_sha256 line to paste into
the key's entry under keys: in the config.

The key is read from standard input (one line; surrounding spaces and the
newline are ignored, as the gateway ignores them in headers), or asked for
without echo when standard input is a terminal:

  warmgate keys hash < team-a.key
  printf %s "$TEAM_A_KEY" | warmgate keys hash

A KEY argument works too, but is unsafe: while the command runs, any user
of the machine can read it in ps or /proc, and it is saved in your
shell history. Prefer standard input.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var key string
			var err error
			if len(args) == 1 {
				fmt.Fprintln(cmd.ErrOrStderr(), "warmgate: warning: a key given as an argument is visible to other users (ps, /proc) and stays in your shell history; pass it on standard input instead")
				key, err = oneKey(args[0], "the KEY argument")
			} else {
				key, err = readKey(cmd)
			}
			if err != nil {
				return err
			}
			printHash(cmd.OutOrStdout(), key)
			return nil
		},
	}
}

func newKeysNewCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "new",
		Short: "Generate a random client key and print it with its hash",
		Long: `Generate a client key, "` + keyPrefix + `" and 32 random bytes in base64url
(256 bits from the system's secure random source), and print:

  line 1: the key. Give it to the client (or put it in your secret store):
          it is shown only this once, warmgate keeps no copy.
  line 2: its SHA-256 as a key_sha256 line for the config.

For example, KEY=$(warmgate keys new | head -n1).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := newKey()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), key)
			printHash(cmd.OutOrStdout(), key)
			fmt.Fprintln(cmd.ErrOrStderr(), "warmgate: the first line is the key, shown only this once; the config needs only the key_sha256 line (docs/keys.md)")
			return nil
		},
	}
}

// newKey returns a fresh random key.
func newKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return keyPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// printHash prints key's hex SHA-256 alone, then as a config line. The key
// itself is not printed.
func printHash(w io.Writer, key string) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	fmt.Fprintf(w, "%s\nkey_sha256: %q\n", h, h)
}

// readKey reads one key from the command's standard input, without echo
// when it is a terminal.
func readKey(cmd *cobra.Command) (string, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "Key (not echoed): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("reading the key from the terminal: %w", err)
		}
		return oneKey(string(b), "the key typed")
	}
	b, err := io.ReadAll(io.LimitReader(in, maxKeyInput+1))
	if err != nil {
		return "", fmt.Errorf("reading the key from standard input: %w", err)
	}
	if len(b) > maxKeyInput {
		return "", fmt.Errorf("standard input holds more than %d bytes: give one key", maxKeyInput)
	}
	return oneKey(string(b), "standard input")
}

// oneKey trims s and checks that it is one non-empty line. Errors never
// quote the input: it may be a secret.
func oneKey(s, from string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New(from + " holds no key: pipe one in, e.g. warmgate keys hash < key.txt")
	case strings.ContainsAny(s, "\r\n"):
		return "", errors.New(from + " holds more than one line: give one key")
	}
	return s, nil
}
