// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build race

package usage

// raceSlowdown scales the crash tests' traffic down: under the race
// detector SQLite, compiled from C to Go, writes about 20 times slower.
const raceSlowdown = 5
