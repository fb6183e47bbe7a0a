// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// FaultHeader is the request header that carries a per-request fault spec.
// It replaces the server-wide spec for that request.
const FaultHeader = "X-Mock-Fault"

// faultNames lists the known items in the order String writes them.
var faultNames = []string{"status", "retry_after", "times", "reset_after_chunks", "exception_after_chunks", "stall", "ttft", "drop_idle", "html",
	"retry_after_ms", "content_filter", "safety"}

// Fault is a parsed fault spec. The zero value is "no fault". Build one with
// [ParseFault]; String gives the canonical spec back.
type Fault struct {
	status     int // 0 = answer normally
	retryAfter int // seconds; meaningful when hasRetryAfter
	times      int // 0 = every matching request
	reset      int // reset_after_chunks; meaningful when hasReset
	exception  int // exception_after_chunks; meaningful when hasException
	stall      time.Duration
	ttft       time.Duration // meaningful when hasTTFT
	dropIdle   time.Duration
	html       bool
	// retryAfterMs is retry-after-ms in milliseconds; meaningful when
	// hasRetryAfterMs.
	retryAfterMs int
	// contentFilter is "prompt" (a 400 content_filter error) or "output"
	// (an answer with finish_reason content_filter); "" none.
	contentFilter string

	safety string // "prompt" or "response"; Gemini's routes only

	hasRetryAfter bool
	hasReset      bool
	hasException  bool
	hasTTFT       bool

	hasRetryAfterMs bool
}

// ParseFault parses a comma-separated list of name=value items (see the
// package documentation). "" and "none" are the zero Fault. The error names
// the offending item.
func ParseFault(spec string) (Fault, error) {
	var f Fault
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "none" {
		return f, nil
	}
	seen := make(map[string]bool)
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue // tolerate "a=1," and "a=1,,b=2"
		}
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return Fault{}, fmt.Errorf("mock: fault item %q: want name=value", item)
		}
		if seen[name] {
			return Fault{}, fmt.Errorf("mock: fault item %q: %s given twice", item, name)
		}
		seen[name] = true
		if err := f.set(name, value); err != nil {
			return Fault{}, fmt.Errorf("mock: fault item %q: %w", item, err)
		}
	}
	if f.times > 0 && !f.acts() {
		return Fault{}, fmt.Errorf("mock: fault %q: times=%d needs a fault to limit", spec, f.times)
	}
	if f.hasRetryAfterMs && f.status == 0 {
		f.status = 429
	}
	if f.contentFilter == "prompt" && f.status == 0 {
		f.status = 400 // what Azure answers a filtered prompt
	}
	if f.hasRetryAfter && f.status == 0 {
		f.status = 429 // Retry-After belongs to an error answer; 429 is where clients expect it
	}
	if f.html && f.status == 0 {
		f.status = 502 // what a proxy in front of a dead upstream answers
	}
	return f, nil
}

// set parses one item's value into f.
func (f *Fault) set(name, value string) error {
	var err error
	switch name {
	case "status":
		f.status, err = intIn(value, 400, 599, "an HTTP error status 400-599")
	case "retry_after":
		f.retryAfter, err = intIn(value, 0, 1<<31-1, "whole seconds >= 0")
		f.hasRetryAfter = true
	case "times":
		f.times, err = intIn(value, 1, 1<<31-1, "a count >= 1")
	case "reset_after_chunks":
		f.reset, err = intIn(value, 0, 1<<31-1, "a count >= 0")
		f.hasReset = true
	case "exception_after_chunks":
		f.exception, err = intIn(value, 0, 1<<31-1, "a count >= 0")
		f.hasException = true
	case "stall":
		f.stall, err = duration(value, false)
	case "ttft":
		f.ttft, err = duration(value, false)
		f.hasTTFT = true
	case "drop_idle":
		f.dropIdle, err = duration(value, true)
	case "safety":
		if value != "prompt" && value != "response" {
			err = errors.New("want prompt or response")
		}
		f.safety = value
	case "html":
		switch value {
		case "1", "true":
			f.html = true
		case "0", "false":
			f.html = false
		default:
			err = errors.New("want 1 or 0")
		}
	case "retry_after_ms":
		f.retryAfterMs, err = intIn(value, 0, 1<<31-1, "whole milliseconds >= 0")
		f.hasRetryAfterMs = true
	case "content_filter":
		switch value {
		case "1", "prompt":
			f.contentFilter = "prompt"
		case "output":
			f.contentFilter = "output"
		default:
			err = errors.New("want prompt (or 1) or output")
		}
	default:
		return fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(faultNames, ", "))
	}
	return err
}

func intIn(s string, lo, hi int, want string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want %s", want)
	}
	return n, nil
}

func duration(s string, positive bool) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, errors.New("want a duration like 500ms or 2s")
	case d < 0, positive && d == 0:
		return 0, errors.New("want a positive duration like 500ms or 2s")
	}
	return d, nil
}

// acts reports whether f does anything besides counting.
func (f Fault) acts() bool {
	return f.status != 0 || f.hasRetryAfter || f.hasReset || f.hasException || f.stall > 0 || f.hasTTFT || f.dropIdle > 0 || f.html ||
		f.hasRetryAfterMs || f.contentFilter != "" || f.safety != ""
}

// IsZero reports whether f is "no fault".
func (f Fault) IsZero() bool { return !f.acts() && f.times == 0 }

// String returns the canonical spec: items in a fixed order, defaults made
// explicit. ParseFault(f.String()) equals f.
func (f Fault) String() string {
	var items []string
	add := func(name, value string) { items = append(items, name+"="+value) }
	if f.status != 0 {
		add("status", strconv.Itoa(f.status))
	}
	if f.hasRetryAfter {
		add("retry_after", strconv.Itoa(f.retryAfter))
	}
	if f.times > 0 {
		add("times", strconv.Itoa(f.times))
	}
	if f.hasReset {
		add("reset_after_chunks", strconv.Itoa(f.reset))
	}
	if f.hasException {
		add("exception_after_chunks", strconv.Itoa(f.exception))
	}
	if f.stall > 0 {
		add("stall", f.stall.String())
	}
	if f.hasTTFT {
		add("ttft", f.ttft.String())
	}
	if f.dropIdle > 0 {
		add("drop_idle", f.dropIdle.String())
	}
	if f.html {
		add("html", "1")
	}
	if f.hasRetryAfterMs {
		add("retry_after_ms", strconv.Itoa(f.retryAfterMs))
	}
	if f.contentFilter != "" {
		add("content_filter", f.contentFilter)
	}
	if f.safety != "" {
		add("safety", f.safety)
	}
	return strings.Join(items, ",")
}

// requestFault returns the fault for r: the header's spec when the header is
// present (and non-empty), the server's otherwise.
func (s *Server) requestFault(r *http.Request) (Fault, error) {
	spec := r.Header.Get(FaultHeader)
	if spec == "" {
		return s.fault, nil
	}
	return ParseFault(spec)
}

// gate decides whether f applies to this request: drop_idle needs a
// connection idle for long enough, and times=N lets only the first N
// matching requests through. The count is keyed by the canonical spec, so
// clients retrying with the same header see the fault N times in all. The
// counts live as long as the server: one small entry per distinct spec.
func (s *Server) gate(f Fault, idle time.Duration) Fault {
	if f.IsZero() {
		return f
	}
	if f.dropIdle > 0 && idle < f.dropIdle {
		return Fault{}
	}
	if f.times > 0 {
		n, _ := s.faultCounts.LoadOrStore(f.String(), new(atomic.Int64))
		if n.(*atomic.Int64).Add(1) > int64(f.times) {
			return Fault{}
		}
	}
	return f
}
