// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAll: a body is read whole when it is as long as announced (or,
// unannounced, no longer than the maximum), in pieces however small; a
// short one is an error, and so is one past the maximum.
func TestReadAll(t *testing.T) {
	const max = 200 << 10
	tests := []struct {
		name    string
		size    int   // bytes sent
		n       int64 // announced, -1: none
		wantErr error
	}{
		{"small, announced", 1000, 1000, nil},
		{"large, announced: the buffer grows", 150 << 10, 150 << 10, nil},
		{"shorter than announced", 1000, 2000, io.ErrUnexpectedEOF},
		{"shorter than announced, past the first buffer", 70 << 10, 150 << 10, io.ErrUnexpectedEOF},
		{"unannounced", 5000, -1, nil},
		{"unannounced, empty", 0, -1, nil},
		{"unannounced, at the maximum", max, -1, nil},
		{"unannounced, past the maximum", max + 1, -1, errBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("0123456789abcdef"), tt.size/16+1)[:tt.size]
			for _, r := range []io.Reader{bytes.NewReader(body), iotest.HalfReader(bytes.NewReader(body)), iotest.OneByteReader(bytes.NewReader(body))} {
				tb := timedBody{body: r, rate: 1}
				got, err := tb.readAll(tt.n, max)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("readAll: %v, want %v", err, tt.wantErr)
				}
				if err == nil && !bytes.Equal(got, body) {
					t.Fatalf("readAll read %d bytes, not the %d sent", len(got), len(body))
				}
			}
		})
	}
}

// TestReadAllAllocations: a small announced body costs one allocation, its
// size; a large one grows in a few steps from firstBodyChunk, and never
// past what arrived (times two).
func TestReadAllAllocations(t *testing.T) {
	small := strings.Repeat("x", 3000)
	rd := strings.NewReader(small)
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(small)
		tb := timedBody{body: rd, rate: 1, off: true}
		if b, err := tb.readAll(int64(len(small)), 32<<20); err != nil || len(b) != len(small) {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("%v allocations for a small body, want 1", allocs)
	}
	// 100 KiB arrive of 32 MiB announced: the buffer is at most 2x that.
	tb := timedBody{body: strings.NewReader(strings.Repeat("x", 100<<10)), rate: 1}
	var grown int
	r := tb.body
	tb.body = readerFunc(func(p []byte) (int, error) { grown = max(grown, cap(p)); return r.Read(p) })
	if _, err := tb.readAll(32<<20, 32<<20); err != io.ErrUnexpectedEOF {
		t.Fatalf("readAll: %v, want io.ErrUnexpectedEOF", err)
	}
	if grown > 2*(100<<10) {
		t.Errorf("read into a buffer of %d KiB for 100 KiB received", grown>>10)
	}
}

// readerFunc is a function as an io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
