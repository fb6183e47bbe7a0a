// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package translate

import "time"

// processCPU is not measured here; benchmarks then report wall time only.
func processCPU() (time.Duration, bool) { return 0, false }
