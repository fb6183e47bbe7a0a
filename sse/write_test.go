// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestWriteEvent(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		data    string
		want    string
		wantErr error
	}{
		{name: "data only", data: "hello", want: "data: hello\n\n"},
		{name: "named", event: "error", data: `{"error":{"message":"upstream failed"}}`, want: "event: error\ndata: {\"error\":{\"message\":\"upstream failed\"}}\n\n"},
		{name: "empty data still dispatches", event: "ping", data: "", want: "event: ping\ndata: \n\n"},
		{name: "LF lines", data: "a\nb\nc", want: "data: a\ndata: b\ndata: c\n\n"},
		{name: "CRLF and CR lines", data: "a\r\nb\rc", want: "data: a\ndata: b\ndata: c\n\n"},
		{name: "trailing and blank lines", data: "a\n\n", want: "data: a\ndata: \ndata: \n\n"},
		{name: "leading space kept", data: " x", want: "data:  x\n\n"},
		{name: "data that looks like a field", data: "x\nevent: y\n\ndata: [DONE]", want: "data: x\ndata: event: y\ndata: \ndata: data: [DONE]\n\n"},
		{name: "name with line break", event: "a\nb", data: "x", wantErr: errBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &logWriter{}
			err := WriteEvent(l, tt.event, []byte(tt.data))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("WriteEvent error = %v, want %v", err, tt.wantErr)
			}
			if got := l.out.String(); got != tt.want {
				t.Errorf("wrote %q, want %q", got, tt.want)
			}
			if tt.wantErr == nil && l.log.String() != "wf" {
				t.Errorf("calls = %q, want one write and a flush", l.log.String())
			}
		})
	}
}

func TestWriteEventClientGone(t *testing.T) {
	broken := errors.New("broken pipe")
	err := WriteEvent(&failingWriter{err: broken}, "error", []byte("x"))
	if !errors.Is(err, ErrClientGone) || !errors.Is(err, broken) {
		t.Fatalf("WriteEvent error = %v, want ErrClientGone wrapping %v", err, broken)
	}
}

// FuzzWriteEvent checks that whatever the payload, a Reader gets back
// exactly one event with the same name and data (line breaks as LF).
func FuzzWriteEvent(f *testing.F) {
	f.Add("error", []byte(`{"error":{}}`))
	f.Add("", []byte("a\r\nb\rc\n"))
	f.Add(" x", []byte(""))
	f.Add(":", []byte("\n\n: [DONE]\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		var out bytes.Buffer
		err := WriteEvent(&out, name, data)
		if strings.ContainsAny(name, "\r\n") {
			if err == nil || out.Len() != 0 {
				t.Fatalf("name %q with a line break: err %v, wrote %q", name, err, out.String())
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		rd := NewReader(&out, len(out.Bytes())+1)
		ev, err := rd.Next()
		if err != nil {
			t.Fatalf("reading back %q: %v", out.String(), err)
		}
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data))
		if ev.Name != name || string(ev.Data) != want {
			t.Fatalf("read back name %q data %q, want %q %q", ev.Name, ev.Data, name, want)
		}
		if _, err := rd.Next(); err != io.EOF {
			t.Fatalf("more than one event in %q: %v", out.String(), err)
		}
	})
}
