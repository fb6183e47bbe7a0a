// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"flag"
	"testing"

	"go.uber.org/goleak"
)

var ownConnsFlag = flag.Bool("ownconns", true, "run the tests on the pool that owns its connections (conn.go); false: on the transport-based pool (transport.go)")

func TestMain(m *testing.M) {
	flag.Parse()
	ownConns = *ownConnsFlag
	goleak.VerifyTestMain(m)
}
