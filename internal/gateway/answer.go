// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import "io"

// maxHeld is how much of a non-streamed answer the gateway holds before it
// sends the status: an API's JSON answer (a completion, a list of
// embeddings) is nearly always far smaller, so it reaches the client only
// once it came whole, and an upstream that fails halfway gets the client a
// 502 instead of a 200 with a cut body. A larger answer (a file download
// passed through) is held up to this much, then streamed.
const maxHeld = 1 << 20

// holdAnswer reads a non-streamed answer's body of announced size (-1:
// unknown) before its status is sent: the whole body when it ends within
// maxHeld bytes (whole is then true), else its first maxHeld bytes or so,
// the rest left to copy. It reads into buf first, and allocates only for a
// larger answer: once, of the announced size, when that is known. err is
// the body's read error; io.EOF is not one.
func holdAnswer(body io.Reader, size int64, buf []byte) (b []byte, whole bool, err error) {
	b = buf[:0]
	if size >= int64(cap(b)) && size <= maxHeld {
		b = make([]byte, 0, size+1) // +1: room to read the end of the body
	}
	for {
		if len(b) == cap(b) {
			if cap(b) > maxHeld {
				return b, false, nil
			}
			grown := make([]byte, len(b), min(2*cap(b), maxHeld+1))
			copy(grown, b)
			b = grown
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case err == io.EOF:
			return b, true, nil
		case err != nil:
			return b, false, err
		}
	}
}
