// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"net/http"
	"sync"
	"time"
)

// heartbeat keeps a streaming request's client connection alive while the
// gateway waits for the upstream's first token: after every interval of
// silence it writes a heartbeat (an SSE comment, ": keep-alive", or the
// ping event of the client's dialect), so that load
// balancers in front do not cut a slow reasoning model's stream. The first
// heartbeat commits the answer as 200 text/event-stream; after that, a
// failure can only be told as an SSE error event. Heartbeats involve no
// upstream, so failover goes on underneath them.
type heartbeat struct {
	w        http.ResponseWriter
	interval time.Duration
	bytes    []byte      // one heartbeat
	timer    *time.Timer // runs beat; no goroutine while it waits

	mu        sync.Mutex
	stopped   bool // stop was called, or the client is gone
	committed bool // a heartbeat went out: the status is sent
}

// startHeartbeat begins heartbeats on w, each one the bytes beat (the
// route's front says what a heartbeat is in its dialect); stop ends them.
// A zero interval returns nil, which stop accepts.
func startHeartbeat(w http.ResponseWriter, interval time.Duration, beat []byte) *heartbeat {
	if interval <= 0 {
		return nil
	}
	hb := &heartbeat{w: w, interval: interval, bytes: beat}
	hb.mu.Lock() // beat waits for the timer to be set
	hb.timer = time.AfterFunc(interval, hb.beat)
	hb.mu.Unlock()
	return hb
}

// beat sends one heartbeat, committing the answer with the first, and
// arms the next.
func (hb *heartbeat) beat() {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.stopped {
		return
	}
	if !hb.committed {
		hb.committed = true
		h := hb.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		hb.w.WriteHeader(http.StatusOK)
	}
	_, err := hb.w.Write(hb.bytes)
	if err == nil {
		err = http.NewResponseController(hb.w).Flush()
	}
	if err != nil {
		hb.stopped = true // the client is gone; the request's context ends the rest
		return
	}
	hb.timer.Reset(hb.interval)
}

// stop ends the heartbeats and reports whether one was sent (the status is
// then committed). After stop only the caller writes to w: a heartbeat
// being written when stop is called finishes first, and none starts after.
// It may be called more than once. It does not wait for anything else: a
// stream's first chunk is not held up by it.
func (hb *heartbeat) stop() (committed bool) {
	if hb == nil {
		return false
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.stopped = true
	hb.timer.Stop()
	return hb.committed
}
