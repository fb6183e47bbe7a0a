// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package anthropic

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestContentRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means the same as in
	}{
		{name: "string", in: `"hi"`},
		{name: "blocks", in: `[{"type":"text","text":"hi"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]`},
		{name: "empty text keeps its field", in: `[{"type":"text","text":""}]`},
		{name: "tool use without input gets {}", in: `[{"type":"tool_use","id":"t","name":"f"}]`, want: `[{"type":"tool_use","id":"t","name":"f","input":{}}]`},
		{name: "tool result", in: `[{"type":"tool_result","tool_use_id":"t","content":"ok","is_error":true}]`},
		{name: "thinking", in: `[{"type":"thinking","thinking":"","signature":"s"},{"type":"redacted_thinking","data":"x"}]`},
		{name: "unknown type: only its type", in: `[{"type":"document","source":{"type":"text","data":"x"},"title":"t"}]`, want: `[{"type":"document"}]`},
		{name: "cache control kept", in: `[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Content
			if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestDeltaMarshal(t *testing.T) {
	end := StopEndTurn
	tests := []struct {
		in   Delta
		want string
	}{
		{Delta{Type: DeltaText}, `{"type":"text_delta","text":""}`},
		{Delta{Type: DeltaInputJSON}, `{"type":"input_json_delta","partial_json":""}`},
		{Delta{Type: DeltaThinking, Thinking: "x"}, `{"type":"thinking_delta","thinking":"x"}`},
		{Delta{Type: DeltaSignature, Signature: "s"}, `{"type":"signature_delta","signature":"s"}`},
		{Delta{StopReason: &end}, `{"stop_reason":"end_turn","stop_sequence":null}`},
	}
	for _, tt := range tests {
		got, _ := json.Marshal(tt.in)
		if string(got) != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}

func TestErrorTypesAndStatuses(t *testing.T) {
	for _, typ := range []string{TypeInvalidRequest, TypeAuthentication, TypeBilling, TypePermission, TypeNotFound,
		TypeRequestTooLarge, TypeRateLimit, TypeAPI, TypeTimeout, TypeOverloaded} {
		if got := TypeForStatus(StatusForType(typ)); got != typ {
			t.Errorf("TypeForStatus(StatusForType(%s)) = %s", typ, got)
		}
	}
	if got := TypeForStatus(503); got != TypeOverloaded {
		t.Errorf("503 is %s, want overloaded_error", got)
	}
	if got := TypeForStatus(418); got != TypeInvalidRequest {
		t.Errorf("418 is %s", got)
	}
	if got := TypeForStatus(502); got != TypeAPI {
		t.Errorf("502 is %s", got)
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, 429, TypeRateLimit, "slow down", "req_1", 3)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "3" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	e, err := ParseError(rec.Body.Bytes())
	if err != nil || e.Error.Type != TypeRateLimit || e.Error.Message != "slow down" || e.RequestID != "req_1" {
		t.Fatalf("body %s: %+v, %v", rec.Body, e, err)
	}
	if _, err := ParseError([]byte(`{"error":{"message":"x"}}`)); err == nil {
		t.Error("an OpenAI error parsed as an Anthropic one")
	}
}
