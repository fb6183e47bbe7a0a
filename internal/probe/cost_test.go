// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// A cold request pays the mock's handshake delay; a warm one does not.
// TLS fields, resumption and the JSON shape come from the same run.
func TestColdWarmTLS(t *testing.T) {
	t.Parallel()
	const delay = 50 * time.Millisecond
	s := startMock(t, mock.Options{TLS: true, HandshakeDelay: delay})
	o := options(s)
	o.IdleMax = -1
	o.Samples = 4
	r := run(t, o)

	if r.Protocol != "h2" || r.TLS == nil || r.TLS.ALPN != "h2" {
		t.Fatalf("Protocol %q, TLS %+v: want h2 by ALPN", r.Protocol, r.TLS)
	}
	if r.TLS.Version != "TLS 1.3" || r.TLS.CipherSuite == "" {
		t.Errorf("TLS = %+v, want TLS 1.3 and a cipher suite", r.TLS)
	}
	if !r.TLS.ResumptionChecked || !r.TLS.Resumption {
		t.Errorf("resumption checked %v, worked %v; the mock resumes TLS 1.3 sessions", r.TLS.ResumptionChecked, r.TLS.Resumption)
	}
	if r.Cold.Total.P50 <= r.Warm.Total.P50 {
		t.Errorf("cold p50 %v <= warm p50 %v", r.Cold.Total.P50, r.Warm.Total.P50)
	}
	if r.Cold.Handshake.P50 < delay {
		t.Errorf("handshake p50 %v < the mock's handshake delay %v", r.Cold.Handshake.P50, delay)
	}
	if r.Warm.Reused != o.Samples || !r.KeepAlive {
		t.Errorf("warm reused %d of %d (KeepAlive %v)", r.Warm.Reused, o.Samples, r.KeepAlive)
	}
	if r.Idle.Skipped == "" || r.Idle.Found {
		t.Errorf("idle search ran with IdleMax < 0: %+v", r.Idle)
	}
	if st := s.Stats(); st.TLSHandshakes < int64(o.Samples)+3 {
		t.Errorf("the mock counted %d TLS handshakes, want at least %d (cold, resumption, warm)", st.TLSHandshakes, o.Samples+3)
	}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"protocol", "tls_version", "cold_p50_ms", "warm_p50_ms", "handshake_p50_ms",
		"idle_timeout_seconds", "keepalive_header", "recommended_idle_timeout_seconds"} {
		if _, ok := j[k]; !ok {
			t.Errorf("JSON has no %q: %s", k, b)
		}
	}
	if j["protocol"] != "h2" || j["tls_version"] != "TLS 1.3" || j["idle_timeout_seconds"] != nil || j["keepalive_header"] != nil {
		t.Errorf("JSON protocol %v, tls_version %v, idle_timeout_seconds %v, keepalive_header %v",
			j["protocol"], j["tls_version"], j["idle_timeout_seconds"], j["keepalive_header"])
	}
	if cold, warm := j["cold_p50_ms"].(float64), j["warm_p50_ms"].(float64); cold <= warm || j["handshake_p50_ms"].(float64) < 50 {
		t.Errorf("JSON cold_p50_ms %v, warm_p50_ms %v, handshake_p50_ms %v", cold, warm, j["handshake_p50_ms"])
	}
}
