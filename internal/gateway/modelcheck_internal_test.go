// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import "testing"

func TestBodyKind(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", bodyJSON},
		{"application/json", bodyJSON},
		{"Application/JSON; charset=utf-8", bodyJSON},
		{"text/json", bodyJSON},
		{"application/vnd.api+json", bodyJSON},
		{"application/merge-patch+JSON ; x=y", bodyJSON},
		{"multipart/form-data; boundary=abc", bodyMultipart},
		{"application/x-www-form-urlencoded", bodyURLEncoded},
		{"text/plain", bodyOther},
		{"application/octet-stream", bodyOther},
		{"application/jsonl", bodyOther},
		{"+json", bodyOther},
	}
	for _, tt := range tests {
		if got := bodyKind(tt.in); got != tt.want {
			t.Errorf("bodyKind(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestExtendedName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`form-data; name="model"`, false},
		{`form-data; name="file"; filename*=utf-8''sp%C3%A9ech.mp3`, false},
		{`form-data; name*=utf-8''model`, true},
		{`form-data; filename="a.mp3";  NAME*=utf-8''model`, true},
		{`form-data;name*0="mo"; name*1="del"`, true},
	}
	for _, tt := range tests {
		if got := extendedName(tt.in); got != tt.want {
			t.Errorf("extendedName(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestUTF8Charset(t *testing.T) {
	for in, want := range map[string]bool{
		"application/json":                      true,
		"application/json; charset=utf-8":       true,
		`application/json; charset="UTF8"`:      true,
		"application/json; charset=utf-16":      false,
		"application/json; charset=utf-7":       false,
		"application/json; charset=":            false,
		"application/json; x=1; charset=latin1": false,
	} {
		if got := utf8Charset(in); got != want {
			t.Errorf("utf8Charset(%q) = %v, want %v", in, got, want)
		}
	}
}
