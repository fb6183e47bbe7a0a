// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: every
// Tracer's batch processor and exporter connections must be stopped by
// Shutdown.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
