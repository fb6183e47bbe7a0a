// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startMock runs a mock upstream on a free loopback port for the test.
func startMock(t *testing.T, o mock.Options) *mock.Server {
	t.Helper()
	m, err := mock.Start(o, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mock.Start: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// run calls Run and fails the test on an error.
func run(t *testing.T, o Options) *Result {
	t.Helper()
	r, err := Run(t.Context(), o, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}
