// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !race

package gateway_test

// raceEnabled says whether the tests run under the race detector, whose
// instrumentation makes every stack frame larger: TestHeldStreamCost's
// bound on stack memory holds for the program as built, without it.
const raceEnabled = false
