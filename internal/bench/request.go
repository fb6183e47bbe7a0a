// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptrace"
	"strings"
	"time"
)

// sender sends one run's requests; it is shared by the run's goroutines
// and read-only after newSender.
type sender struct {
	c       *client
	url     string
	body    []byte
	header  http.Header // Content-Type, Authorization, Options.Header
	timeout time.Duration
}

func newSender(o Options, c *client) *sender {
	h := o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	if o.APIKey != "" {
		h.Set("Authorization", "Bearer "+o.APIKey)
	}
	return &sender{c: c, url: o.Target + o.Path, body: o.Body, header: h, timeout: o.Timeout}
}

// send sends one request and reads its answer to the end. Its latency runs
// from start, which is the request's scheduled start in an open loop (and
// may be in the past), so time spent waiting to be sent counts.
func (s *sender) send(ctx context.Context, start time.Time) outcome {
	rctx, cancel := context.WithDeadline(ctx, start.Add(s.timeout))
	defer cancel()
	o := outcome{first: -1}
	fail := func(err error) outcome {
		switch {
		case ctx.Err() != nil:
			o.canceled = true // Ctrl-C, not the target's fault
		case rctx.Err() != nil:
			o.err = timeoutError{err} // whatever the transport made of our deadline
		default:
			o.err = err
		}
		return o
	}

	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(rctx, s.c.trace),
		http.MethodPost, s.url, bytes.NewReader(s.body))
	if err != nil {
		return fail(err)
	}
	req.Header = s.header.Clone()
	resp, err := s.c.hc.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()

	body := io.Reader(resp.Body)
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if !ok {
		// Keep what the answer says went wrong, for Result.Failed.
		var b bytes.Buffer
		if _, err := io.Copy(&b, io.LimitReader(resp.Body, maxErrorBody)); err != nil {
			return fail(err)
		}
		o.detail = errorMessage(b.Bytes())
	}
	if ok && isSSE(resp.Header) {
		br := bufio.NewReader(resp.Body)
		body = br
		found, err := firstData(br)
		if err != nil {
			return fail(err)
		}
		if found {
			o.first = time.Since(start)
		}
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return fail(err)
	}
	o.latency = time.Since(start)
	o.status, o.proto = resp.StatusCode, resp.Proto
	return o
}

// timeoutError marks an error caused by the request's own deadline, which
// the transport may report as "context deadline exceeded", "request
// canceled" or a closed connection, depending on where it struck.
type timeoutError struct{ err error }

func (e timeoutError) Error() string   { return e.err.Error() }
func (e timeoutError) Unwrap() error   { return e.err }
func (e timeoutError) Timeout() bool   { return true }
func (e timeoutError) Temporary() bool { return false }

// isSSE reports whether the answer is an event stream.
func isSSE(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "text/event-stream"
}

var dataField = []byte("data:")

// firstData reads br up to and including the first SSE line that starts
// with "data:", and reports whether there was one before the end of the
// stream. Lines of any length are fine: only their starts are looked at.
func firstData(br *bufio.Reader) (bool, error) {
	lineStart := true
	for {
		line, err := br.ReadSlice('\n')
		if lineStart && bytes.HasPrefix(line, dataField) {
			return true, nil
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			lineStart = false // the rest of a long line
		case errors.Is(err, io.EOF):
			return false, nil
		case err != nil:
			return false, err
		default:
			lineStart = true
		}
	}
}

// maxErrorBody bounds how much of a non-2xx answer is read for its error
// message; the rest is read and discarded as usual.
const maxErrorBody = 64 << 10

// errorMessage is the error.message of an OpenAI- or Anthropic-shaped error
// body, shortened; "" for any other body.
func errorMessage(b []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return ""
	}
	m := strings.TrimSpace(e.Error.Message)
	if len(m) > 200 {
		m = strings.ToValidUTF8(m[:200], "") + "…"
	}
	return m
}
