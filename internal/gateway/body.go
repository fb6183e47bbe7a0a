// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// Reading a request body: bounded in size (server.max_body_bytes), in time
// (server.body_timeout, server.body_min_rate) and in memory (the buffer
// grows as bytes arrive, not as the Content-Length announces). A body the
// gateway does not read is dropped at once instead of drained.

import (
	"cmp"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/warmgate/warmgate/openai"
)

// unreadBodyGrace is how long a request body the gateway does not read
// (every route's but the relay's, and a refused request's) may still take
// to arrive. net/http reads such a body before the answer and after the
// handler (up to 256 KiB, or a chunked one to its end) so that the
// connection can serve the next request, and it sets no deadline of its
// own: a client trickling its body would hold the connection, without a
// key, for as long as it likes. A body sent along with its headers has
// arrived by then, and the connection is kept; else it is closed. It is
// net/http's own rstAvoidanceDelay: the time it gives a client to read an
// answer before closing a connection whose body is left unread.
const unreadBodyGrace = 500 * time.Millisecond

// firstBodyChunk is the buffer first allocated for a body whose announced
// size is larger: the buffer then grows as bytes arrive, so that a
// Content-Length promises nothing that the client has not sent.
const firstBodyChunk = 64 << 10

// dropUnreadBody gives r's body, if it has one, unreadBodyGrace to arrive
// from now; readBody, which reads it, gives it its own time. Over HTTP/2
// this is not needed: flow control bounds what the client may send, and
// the stream of a body left unread is reset when the handler returns.
func dropUnreadBody(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 1 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(unreadBodyGrace))
}

// readBody reads the whole request body, bounded by server.max_body_bytes,
// and in time: at every moment, the time spent reading it may not exceed
// server.body_timeout plus the bytes received so far divided by
// server.body_min_rate (Apache's mod_reqtimeout rule). A large upload on a
// slow but steady link gets the time it needs; a body that trickles is cut
// (408) after body_timeout. The deadline is the connection's (HTTP/1) or
// the stream's (HTTP/2) read deadline, cleared once the body has arrived
// (net/http clears the connection's itself when it sees the body's end),
// so that it never cuts the answer.
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.ContentLength > g.maxBody {
		return nil, tooLarge(g.maxBody)
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	tb := timedBody{body: r.Body, w: w, start: time.Now(),
		timeout: cmp.Or(g.cfg.Server.BodyTimeout, 20*time.Second), rate: cmp.Or(g.cfg.Server.BodyMinRate, 8<<10)}
	b, err := tb.readAll(r.ContentLength, g.maxBody)
	if err == nil {
		tb.setDeadline(time.Time{})
		return b, nil
	}
	// Whatever is left of the body is not read: net/http must not wait for
	// it (see unreadBodyGrace); after a body too slow, not at all.
	switch {
	case errors.Is(err, errBodyTooLarge):
		tb.setDeadline(time.Now().Add(unreadBodyGrace))
		return nil, tooLarge(g.maxBody)
	case errors.Is(err, os.ErrDeadlineExceeded):
		tb.setDeadline(time.Now())
		if r.ProtoMajor == 1 {
			w.Header().Set("Connection", "close")
		}
		return nil, &apiError{status: http.StatusRequestTimeout, typ: openai.TypeInvalidRequest, code: "body_timeout",
			message: "the request body arrived too slowly: after " + tb.timeout.String() + " it must keep up " +
				formatBytes(tb.rate) + " a second on average (server.body_timeout, server.body_min_rate)"}
	}
	tb.setDeadline(time.Now().Add(unreadBodyGrace))
	return nil, errBadRequest("body_read_error", "could not read the request body: "+err.Error())
}

var errBodyTooLarge = errors.New("request body too large")

// timedBody reads a request body under a read deadline that moves as bytes
// arrive (see readBody).
type timedBody struct {
	body    io.Reader
	w       http.ResponseWriter
	start   time.Time
	timeout time.Duration
	rate    int64     // bytes a second
	got     int64     // bytes read
	set     time.Time // the deadline in force
	off     bool      // the writer takes no read deadline (not net/http's)
}

// read reads into p, first moving the deadline to what the bytes received
// so far have earned. The deadline moves in steps of a quarter of the
// timeout, not at every read: over HTTP/2 each move is a message to the
// connection's goroutine.
func (t *timedBody) read(p []byte) (int, error) {
	if !t.off {
		earned := time.Duration(float64(t.got) / float64(t.rate) * float64(time.Second))
		if d := t.start.Add(t.timeout + earned); t.set.IsZero() || d.Sub(t.set) > t.timeout/4 {
			t.setDeadline(d)
		}
	}
	n, err := t.body.Read(p)
	t.got += int64(n)
	return n, err
}

func (t *timedBody) setDeadline(d time.Time) {
	if t.off {
		return
	}
	if err := http.NewResponseController(t.w).SetReadDeadline(d); err != nil {
		t.off = true // e.g. an httptest.ResponseRecorder: no deadline to set
		return
	}
	t.set = d
}

// readAll reads the body: exactly n bytes when n >= 0 (its Content-Length;
// fewer is io.ErrUnexpectedEOF), else to its end, and then errBodyTooLarge
// past max bytes. The buffer starts at n bytes when that is small (one
// allocation, the usual case), else small, and doubles as bytes arrive.
func (t *timedBody) readAll(n, max int64) ([]byte, error) {
	limit, first := n, min(n, firstBodyChunk)
	if n < 0 {
		limit, first = max, min(max, 4<<10)
	}
	b := make([]byte, 0, first)
	for {
		if len(b) == cap(b) {
			if int64(len(b)) == limit {
				if n >= 0 {
					return b, nil
				}
				// At the maximum, with no length announced: one byte more
				// is too much.
				var one [1]byte
				for {
					k, err := t.read(one[:])
					switch {
					case k > 0:
						return nil, errBodyTooLarge
					case err == io.EOF:
						return b, nil
					case err != nil:
						return nil, err
					}
				}
			}
			nb := make([]byte, len(b), min(2*int64(cap(b)), limit))
			copy(nb, b)
			b = nb
		}
		k, err := t.read(b[len(b):cap(b)])
		b = b[:len(b)+k]
		if err == io.EOF {
			if n >= 0 && int64(len(b)) < n {
				return nil, io.ErrUnexpectedEOF
			}
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// tooLarge is the 413 of a body over the gateway's limit of n bytes.
func tooLarge(n int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, typ: openai.TypeInvalidRequest, code: "body_too_large",
		message: "request body is larger than the gateway's limit of " + formatBytes(n) + " (server.max_body_bytes)"}
}
