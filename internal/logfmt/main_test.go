// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package logfmt

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests (the
// concurrency tests' writers must all have returned).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
