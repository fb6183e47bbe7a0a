// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: Copy
// must not leave a reader, timer or callback behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
