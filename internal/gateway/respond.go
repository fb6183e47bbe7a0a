// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
	"github.com/warmgate/warmgate/upstream"
)

// respond tells the client what send got: the upstream's answer, relayed
// (relayAnswer), or the failure in the client's dialect; an error event
// when heartbeats already committed the answer as a stream.
func (g *Gateway) respond(x *exchange) {
	rec := x.rec
	if x.resp != nil {
		defer x.resp.Body.Close()
		rec.attempt, _ = upstream.AttemptOf(x.resp)
		rec.upstream = rec.attempt.Upstream
	}
	if x.hb.stop() { // the 200 went out with a heartbeat
		x.ch.watch(x.w, x.model)
		g.relayCommitted(x)
		return
	}
	if x.err != nil {
		rec.err = x.err
		var ue *upstream.Error
		if errors.As(x.err, &ue) {
			rec.upstream = ue.Upstream
		}
		e := failure(x.r, x.err)
		e.retried = e.retried || rec.fellBack
		x.ep.front.writeError(x.w, e)
		return
	}
	x.ch.watch(x.w, x.model)
	if x.xl != nil { // an upstream of the other dialect: translated
		g.relayTranslated(x)
		return
	}
	g.relayAnswer(x)
}

// relayAnswer copies the upstream's answer to the client: headers and
// status as they are, then the body, event by event for a stream.
func (g *Gateway) relayAnswer(x *exchange) {
	w, r, resp, rec := x.w, x.r, x.resp, x.rec
	stream := isEventStream(resp.Header.Get("Content-Type"))
	var buf *[]byte
	var first []byte
	whole := false
	if !stream {
		// Hold the body (whole, up to maxHeld) before committing the
		// status: an upstream that stalls past stream_idle or fails
		// mid-body then gets the client a proper error answer (504, 502)
		// instead of a 200 with a cut body, or no response at all.
		buf = copyBufs.Get().(*[]byte)
		defer copyBufs.Put(buf)
		var err error
		first, whole, err = holdAnswer(resp.Body, resp.ContentLength, *buf)
		if err != nil {
			rec.err = err
			if !clientGone(r) {
				x.ep.front.writeError(w, failure(r, err))
			}
			return
		}
	}
	h := w.Header()
	own := w.ownLimits
	idHeader := x.ep.front.idHeader
	for k, vv := range resp.Header {
		switch {
		case hopHeaders[k]:
		case own && isRateHeader(k): // the gateway's own replace them (limit.go)
		case k == "X-Request-Id", k == idHeader:
			// The client keeps the id it sent (or the one we made, which is
			// in our logs); the upstream's own id, the one its provider's
			// support asks for, travels under another name.
			h["X-Upstream-Request-Id"] = vv
		case k == "Location", k == "Content-Location":
			// An upstream's own address is not the client's business, nor
			// a place to send it: only paths under the base URL are kept.
			if len(vv) == 1 {
				if loc := g.relayLocation(vv[0], rec.upstream, r.URL.Path); loc != "" {
					h[k] = []string{loc}
				}
			}
		default:
			h[k] = vv
		}
	}
	wait := h.Get("Retry-After") != "" || h.Get("Retry-After-Ms") != ""
	if v := shouldRetry(resp.StatusCode, "", rec.retried(), wait); v != "" {
		h.Set("X-Should-Retry", v) // the gateway's judgement, after its retries, over the upstream's
	}
	if stream {
		h.Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		// The status and headers go out now, not with the first event from
		// deep inside sse.Copy: net/http's header writer needs about 3 KiB
		// of stack, and from here the handler's stack stays within 8 KiB
		// for the stream's whole life (half the 16 KiB it grows to
		// otherwise). A client gone already is found by Copy's first write.
		_ = w.FlushError()
		res, err := sse.Copy(r.Context(), w, resp.Body, streamOptions(x))
		rec.events = res.Events
		switch {
		case err != nil && res.Done:
			// The client has the whole answer; only the log needs to know,
			// and only of an upstream failing after its end: a client that
			// closes once it read the end (the SDKs do) did nothing wrong.
			if r.Context().Err() == nil && !errors.Is(err, sse.ErrClientGone) {
				rec.err = err
			}
		case err != nil:
			g.abortStream(x, err)
		}
		return
	}
	w.held = whole
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(first)
	if err == nil && whole {
		w.wroteHeld(first)
	}
	if err == nil && !whole {
		// The buffer is free again: first has been written.
		_, err = io.CopyBuffer(writerOnly{w}, resp.Body, *buf)
	}
	if err != nil {
		rec.err = err
		if !clientGone(r) {
			// The upstream failed mid-body past what was held: the status
			// is already sent, so abort the connection rather than end the
			// answer as if whole.
			rec.aborted = failure(r, err).status
			panic(http.ErrAbortHandler)
		}
	}
}

// relayCommitted finishes a stream whose 200 went out with the heartbeats:
// a stream answer is relayed event by event; anything else (an upstream
// error status, a gateway error) becomes one SSE error event in the
// client's dialect, and the response is then aborted. Never a synthetic
// end of stream.
func (g *Gateway) relayCommitted(x *exchange) {
	w, r, resp, err, rec := x.w, x.r, x.resp, x.err, x.rec
	if err == nil && resp.StatusCode/100 == 2 && x.xl != nil {
		if rd := x.xl.reader(resp); rd != nil {
			g.translateStream(x, rd)
			return
		}
	}
	if err == nil && resp.StatusCode/100 == 2 && x.xl == nil && isEventStream(resp.Header.Get("Content-Type")) {
		res, cerr := sse.Copy(r.Context(), w, resp.Body, streamOptions(x))
		rec.events = res.Events
		if cerr != nil && !res.Done {
			g.abortStream(x, cerr)
		}
		return
	}
	fr := x.ep.front
	var payload []byte
	if err != nil {
		rec.err = err
		e := failure(r, err)
		if e.status == statusClientClosed {
			return
		}
		payload = fr.errorEvent(e, rec.id)
		rec.aborted = e.status
	} else {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if x.xl != nil && resp.StatusCode >= 400 {
			_, b = x.xl.errorBody(resp.StatusCode, resp.Header, b) // the upstream's error, in the client's dialect
		}
		if fr.isError(b) {
			payload = b // the upstream's own error, in the client's dialect, as it sent it
		} else {
			payload = fr.errorEvent(&apiError{status: http.StatusBadGateway, typ: openai.TypeUpstream, code: "upstream_error",
				message: fmt.Sprintf("upstream answered %s after the stream started", resp.Status)}, rec.id)
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

// abortStream ends a stream that failed after bytes reached the client. The
// one policy: if the upstream failed, send an error event in the client's
// dialect, then abort the response so the client cannot mistake it for a
// complete answer. Never a synthetic end of stream.
func (g *Gateway) abortStream(x *exchange, err error) {
	w, r, rec := x.w, x.r, x.rec
	err = streamError(err, rec)
	rec.err = err
	if clientGone(r) || errors.Is(err, sse.ErrClientGone) {
		return // the client left; nothing to tell it
	}
	e := failure(r, err)
	rec.aborted = e.status
	m := *e
	m.message = "stream interrupted: " + e.message
	_ = sse.WriteEvent(w, "error", x.ep.front.errorEvent(&m, rec.id))
	_ = http.NewResponseController(w).Flush()
	panic(http.ErrAbortHandler)
}

// streamOptions are the sse.Copy options for the stream x relays: the
// usage hooks of its writer, when a charge watches it, and its route's end
// of stream.
func streamOptions(x *exchange) sse.CopyOptions {
	var opt sse.CopyOptions
	if x.w.watching {
		opt.OnEvent, opt.Drop = x.w.onEvent, x.w.drop
	}
	if x.ep.end == nil {
		return opt
	}
	se := x.ep.end()
	opt.End = se.end
	if hold, drop := se.hold, opt.Drop; hold != nil && drop != nil {
		opt.Drop = func(ev sse.Event) bool { return hold(ev) || drop(ev) }
	} else if hold != nil {
		opt.Drop = hold
	}
	return opt
}

// copyBufs are the buffers non-streamed answers are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writerOnly hides the ResponseWriter's ReadFrom, which would copy through
// a buffer of its own instead of the pooled one.
type writerOnly struct{ io.Writer }

// isEventStream reports whether the Content-Type ct is an SSE stream's.
func isEventStream(ct string) bool { return mediaType(ct, "text/event-stream") }

// mediaType reports whether the Content-Type ct is of the media type mt
// (lower case), whatever its parameters: what mime.ParseMediaType would
// say for a well-formed value, without its allocations.
func mediaType(ct, mt string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), mt)
}
