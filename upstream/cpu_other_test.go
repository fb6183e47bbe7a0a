// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package upstream

import "time"

// cpuTime is not measured here: benchmarks report 0 CPU.
func cpuTime() time.Duration { return 0 }
