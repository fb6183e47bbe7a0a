// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package gateway_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used so far,
// every goroutine included; ok is false where it cannot be read.
func processCPU() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
