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
// serve) and counts what each costs the whole process, client and mock
// included, once every stream has relayed its first event: goroutines,
// and goroutine stack after two collections (a stack shrinks only while
// less than a quarter of it is in use, so what stays is what the
// goroutines grew to). GODEBUG adaptivestackstart=0 makes every goroutine
// start at the minimum stack, so the figures do not depend on when the
// collector last ran. Memory per held stream is the gateway's limit on
// how many streams a machine holds (BENCHMARKS.md, the suite's streaming
// scenario); these bounds keep what was cut from coming back:
//   - goroutines: the gateway's three per stream are the inbound
//     connection's (which runs the handler), net/http's background reader
//     of that connection and the HTTP/2 client's writer of the upstream
//     request; the client adds two (its connection's reader and writer)
//     and the mock one (its handler): six in all.
//   - stacks: the handler's stack stays within 8 KiB for the stream's
//     life (the response headers go out before the copy, not from deep
//     inside it: net/http's header writer alone needs about 3 KiB of
//     stack). It was 16 KiB, and the process's stack per held stream
//     here 45 KiB; it is 30 to 33 KiB now.
//   - live heap: the stream's read buffer in sse.Copy is 1 KiB (it was a
//     4 KiB page); the process's live heap per held stream was 55.0 KiB
//     here, and is 51.6 to 51.8 KiB now, most of it net/http's buffers and
//     the request's state in the client, the gateway and the mock.
func TestHeldStreamCost(t *testing.T) {
	t.Setenv("GODEBUG", strings.TrimPrefix(os.Getenv("GODEBUG")+",adaptivestackstart=0", ",")) // the runtime rereads it
	m := startMock(t, mock.Options{TLS: true, Tokens: 4, TokenInterval: time.Hour})
	g := startGateway(t, defaultYAML(t, m), nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	// One stream first: its warm-up (the pool's connection, the first
	// encodings) is not the held streams' cost.
	open := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions",
			strings.NewReader(chatBody("gpt-4.1-mini", true)))
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
		// The first event (role chunk and first token) has been relayed.
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			resp.Body.Close()
			return nil, err
		}
		return resp, nil
	}
	warm, err := open()
	if err != nil {
		t.Fatal(err)
	}
	settle := func() (goroutines int, stack, heap uint64) {
		var ms runtime.MemStats
		for range 2 {
			runtime.GC()
		}
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.StackInuse, ms.HeapAlloc
	}
	g0, s0, h0 := settle()

	var held []*http.Response
	defer func() {
		for _, r := range append(held, warm) {
			_ = r.Body.Close()
		}
	}()
	for range heldStreams {
		r, err := open()
		if err != nil {
			t.Fatalf("stream %d: %v", len(held)+1, err)
		}
		held = append(held, r)
	}
	g1, s1, h1 := settle()
	perGoroutines := float64(g1-g0) / heldStreams
	perStack := float64(s1-s0) / heldStreams / 1024
	perHeap := (float64(h1) - float64(h0)) / heldStreams / 1024
	t.Logf("per held stream, in the whole process: %.2f goroutines, %.1f KiB of goroutine stack, %.1f KiB of live heap",
		perGoroutines, perStack, perHeap)
	if perGoroutines > 6 {
		t.Errorf("%.2f goroutines per held stream, want at most 6 (the gateway's 3, the client's 2, the mock's 1)", perGoroutines)
	}
	if perHeap > 53.5 {
		t.Errorf("%.1f KiB of live heap per held stream, want at most 53.5 (the stream's read buffer is 1 KiB)", perHeap)
	}
	if raceEnabled {
		t.Log("stack bound not checked: the race detector's instrumentation makes every frame larger")
	} else if perStack > 36 {
		t.Errorf("%.1f KiB of goroutine stack per held stream, want at most 36 (the gateway's handler within 8 KiB)", perStack)
	}
}
