// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

// The soak's attacker loads, run beside its normal traffic: a slow-body
// flood (complete headers, then a body trickled far below the gateway's
// server.body_min_rate) and an abort flood (requests the client cancels
// after a few milliseconds). Both go to the soak's own gateway on
// loopback only, and both are bounded in concurrency, rate and time.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Flood sizes and paces, each with its reason.
const (
	// soakBodyTimeout is the gateway's server.body_timeout in the soak:
	// short, so that a slow-body connection is cut within the soak.
	soakBodyTimeout = time.Second
	// slowBodyLength is the Content-Length a slow body announces: more
	// than net/http would drain on its own (256 KiB is its limit, so
	// 200 KiB would be drained), never sent in full.
	slowBodyLength = 200 << 10
	// slowBodyStep and slowBodyEvery are the trickle: 160 bytes a second,
	// far below the gateway's default body_min_rate (8 KiB a second).
	slowBodyStep  = 16
	slowBodyEvery = 100 * time.Millisecond
	// slowBodyGiveUp is how long the client holds a slow-body connection
	// before closing it itself: well past what the gateway allows it
	// (body_timeout, plus the bytes trickled at body_min_rate, or 0.5 s
	// for a body it does not read), so that a connection still open then
	// is one the gateway failed to end.
	slowBodyGiveUp = 5*soakBodyTimeout + 2*time.Second
	// slowBodyPause is a slot's wait between two connections, bounding
	// the connection rate.
	slowBodyPause = 50 * time.Millisecond
	// abortEvery bounds each abort worker to one request per interval;
	// abortAfterMax is the longest a request lives before it is canceled.
	abortEvery    = 25 * time.Millisecond
	abortAfterMax = 20 * time.Millisecond
)

// floodSize is how many slow-body connections are open at once and how
// many abort workers run.
func floodSize(quick bool) (slow, abort int) {
	if quick {
		return 4, 2
	}
	return 32, 4
}

// SlowBodyFlood is what the slow-body flood did and how its connections
// ended.
type SlowBodyFlood struct {
	// Concurrency is the most connections open at once.
	Concurrency int `json:"concurrency"`
	// Connections counts the connections that sent their headers.
	Connections int `json:"connections"`
	// ClosedByGateway counts those the gateway ended (it answered and
	// closed, or closed); StillOpen those the client closed after
	// slowBodyGiveUp, or at the soak's end, with the gateway still
	// reading. StillOpen must be 0.
	ClosedByGateway int `json:"closed_by_gateway"`
	StillOpen       int `json:"still_open"`
	// DialErrors counts connections that could not be made.
	DialErrors int `json:"dial_errors"`
	// Status counts the gateway's answers by status; 0 is a connection
	// closed without an answer.
	Status map[int]int `json:"status"`
	// LongestSeconds is the longest a connection stayed open until the
	// gateway ended it.
	LongestSeconds float64 `json:"longest_seconds"`
}

// AbortFlood is what the abort flood did.
type AbortFlood struct {
	// Workers is how many clients sent at once.
	Workers int `json:"workers"`
	// Requests counts the requests sent, Streamed those with
	// "stream": true among them.
	Requests int `json:"requests"`
	Streamed int `json:"streamed"`
	// Aborted counts those the client canceled before their answer's
	// end; Finished those answered in full first; Errors those failed
	// otherwise (must be 0: any other failure is the gateway's).
	Aborted  int `json:"aborted"`
	Finished int `json:"finished"`
	Errors   int `json:"errors"`
	// ErrorExamples holds up to a few examples of Errors.
	ErrorExamples []string `json:"error_examples,omitempty"`
}

// slowBodyVariant is one kind of slow-body connection.
type slowBodyVariant struct {
	chunked bool
	key     string // "" sends no Authorization
}

// runSlowBodyFlood keeps n slow-body connections to addr open until stop
// is done, then waits for those still open to end (each bounded by
// giveUp); ctx ends everything at once.
func runSlowBodyFlood(ctx, stop context.Context, addr string, n int, validKey string, giveUp time.Duration) *SlowBodyFlood {
	variants := []slowBodyVariant{
		{chunked: false, key: validKey},
		{chunked: false, key: ""},
		{chunked: true, key: validKey},
		{chunked: true, key: "sk-soak-invalid"},
	}
	f := &SlowBodyFlood{Concurrency: n, Status: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for slot := range n {
		wg.Go(func() {
			for i := slot; stop.Err() == nil; i += n {
				o := slowBodyConn(ctx, addr, variants[i%len(variants)], giveUp)
				mu.Lock()
				switch {
				case o.dialErr:
					f.DialErrors++
				case o.closedByGateway:
					f.Connections++
					f.ClosedByGateway++
					f.Status[o.status]++
					f.LongestSeconds = max(f.LongestSeconds, o.held.Seconds())
				default:
					f.Connections++
					f.StillOpen++
				}
				mu.Unlock()
				if !sleepCtx(stop, slowBodyPause) {
					return
				}
			}
		})
	}
	wg.Wait()
	return f
}

type slowBodyOutcome struct {
	dialErr         bool
	closedByGateway bool
	status          int // the gateway's answer, 0 for none
	held            time.Duration
}

// slowBodyConn opens one connection, sends a chat request's headers and
// then trickles its body until the gateway ends the connection, the
// client gives up (after giveUp) or ctx is done.
func slowBodyConn(ctx context.Context, addr string, v slowBodyVariant, giveUp time.Duration) slowBodyOutcome {
	var o slowBodyOutcome
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		o.dialErr = true
		return o
	}
	defer c.Close()
	start := time.Now()
	var h strings.Builder
	fmt.Fprintf(&h, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", addr)
	if v.key != "" {
		fmt.Fprintf(&h, "Authorization: Bearer %s\r\n", v.key)
	}
	if v.chunked {
		h.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	} else {
		fmt.Fprintf(&h, "Content-Length: %d\r\n\r\n", slowBodyLength)
	}
	if _, err := io.WriteString(c, h.String()); err != nil {
		o.closedByGateway, o.held = true, time.Since(start)
		return o
	}

	// The reader sees the gateway's answer, if any, and the connection's
	// end; the gateway ending it is what this connection waits for.
	ended := make(chan int, 1)
	go func() {
		br := bufio.NewReader(c)
		status := 0
		if line, err := br.ReadString('\n'); err == nil {
			if f := strings.Fields(line); len(f) >= 2 {
				status, _ = strconv.Atoi(f[1])
			}
		}
		_, _ = io.Copy(io.Discard, br)
		ended <- status
	}()

	limit := time.NewTimer(giveUp)
	defer limit.Stop()
	tick := time.NewTicker(slowBodyEvery)
	defer tick.Stop()
	step := strings.Repeat("a", slowBodyStep)
	if v.chunked {
		step = fmt.Sprintf("%x\r\n%s\r\n", slowBodyStep, step)
	}
	sent := 0
	for {
		select {
		case o.status = <-ended:
			o.closedByGateway, o.held = true, time.Since(start)
			return o
		case <-limit.C:
		case <-ctx.Done():
		case <-tick.C:
			if sent+slowBodyStep < slowBodyLength {
				// A write error is the gateway's close too: wait for the
				// reader to see it.
				if _, err := io.WriteString(c, step); err == nil {
					sent += slowBodyStep
				}
			}
			continue
		}
		// The client gives up: the connection is still open.
		_ = c.Close()
		<-ended
		return o
	}
}

// runAbortFlood sends requests through workers clients, each at most one
// per abortEvery, and cancels each after 1 ms to abortAfterMax, until stop
// is done.
func runAbortFlood(stop context.Context, origin string, workers int, key string) *AbortFlood {
	f := &AbortFlood{Workers: workers}
	tr := &http.Transport{MaxIdleConnsPerHost: workers, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			tick := time.NewTicker(abortEvery)
			defer tick.Stop()
			for i := w; ; i++ {
				select {
				case <-stop.Done():
					return
				case <-tick.C:
				}
				stream := i%2 == 1
				after := time.Millisecond + rand.N(abortAfterMax)
				finished, err := abortRequest(stop, hc, origin, key, stream, after)
				mu.Lock()
				f.Requests++
				if stream {
					f.Streamed++
				}
				switch {
				case stop.Err() != nil && err != nil:
					// The soak's end, not the gateway's.
				case err != nil:
					f.Errors++
					if len(f.ErrorExamples) < 5 {
						f.ErrorExamples = append(f.ErrorExamples, err.Error())
					}
				case finished:
					f.Finished++
				default:
					f.Aborted++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return f
}

// abortRequest sends one chat request and cancels it after after. It
// reports whether the answer arrived in full first; an error is any
// failure other than the cancel, including a non-2xx answer.
func abortRequest(ctx context.Context, hc *http.Client, origin, key string, stream bool, after time.Duration) (bool, error) {
	rctx, cancel := context.WithTimeout(ctx, after)
	defer cancel()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"Say hello."}],"stream":%t}`, DefaultModel, stream)
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, origin+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		if rctx.Err() != nil {
			return false, nil
		}
		return false, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	switch {
	case err != nil && rctx.Err() != nil:
		return false, nil
	case err != nil:
		return false, err
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
	return true, nil
}
