// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// A stream is complete only once its dialect's end went out: an upstream
// whose body ends cleanly before it (a proxy or load balancer that cut the
// connection "politely", a crashed worker behind a keep-alive front) sent
// a short answer that every SDK would take for a whole one. The gateway
// then tells the client with an error event and an aborted response, as
// for any other mid-stream failure.

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/warmgate/warmgate/sse"
	"github.com/warmgate/warmgate/upstream"
)

// streamEnd is one stream's end-of-stream rule: end reports whether an
// event ends the stream (sse.CopyOptions.End); hold, when not nil, whether
// an event must not reach the client because relaying it would make an
// incomplete stream look whole.
type streamEnd struct {
	end, hold func(sse.Event) bool
}

// chatEnd is the end of a Chat Completions or (legacy) Completions stream:
// "data: [DONE]" after a chunk with a finish_reason. A [DONE] that comes
// without one ends a stream that was cut short upstream (a choice never
// finished): it is held back, so that the client gets the error event
// instead of an end that the SDKs take for a whole answer.
type chatEnd struct{ finished bool }

func newChatEnd() streamEnd {
	c := &chatEnd{}
	return streamEnd{end: c.end, hold: c.early}
}

func (c *chatEnd) end(ev sse.Event) bool {
	if ev.IsDone() {
		return c.finished
	}
	if !c.finished {
		c.finished = hasFinishReason(ev.Data)
	}
	return false
}

// early reports a [DONE] before any finish_reason.
func (c *chatEnd) early(ev sse.Event) bool { return !c.finished && ev.IsDone() }

var finishKey = []byte(`"finish_reason"`)

// hasFinishReason reports whether the chunk b has a "finish_reason" that is
// a string (not null, as in every chunk before the last of a choice). A
// "finish_reason" inside a string has its quotes escaped, so it does not
// match.
func hasFinishReason(b []byte) bool {
	for {
		i := bytes.Index(b, finishKey)
		if i < 0 {
			return false
		}
		esc := escaped(b, i)
		b = b[i+len(finishKey):]
		if esc {
			continue
		}
		rest := bytes.TrimLeft(b, " \t\r\n")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		if rest = bytes.TrimLeft(rest[1:], " \t\r\n"); len(rest) > 0 && rest[0] == '"' {
			return true
		}
	}
}

// responsesEnd is the end of a Responses API stream: its terminal events
// (response.completed, response.failed, response.incomplete) or an error
// event; the Responses API sends no [DONE].
func responsesEnd(ev sse.Event) bool {
	switch eventType(ev) {
	case "response.completed", "response.failed", "response.incomplete", "error":
		return true
	}
	return false
}

// eventType is the type of an event of the dialects that name their
// events (the Responses API, Anthropic's Messages): its SSE event field,
// or for a server that sends only data, its data's "type".
func eventType(ev sse.Event) string {
	if ev.Name != "" || !bytes.Contains(ev.Data, []byte(`"type"`)) {
		return ev.Name
	}
	var t struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(ev.Data, &t) != nil {
		return ""
	}
	return t.Type
}

// streamError is the error a failed stream is logged and told with: a
// stream that ended before its end event is the upstream's truncation.
func streamError(err error, rec *accessLog) error {
	if errors.Is(err, sse.ErrIncomplete) {
		return &upstream.Error{Kind: upstream.KindTruncated, Upstream: rec.upstream, Attempt: rec.attempt.Attempt, Err: err}
	}
	return err
}
