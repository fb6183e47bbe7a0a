// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestStreamIdleCountsOnlyWaits: StreamIdle bounds the time one Read waits
// on the upstream, from the answer's headers to the first Read too, and
// nothing else: not the life of a stream whose events come closer
// together than it, nor the caller's pauses between reads. The body's idle
// timer is armed once and checks, when it fires, how long the pending Read
// has waited (it is not re-armed per Read).
func TestStreamIdleCountsOnlyWaits(t *testing.T) {
	const idle = 400 * time.Millisecond
	tests := []struct {
		name string
		// headers is the server's pause before its answer's headers
		// (FirstByte bounds it, not StreamIdle).
		headers time.Duration
		gaps    []time.Duration // the server's pause before each of its chunks
		// pauses are the caller's, after each of its reads but the last.
		pauses  []time.Duration
		want    string
		wantCut bool
	}{
		{name: "chunks closer than idle, for longer than it",
			gaps: []time.Duration{0, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond},
			want: "01234"},
		{name: "caller pauses longer than idle between reads",
			gaps:   []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond},
			pauses: []time.Duration{0, 3 * idle, 3 * idle},
			want:   "012"},
		{name: "headers later than idle, then chunks in time",
			headers: 3 * idle, gaps: []time.Duration{0, 300 * time.Millisecond}, want: "01"},
		{name: "first chunk later than idle after the headers",
			gaps: []time.Duration{idle + 100*time.Millisecond}, wantCut: true},
		{name: "silence after reads that came in time",
			gaps: []time.Duration{0, 300 * time.Millisecond, idle + 100*time.Millisecond}, want: "01", wantCut: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSync(t, func(t *testing.T, m mode) {
				s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					time.Sleep(tt.headers)
					w.Header().Set("Content-Type", "text/event-stream")
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
					for i, gap := range tt.gaps {
						select {
						case <-time.After(gap):
						case <-r.Context().Done():
							return
						}
						_, _ = w.Write([]byte{'0' + byte(i)})
						w.(http.Flusher).Flush()
					}
				})
				p := newPool(t, s, func(c *Config) { c.Timeouts.StreamIdle = idle })
				resp, err := post(t, t.Context(), p, "x")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var got []byte
				buf := make([]byte, 16)
				for i := 0; ; i++ {
					n, err := resp.Body.Read(buf)
					got = append(got, buf[:n]...)
					if err == io.EOF {
						break
					}
					if err != nil {
						if !tt.wantCut || !errors.Is(err, ErrStreamIdle) {
							t.Fatalf("after %q: read err = %v", got, err)
						}
						if string(got) != tt.want {
							t.Errorf("got %q before the cut, want %q", got, tt.want)
						}
						return
					}
					if i < len(tt.pauses) {
						time.Sleep(tt.pauses[i])
					}
				}
				if tt.wantCut {
					t.Fatalf("read %q whole, want it cut after %q", got, tt.want)
				}
				if string(got) != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			})
		})
	}
}
