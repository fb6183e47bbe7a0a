// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// mock, gateway, pool keeper and client transport the tests start must be
// stopped by their cleanups. Nothing is ignored.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
