// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"testing/synctest"
)

// rec is an Event copied out of the Reader's buffers, comparable with ==.
type rec struct{ Raw, Data, Name string }

func recOf(ev Event) rec { return rec{string(ev.Raw), string(ev.Data), ev.Name} }

// readAll reads events until an error and returns them, the final error and
// the event returned with it (the partial event, if any).
func readAll(t testing.TB, r io.Reader, maxEvent int) (evs []rec, last rec, err error) {
	t.Helper()
	rd := NewReader(r, maxEvent)
	for range 1 << 20 {
		ev, err := rd.Next()
		if err != nil {
			return evs, recOf(ev), err
		}
		evs = append(evs, recOf(ev))
	}
	t.Fatal("Next never returned an error")
	return nil, rec{}, nil
}

func TestReaderFraming(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		maxEvent int
		want     []rec
		wantErr  error
		wantLast rec // event returned with the error
	}{
		{
			name:    "empty stream",
			in:      "",
			wantErr: io.EOF,
		},
		{
			name:    "LF",
			in:      "data: hello\n\n",
			want:    []rec{{"data: hello\n\n", "hello", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "CRLF",
			in:      "data: a\r\ndata: b\r\n\r\n",
			want:    []rec{{"data: a\r\ndata: b\r\n\r\n", "a\nb", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "CR",
			in:      "data: a\rdata: b\r\r",
			want:    []rec{{"data: a\rdata: b\r\r", "a\nb", ""}},
			wantErr: io.EOF,
		},
		{
			name: "mixed line endings",
			in:   "data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r",
			want: []rec{
				{"data: a\r\ndata: b\rdata: c\n\r\n", "a\nb\nc", ""},
				{"data: d\r\r", "d", ""},
			},
			wantErr: io.EOF,
		},
		{
			name: "several events",
			in:   "data: 1\n\ndata: 2\n\ndata: 3\n\n",
			want: []rec{
				{"data: 1\n\n", "1", ""},
				{"data: 2\n\n", "2", ""},
				{"data: 3\n\n", "3", ""},
			},
			wantErr: io.EOF,
		},
		{
			name:    "multi-line data",
			in:      "data: {\"a\":\ndata: 1}\ndata:\ndata: end\n\n",
			want:    []rec{{"data: {\"a\":\ndata: 1}\ndata:\ndata: end\n\n", "{\"a\":\n1}\n\nend", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "only one space after the colon is removed",
			in:      "data:x\n\ndata:  y\n\n",
			want:    []rec{{"data:x\n\n", "x", ""}, {"data:  y\n\n", " y", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "field without colon has an empty value",
			in:      "data\ndata\n\n",
			want:    []rec{{"data\ndata\n\n", "\n", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "comment is an event with empty data",
			in:      ": keep-alive\n\n",
			want:    []rec{{": keep-alive\n\n", "", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "comment inside an event is kept in Raw only",
			in:      ": OPENROUTER PROCESSING\ndata: x\n:\n\n",
			want:    []rec{{": OPENROUTER PROCESSING\ndata: x\n:\n\n", "x", ""}},
			wantErr: io.EOF,
		},
		{
			name: "event names do not carry over",
			in:   "event: message_start\ndata: {}\n\ndata: plain\n\nevent: a\nevent: b\n\n",
			want: []rec{
				{"event: message_start\ndata: {}\n\n", "{}", "message_start"},
				{"data: plain\n\n", "plain", ""},
				{"event: a\nevent: b\n\n", "", "b"},
			},
			wantErr: io.EOF,
		},
		{
			name:    "error event",
			in:      "event: error\ndata: {\"error\":{\"message\":\"x\"}}\n\n",
			want:    []rec{{"event: error\ndata: {\"error\":{\"message\":\"x\"}}\n\n", "{\"error\":{\"message\":\"x\"}}", "error"}},
			wantErr: io.EOF,
		},
		{
			name:    "id, retry and unknown fields are ignored",
			in:      "id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n",
			want:    []rec{{"id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n", "x", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "empty events",
			in:      "\n\r\n\r",
			want:    []rec{{"\n", "", ""}, {"\r\n", "", ""}, {"\r", "", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "done",
			in:      "data: {}\n\ndata: [DONE]\n\n",
			want:    []rec{{"data: {}\n\n", "{}", ""}, {"data: [DONE]\n\n", "[DONE]", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "leading BOM is ignored but kept in Raw",
			in:      "\xEF\xBB\xBFdata: x\n\n",
			want:    []rec{{"\xEF\xBB\xBFdata: x\n\n", "x", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "BOM alone on the first line is a blank line",
			in:      "\xEF\xBB\xBF\ndata: x\n\n",
			want:    []rec{{"\xEF\xBB\xBF\n", "", ""}, {"data: x\n\n", "x", ""}},
			wantErr: io.EOF,
		},
		{
			name:    "BOM is only special at the start",
			in:      "data: a\n\n\xEF\xBB\xBFdata: b\n\n",
			want:    []rec{{"data: a\n\n", "a", ""}, {"\xEF\xBB\xBFdata: b\n\n", "", ""}},
			wantErr: io.EOF,
		},
		{
			name:     "partial last line",
			in:       "data: a\n\ndata: b",
			want:     []rec{{"data: a\n\n", "a", ""}},
			wantErr:  io.ErrUnexpectedEOF,
			wantLast: rec{"data: b", "", ""},
		},
		{
			name:     "partial last event",
			in:       "data: a\n\nevent: x\ndata: b\n",
			want:     []rec{{"data: a\n\n", "a", ""}},
			wantErr:  io.ErrUnexpectedEOF,
			wantLast: rec{"event: x\ndata: b\n", "b", "x"},
		},
		{
			name:     "partial CRLF event",
			in:       "data: a\r\n",
			wantErr:  io.ErrUnexpectedEOF,
			wantLast: rec{"data: a\r\n", "a", ""},
		},
		{
			name:     "event exactly at the bound",
			in:       "data: 12345678\n\n",
			maxEvent: 16,
			want:     []rec{{"data: 12345678\n\n", "12345678", ""}},
			wantErr:  io.EOF,
		},
		{
			name:     "event one byte over the bound",
			in:       "data: ok\n\ndata: 123456789\n\ndata: later\n\n",
			maxEvent: 16,
			want:     []rec{{"data: ok\n\n", "ok", ""}},
			wantErr:  ErrEventTooLong,
			wantLast: rec{"data: 123456789\n", "123456789", ""},
		},
		{
			name:     "line longer than the bound",
			in:       "data: " + strings.Repeat("x", 100) + "\n\n",
			maxEvent: 16,
			wantErr:  ErrEventTooLong,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, last, err := readAll(t, strings.NewReader(tt.in), tt.maxEvent)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if !equalRecs(evs, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", evs, tt.want)
			}
			if tt.wantErr != ErrEventTooLong && last != tt.wantLast {
				t.Errorf("event with error = %q, want %q", last, tt.wantLast)
			}
		})
		// The same stream delivered one byte per Read: every line ending is
		// split across reads. Raw may then be cut differently (a CRLF split
		// after an event's final CR), but the parsed events may not change
		// and the Raw bytes must still add up to the stream.
		t.Run(tt.name+"/one byte reads", func(t *testing.T) {
			evs, last, err := readAll(t, iotest.OneByteReader(strings.NewReader(tt.in)), tt.maxEvent)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if len(evs) != len(tt.want) {
				t.Fatalf("got %d events %q, want %d", len(evs), evs, len(tt.want))
			}
			var raw strings.Builder
			for i, ev := range evs {
				raw.WriteString(ev.Raw)
				if ev.Data != tt.want[i].Data || ev.Name != tt.want[i].Name {
					t.Errorf("event %d = %q, want %q", i, ev, tt.want[i])
				}
			}
			if tt.wantErr == ErrEventTooLong {
				return
			}
			raw.WriteString(last.Raw)
			if got := raw.String(); got != tt.in && got+"\n" != tt.in {
				t.Errorf("Raw bytes add up to %q, want %q", got, tt.in)
			}
		})
	}
}

func equalRecs(a, b []rec) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEventIsDone(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "done", in: "data: [DONE]\n\n", want: true},
		{name: "done without space", in: "data:[DONE]\n\n", want: true},
		{name: "done CRLF", in: "data: [DONE]\r\n\r\n", want: true},
		{name: "done with comment", in: ": bye\ndata: [DONE]\n\n", want: true},
		{name: "chunk", in: "data: {\"choices\":[]}\n\n", want: false},
		{name: "trailing space", in: "data: [DONE] \n\n", want: false},
		{name: "lower case", in: "data: [done]\n\n", want: false},
		{name: "second data line", in: "data: [DONE]\ndata: x\n\n", want: false},
		{name: "not a data field", in: "event: [DONE]\n\n", want: false},
		{name: "comment", in: ": [DONE]\n\n", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := NewReader(strings.NewReader(tt.in), 0).Next()
			if err != nil {
				t.Fatal(err)
			}
			if got := ev.IsDone(); got != tt.want {
				t.Errorf("IsDone() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReaderErrorIsSticky: after a failure, Next keeps failing rather than
// resynchronising in the middle of an event.
func TestReaderErrorIsSticky(t *testing.T) {
	rd := NewReader(strings.NewReader("data: "+strings.Repeat("x", 64)+"\n\ndata: ok\n\n"), 32)
	for range 3 {
		if _, err := rd.Next(); !errors.Is(err, ErrEventTooLong) {
			t.Fatalf("Next() error = %v, want ErrEventTooLong", err)
		}
	}
}

// TestReaderReadError: a read error other than EOF is returned as is, with
// the part of the event read before it.
func TestReaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	evs, last, err := readAll(t, r, 0)
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v, want %v", err, boom)
	}
	if want := []rec{{"data: a\n\n", "a", ""}}; !equalRecs(evs, want) {
		t.Errorf("events = %q, want %q", evs, want)
	}
	if want := (rec{"data: b\n", "b", ""}); last != want {
		t.Errorf("partial event = %q, want %q", last, want)
	}
}

// TestReaderCRDoesNotWaitForLF: an event ended by CR is returned at once;
// the Reader does not block to see whether an LF follows.
func TestReaderCRDoesNotWaitForLF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pr.Close()
		go func() { _, _ = pw.Write([]byte("data: x\r\r")) }()

		got := make(chan rec, 1)
		go func() {
			ev, err := NewReader(pr, 0).Next()
			if err != nil {
				t.Error(err)
			}
			got <- recOf(ev)
		}()
		synctest.Wait()
		select {
		case ev := <-got:
			if want := (rec{"data: x\r\r", "x", ""}); ev != want {
				t.Errorf("event = %q, want %q", ev, want)
			}
		default:
			pw.Close()
			<-got
			t.Fatal("Next waited for more input after a complete CR-terminated event")
		}
	})
}

// TestReaderSplitCRLF: the LF of a CRLF that ended an event but arrived in
// a later read is attributed to the next event's Raw and not taken for a
// blank line; alone before EOF, it is dropped.
func TestReaderSplitCRLF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		rd := NewReader(pr, 0)
		next := func() (rec, error) {
			ev, err := rd.Next()
			return recOf(ev), err
		}
		write := func(s string) {
			go func() { _, _ = pw.Write([]byte(s)) }()
		}

		write("data: a\r\n\r")
		if ev, err := next(); err != nil || ev != (rec{"data: a\r\n\r", "a", ""}) {
			t.Fatalf("event 1 = %q, %v", ev, err)
		}
		write("\ndata: b\r\n\r")
		if ev, err := next(); err != nil || ev != (rec{"\ndata: b\r\n\r", "b", ""}) {
			t.Fatalf("event 2 = %q, %v", ev, err)
		}
		write("\n")
		synctest.Wait()
		pw.Close()
		if ev, err := next(); err != io.EOF || ev != (rec{}) {
			t.Fatalf("after lone LF: %q, %v; want io.EOF", ev, err)
		}
	})
}

// TestReaderMemoryBounded: a stream that never ends its line cannot make the
// Reader hold more than its bound.
func TestReaderMemoryBounded(t *testing.T) {
	const maxEvent = 1000
	src := io.MultiReader(strings.NewReader("data: "), iotest.OneByteReader(&endless{b: 'x', n: 1 << 20}))
	rd := NewReader(src, maxEvent)
	if _, err := rd.Next(); !errors.Is(err, ErrEventTooLong) {
		t.Fatalf("Next() error = %v, want ErrEventTooLong", err)
	}
	if cap(rd.raw) > maxEvent || cap(rd.data) > maxEvent {
		t.Errorf("buffers grew to %d and %d bytes, bound is %d", cap(rd.raw), cap(rd.data), maxEvent)
	}
}

// TestReaderDefaultMaxEvent: maxEvent <= 0 selects DefaultMaxEvent.
func TestReaderDefaultMaxEvent(t *testing.T) {
	for _, n := range []int{0, -1} {
		if got := NewReader(strings.NewReader(""), n).max; got != DefaultMaxEvent {
			t.Errorf("NewReader(r, %d) bound = %d, want %d", n, got, DefaultMaxEvent)
		}
	}
}

// endless yields n copies of b, then EOF.
type endless struct {
	b byte
	n int
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(len(p), e.n)]
	for i := range p {
		p[i] = e.b
	}
	e.n -= len(p)
	return len(p), nil
}

// FuzzReader checks that the Reader terminates on any input without
// panicking, never holds more than its bound, reproduces its input in Raw,
// and parses as a straightforward reference implementation of the spec does.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "data: a\r\ndata: b\r\n\r\n", "data: a\rdata: b\r\r", ": hb\n\n",
		"event: x\ndata: y\n\n", "\n\n\n", "data: [DONE]\n\n", "data: partial",
		"\xEF\xBB\xBFdata: bom\n\n", "data\ndata:\ndata: \n\n", "data: a\r\n\r\ndata: b\r",
	} {
		f.Add([]byte(s), uint16(0), false)
		f.Add([]byte(s), uint16(8), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, maxEvent uint16, oneByte bool) {
		var src io.Reader = bytes.NewReader(in)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		rd := NewReader(src, int(maxEvent))
		var evs []rec
		var raw []byte
		var err error
		for i := 0; ; i++ {
			if i > len(in)+1 {
				t.Fatalf("more events than input bytes")
			}
			var ev Event
			ev, err = rd.Next()
			if len(ev.Raw) > rd.max || cap(rd.raw) > rd.max || cap(rd.data) > rd.max {
				t.Fatalf("event buffers %d/%d exceed bound %d", cap(rd.raw), cap(rd.data), rd.max)
			}
			raw = append(raw, ev.Raw...)
			if err != nil {
				break
			}
			if len(ev.Raw) == 0 {
				t.Fatal("empty event without error")
			}
			evs = append(evs, rec{Data: string(ev.Data), Name: ev.Name})
		}
		if errors.Is(err, ErrEventTooLong) {
			if !bytes.HasPrefix(in, raw) {
				t.Fatalf("Raw bytes %q are not a prefix of the input", raw)
			}
			return
		}
		// Raw reproduces the input but for the two documented exceptions.
		splitCRLF := bytes.HasSuffix(in, []byte("\r\n")) && bytes.Equal(append(raw, '\n'), in)
		onlyBOM := bytes.Equal(in, utf8BOM) && len(raw) == 0
		if !bytes.Equal(raw, in) && !splitCRLF && !onlyBOM {
			t.Fatalf("Raw bytes add up to %q, want %q", raw, in)
		}
		want, partial := refParse(in)
		wantErr := io.EOF
		if partial {
			wantErr = io.ErrUnexpectedEOF
		}
		if err != wantErr {
			t.Fatalf("error = %v, want %v", err, wantErr)
		}
		if !equalRecs(evs, want) {
			t.Fatalf("events:\n got %q\nwant %q", evs, want)
		}
	})
}

// refParse is a reference parser written straight from the WHATWG steps,
// working on the whole input. It returns the events' Data and Name, and
// whether the input ends inside an event.
func refParse(in []byte) (evs []rec, partial bool) {
	in = bytes.TrimPrefix(in, utf8BOM)
	var data []string
	var name string
	pending := false
	for len(in) > 0 {
		i := bytes.IndexAny(in, "\r\n")
		if i < 0 {
			return evs, true // unterminated last line
		}
		line := string(in[:i])
		if in[i] == '\r' && i+1 < len(in) && in[i+1] == '\n' {
			i++
		}
		in = in[i+1:]
		if line == "" {
			evs = append(evs, rec{Data: strings.Join(data, "\n"), Name: name})
			data, name, pending = nil, "", false
			continue
		}
		pending = true
		field, value, found := strings.Cut(line, ":")
		if found && field == "" {
			continue // comment
		}
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "data":
			data = append(data, value)
		case "event":
			name = value
		}
	}
	return evs, pending
}

// TestReaderNextAllocs: once its buffers have grown, the Reader allocates
// nothing per event, a named one included.
func TestReaderNextAllocs(t *testing.T) {
	ev := []byte("event: delta\ndata: {\"choices\":[{\"delta\":{\"content\":\"tok\"}}]}\ndata: second line\n\n")
	rd := NewReader(&repeater{b: ev}, 0)
	if _, err := rd.Next(); err != nil { // warm up
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if ev, err := rd.Next(); err != nil || ev.Name != "delta" {
			t.Fatalf("Next() = %q, %v", ev.Raw, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Next allocates %v times per event, want 0", allocs)
	}
}

// repeater yields b over and over, in reads that cut events anywhere.
type repeater struct {
	b   []byte
	off int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}

// waitChecker is a source that hands out one event per Read and, at each
// Read (the Reader waits for its next event, with nothing buffered),
// records the Reader's event buffers.
type waitChecker struct {
	rd     *Reader
	events []string
	held   []int // cap(raw)+cap(data) at each wait
}

func (w *waitChecker) Read(p []byte) (int, error) {
	w.held = append(w.held, cap(w.rd.raw)+cap(w.rd.data))
	if len(w.events) == 0 {
		return 0, io.EOF
	}
	n := copy(p, w.events[0])
	w.events = w.events[1:]
	return n, nil
}

// TestReaderHoldsNoEventBuffersWhileWaiting: a Reader waiting for its next
// event (a relay holds thousands, each waiting seconds between events)
// holds no event buffers: they go back to a pool, and come back when bytes
// arrive. The events read are whole all the same.
func TestReaderHoldsNoEventBuffersWhileWaiting(t *testing.T) {
	src := &waitChecker{events: []string{"data: {\"a\":1}\n\n", "event: x\ndata: {\"b\":2}\n\n", "data: [DONE]\n\n"}}
	rd := NewReader(src, 0)
	src.rd = rd
	var got []string
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Name+"|"+string(ev.Data))
	}
	if want := []string{`|{"a":1}`, `x|{"b":2}`, "|[DONE]"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	for i, n := range src.held {
		if n != 0 {
			t.Errorf("wait %d: the Reader held %d bytes of event buffers, want 0", i+1, n)
		}
	}
	if len(src.held) != 4 {
		t.Errorf("%d waits recorded, want 4 (before each event and before the end)", len(src.held))
	}
}
