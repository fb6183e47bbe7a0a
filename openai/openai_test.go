package openai

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		code       string
		retryAfter int
		wantRA     string
		wantCode   any
	}{
		{name: "with code", status: 404, code: "model_not_found", wantCode: "model_not_found"},
		{name: "null code", status: 400, wantCode: nil},
		{name: "retry after", status: 429, code: "rate_limited", retryAfter: 3, wantRA: "3", wantCode: "rate_limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.status, TypeInvalidRequest, tt.code, "bad thing", tt.retryAfter)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRA {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRA)
			}
			var body map[string]map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
			}
			e := body["error"]
			if e["message"] != "bad thing" || e["type"] != TypeInvalidRequest || e["code"] != tt.wantCode {
				t.Errorf("error body = %v", e)
			}
		})
	}
}

func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4.1","stream":true}`))
	f.Add([]byte(`{"model":1}`))
	f.Add([]byte(`[[[[[[[[[[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Envelope
		_ = json.Unmarshal(b, &e)
	})
}
