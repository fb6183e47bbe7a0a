// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package upstream

import "net"

// peeker cannot look at a socket here: every idle connection is checked
// with a short read (see h1conn.alive).
type peeker struct{}

func newPeeker(net.Conn) peeker { return peeker{} }

func (*peeker) peek() peekResult { return peekUnknown }
