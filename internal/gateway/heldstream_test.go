// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// heldStreams is how many streams TestHeldStreamCost holds open at once:
// enough that the per-stream figures are not the noise of the process's
// other goroutines, few enough for a shared machine.
const heldStreams = 32

// TestHeldStreamCost holds slow streams open through the gateway (a client
// speaking HTTP/1.1 to it, the mock upstream HTTP/2 over TLS, as providers
// serve, or HTTP/1.1 over TLS) and counts what each costs the whole process, client and mock
// included, once every stream has relayed its first event: goroutines,
// and goroutine stack after two collections (a stack shrinks only while
// less than a quarter of it is in use, so what stays is what the
// goroutines grew to). GODEBUG adaptivestackstart=0 makes every goroutine
// start at the minimum stack, so the figures do not depend on when the
// collector last ran. Memory per held stream is the gateway's limit on
// how many streams a machine holds (BENCHMARKS.md, the suite's streaming
// scenario); these bounds keep what was cut from coming back:
//   - goroutines: the gateway's three per stream (over HTTP/2) are the
//     inbound connection's (which runs the handler), net/http's
//     background reader of that connection and the HTTP/2 client's writer
//     of the upstream request; the client adds two (its connection's
//     reader and writer) and the mock one (its handler): six in all.
//   - stacks: the handler's stack stays within 8 KiB for the stream's
//     life (the response headers go out before the copy, not from deep
//     inside it: net/http's header writer alone needs about 3 KiB of
//     stack). It was 16 KiB, and the process's stack per held stream
//     here 45 KiB; it is 30 to 33 KiB now.
//   - live heap: the stream's read buffer in sse.Copy is 1 KiB (it was a
//     4 KiB page); the process's live heap per held stream was 55.0 KiB
//     here (HTTP/2), and is 49.4 to 49.6 KiB now, most of it net/http's
//     buffers and the request's state in the client, the gateway and the
//     mock.
func TestHeldStreamCost(t *testing.T) {
	t.Setenv("GODEBUG", strings.TrimPrefix(os.Getenv("GODEBUG")+",adaptivestackstart=0", ",")) // the runtime rereads it
	for _, tc := range []struct {
		name       string
		opts       mock.Options
		goroutines float64 // at most, per held stream
		why        string  // whose goroutines
		heap       float64 // KiB, at most
		stack      float64 // KiB, at most
	}{
		// 49.4 to 49.6 KiB of live heap since the answer's Request is
		// dropped and a stream waiting for its next event holds no event
		// buffers (51.3 to 51.8 before).
		{"h2", mock.Options{TLS: true}, 6, "the gateway's 3, the client's 2, the mock's 1", 51, 36},
		// One upstream connection per stream, and no HTTP/2 stream writer:
		// the gateway's 2 goroutines, the client's 2 and the mock's 2 (its
		// connection's and that connection's background reader). The
		// gateway's connection writes its requests through a pooled
		// buffer and reads through 1 KiB above TLS: 65.1 to 65.3 KiB of
		// live heap, 68.0 to 68.2 with a 4 KiB read buffer, 73.1 to 73.3
		// with a 4 KiB write buffer too and the changes above undone.
		// The stack varies more (33 to 43 KiB seen).
		{"h1", mock.Options{TLS: true, NoH2: true}, 6, "the gateway's 2, the client's 2, the mock's 2", 67, 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Tokens, tc.opts.TokenInterval = 4, time.Hour
			m := startMock(t, tc.opts)
			g := startGateway(t, defaultYAML(t, m), nil)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()

			// One stream first: its warm-up (the pool's connection, the
			// first encodings) is not the held streams' cost.
			warm, err := openStream(ctx, t, g, chatBody("gpt-4.1-mini", true))
			if err != nil {
				t.Fatal(err)
			}
			g0, s0, h0 := settleHeap()

			var held []*http.Response
			defer func() {
				for _, r := range append(held, warm) {
					_ = r.Body.Close()
				}
			}()
			for range heldStreams {
				r, err := openStream(ctx, t, g, chatBody("gpt-4.1-mini", true))
				if err != nil {
					t.Fatalf("stream %d: %v", len(held)+1, err)
				}
				held = append(held, r)
			}
			g1, s1, h1 := settleHeap()
			perGoroutines := float64(g1-g0) / heldStreams
			perStack := float64(s1-s0) / heldStreams / 1024
			perHeap := (float64(h1) - float64(h0)) / heldStreams / 1024
			t.Logf("per held stream, in the whole process: %.2f goroutines, %.1f KiB of goroutine stack, %.1f KiB of live heap",
				perGoroutines, perStack, perHeap)
			if perGoroutines > tc.goroutines {
				t.Errorf("%.2f goroutines per held stream, want at most %.0f (%s)", perGoroutines, tc.goroutines, tc.why)
			}
			if perHeap > tc.heap {
				t.Errorf("%.1f KiB of live heap per held stream, want at most %.1f (see the figures in the table)", perHeap, tc.heap)
			}
			if raceEnabled {
				t.Log("stack bound not checked: the race detector's instrumentation makes every frame larger")
			} else if perStack > tc.stack {
				t.Errorf("%.1f KiB of goroutine stack per held stream, want at most %.0f (the gateway's handler within 8 KiB)", perStack, tc.stack)
			}
		})
	}
}

// openStream sends a streaming request with body through g and returns
// its answer once the first event (role chunk and first token) has been
// relayed.
func openStream(ctx context.Context, t *testing.T, g *gw, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// settleHeap collects twice and returns the goroutines, the goroutine
// stack in use and the live heap.
func settleHeap() (goroutines int, stack, heap uint64) {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.StackInuse, ms.HeapAlloc
}

// TestHeldStreamLetsGoOfItsRequest holds streams whose request body is
// 64 KiB (a long conversation, as coding agents send) next to streams
// whose body is a few bytes, through an HTTP/2 upstream and an HTTP/1.1
// one, and compares the live heap each adds to the whole process: a held
// stream must not keep its request's bytes once they are sent (the
// gateway's copy, the outbound request's body and GetBody, the HTTP/2
// stream's), or 10,000 held streams of such requests would keep 700 MB.
// The client shares one body string between its requests, so only the
// gateway's and the mock's copies count.
func TestHeldStreamLetsGoOfItsRequest(t *testing.T) {
	big := strings.Repeat("lorem ipsum ", 64<<10/12)
	for _, tc := range []struct {
		name string
		opts mock.Options
	}{
		{"h2", mock.Options{TLS: true}},
		{"h1", mock.Options{TLS: true, NoH2: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Tokens, tc.opts.TokenInterval = 4, time.Hour
			m := startMock(t, tc.opts)
			g := startGateway(t, defaultYAML(t, m), nil)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			small := chatBody("gpt-4.1-mini", true)
			large := `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"` + big + `"}],"stream":true}`

			var held []*http.Response
			defer func() {
				for _, r := range held {
					_ = r.Body.Close()
				}
			}()
			hold := func(body string) {
				for range heldStreams {
					r, err := openStream(ctx, t, g, body)
					if err != nil {
						t.Fatalf("stream %d: %v", len(held)+1, err)
					}
					held = append(held, r)
				}
			}
			hold(small) // the first streams warm up the pool's connections
			_, _, h0 := settleHeap()
			hold(small)
			_, _, h1 := settleHeap()
			hold(large)
			_, _, h2 := settleHeap()
			perSmall := (float64(h1) - float64(h0)) / heldStreams / 1024
			perLarge := (float64(h2) - float64(h1)) / heldStreams / 1024
			t.Logf("live heap per held stream, in the whole process: %.1f KiB with a %d-byte request, %.1f KiB with a %d-byte one",
				perSmall, len(small), perLarge, len(large))
			if d := perLarge - perSmall; d > 16 {
				t.Errorf("a held stream whose request is %d bytes larger keeps %.1f KiB more, want at most 16: its request body is kept",
					len(large)-len(small), d)
			}
		})
	}
}
