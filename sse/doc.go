// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package sse reads and relays Server-Sent Events streams, such as the
// streaming responses of OpenAI-compatible APIs, without buffering more than
// one event.
//
// The package has three parts:
//
//   - [Reader] splits a stream into events following the WHATWG
//     "event stream" parsing rules (LF, CRLF and CR line endings, comments,
//     the optional leading byte-order mark). Each [Event] keeps its raw bytes,
//     so it can be forwarded unchanged, next to the parsed data and event name.
//     An event may not grow past a bound ([DefaultMaxEvent] unless set), so a
//     hostile or broken upstream cannot make the reader allocate without limit.
//   - [Copy] relays a stream event by event: it writes each event as it is
//     read and flushes before it waits for the source again (events that
//     came together go out in one flush; none waits unflushed), enforces an
//     idle timeout between events, and reports how the
//     stream went ([CopyResult]). It never invents bytes: in particular it never
//     sends a "data: [DONE]" that the upstream did not send. Given the
//     dialect's end of stream ([CopyOptions.End]), it reports a source that
//     ended cleanly before it as [ErrIncomplete].
//   - [WriteEvent] frames a payload of our own, such as an error event sent
//     after an upstream failed mid-stream.
//
// Errors are sentinel values to test with [errors.Is]: [ErrEventTooLong],
// [ErrIdleTimeout], [ErrClientGone], [ErrIncomplete], and [io.ErrUnexpectedEOF]
// for a stream that ended inside an event.
//
// A typical relay in an HTTP handler:
//
//	res, err := sse.Copy(r.Context(), w, resp.Body, sse.CopyOptions{
//		IdleTimeout: time.Minute,
//		End:         sse.Event.IsDone, // a stream cut before [DONE] is ErrIncomplete
//	})
//	switch {
//	case err == nil:
//	case errors.Is(err, sse.ErrClientGone), r.Context().Err() != nil:
//		// Nobody is listening; just stop.
//	case !res.Done:
//		_ = sse.WriteEvent(w, "error", errBody)
//		panic(http.ErrAbortHandler) // the client must see a broken stream
//	}
package sse
