// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import "runtime"

func runtimeGOMAXPROCS() int { return runtime.GOMAXPROCS(0) }
