// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them (the
// HTTP test's server and client included).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
