// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import "syscall"

// errAddrInUse is what net.Listen wraps when the port is taken.
var errAddrInUse = syscall.EADDRINUSE
