// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package upstream

import "net"

// peeker checks that an idle connection is still open: here with a read
// that returns at once (see deadlinePeek).
type peeker struct{ raw net.Conn }

func newPeeker(raw net.Conn) peeker { return peeker{raw: raw} }

func (p *peeker) alive() bool { return deadlinePeek(p.raw) }
