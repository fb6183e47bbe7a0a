// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import "time"

// peekResult is what a look at an idle connection's socket found.
type peekResult int

const (
	peekUnknown peekResult = iota // not a socket: read to know
	peekOpen                      // open, nothing came
	peekClosed                    // closed or reset by the server
	peekData                      // bytes came (over TLS: a goodbye, or a session ticket)
)

// peekWait bounds the short read that checks an idle connection when a
// look at its socket cannot tell (not a socket; bytes under TLS): long
// enough for the read to reach the connection (a deadline already passed
// returns before it does), short against a request's time.
const peekWait = 100 * time.Microsecond
