// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: the mocks,
// gateways and the browser (with chromedp's goroutines) must all be
// stopped by the tests' cleanups. Nothing is ignored.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
