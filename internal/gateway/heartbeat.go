package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// heartbeat keeps a streaming request's client connection alive while the
// gateway waits for the upstream's first token: after every interval of
// silence it writes an SSE comment (": keep-alive"), so that load
// balancers in front do not cut a slow reasoning model's stream. The first
// heartbeat commits the answer as 200 text/event-stream; after that, a
// failure can only be told as an SSE error event. Heartbeats involve no
// upstream, so failover goes on underneath them.
type heartbeat struct {
	w        http.ResponseWriter
	interval time.Duration
	timer    *time.Timer // runs beat; no goroutine while it waits

	mu        sync.Mutex
	stopped   bool // stop was called, or the client is gone
	committed bool // a heartbeat went out: the status is sent
}

// startHeartbeat begins heartbeats on w; stop ends them. A zero interval
// returns nil, which stop accepts.
func startHeartbeat(w http.ResponseWriter, interval time.Duration) *heartbeat {
	if interval <= 0 {
		return nil
	}
	hb := &heartbeat{w: w, interval: interval}
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
	_, err := io.WriteString(hb.w, ": keep-alive\n\n")
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

// relayCommitted finishes a stream whose 200 went out with the heartbeats:
// a stream answer is relayed event by event; anything else (an upstream
// error status, a gateway error) becomes one SSE error event, and the
// response is then aborted. Never a synthetic [DONE].
func (g *Gateway) relayCommitted(w http.ResponseWriter, r *http.Request, resp *http.Response, err error, rec *accessLog) {
	if err == nil && resp.StatusCode/100 == 2 && isEventStream(resp.Header.Get("Content-Type")) {
		res, cerr := sse.Copy(r.Context(), w, resp.Body, streamOptions(w, r.URL.Path))
		rec.events = res.Events
		if cerr != nil && !res.Done {
			g.abortStream(w, r, cerr, rec)
		}
		return
	}
	var payload []byte
	if err != nil {
		rec.err = err
		e := failure(r, err)
		if e.status == statusClientClosed {
			return
		}
		payload, _ = json.Marshal(openai.NewError(e.typ, e.code, e.message))
		rec.aborted = e.status
	} else {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var eb openai.ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error.Message != "" {
			payload = b // the upstream's own OpenAI error, as it sent it
		} else {
			payload, _ = json.Marshal(openai.NewError(openai.TypeUpstream, "upstream_error",
				fmt.Sprintf("upstream answered %s after the stream started", resp.Status)))
		}
		rec.err = errors.New("upstream answered " + resp.Status + " after heartbeats")
		rec.aborted = http.StatusBadGateway // what the client got instead of the 200 it was sent
		if resp.StatusCode >= 400 {
			rec.aborted = resp.StatusCode
		}
	}
	_ = sse.WriteEvent(w, "error", payload)
	_ = http.NewResponseController(w).Flush()
	panic(http.ErrAbortHandler)
}

// requestTimeout reads X-Warmgate-Timeout: a Go duration ("90s"), between
// 1ms and 1h. A bare number is refused rather than guessed at: "90" may
// mean seconds or milliseconds, and a wrong guess is a thousand times off.
// It bounds the whole request, stream included; past it the client gets
// 504 (or an error event mid-stream).
func requestTimeout(r *http.Request) (time.Duration, *apiError) {
	v := r.Header.Get("X-Warmgate-Timeout")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
			return 0, errBadRequest("invalid_timeout", "X-Warmgate-Timeout "+quote(v)+" has no unit: write e.g. 90s, 2m or 500ms")
		}
		return 0, errBadRequest("invalid_timeout", "X-Warmgate-Timeout "+quote(v)+" is not a duration: use e.g. 90s, 2m or 500ms")
	}
	if d < time.Millisecond || d > time.Hour {
		return 0, errBadRequest("invalid_timeout", "X-Warmgate-Timeout "+quote(v)+" is out of range: use 1ms to 1h")
	}
	return d, nil
}

// totalTimeout is the largest timeouts.total among the upstreams serving
// models (0 when none sets one).
func (g *Gateway) totalTimeout(models []string) time.Duration {
	var d time.Duration
	for _, m := range models {
		for _, u := range g.cfg.Upstreams {
			if (m == "" || u.MatchModel(m)) && u.Timeouts.Total > d {
				d = u.Timeouts.Total
			}
		}
	}
	return d
}
