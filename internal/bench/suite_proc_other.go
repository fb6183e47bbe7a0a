// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package bench

import "syscall"

// childSysProcAttr keeps the defaults off Linux: the suite measures
// through /proc and is meant for Linux, but its scenarios still run.
func childSysProcAttr() *syscall.SysProcAttr { return nil }

// fileLimit is unknown off Linux: 0.
func fileLimit() int { return 0 }
