// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"strings"
	"testing"
	"time"
)

func TestWriteText(t *testing.T) {
	r := report(found(1500*time.Millisecond), "timeout=1")
	r.URL = "https://api.example.com/v1/models"
	r.TLS.CipherSuite = "TLS_AES_128_GCM_SHA256"
	r.TLS.ResumptionChecked, r.TLS.Resumption = true, true
	r.MaxRequests = MaxRequestsResult{Sent: 200}
	var b strings.Builder
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"warmgate probe https://api.example.com/v1/models",
		"h2, TLS 1.3, TLS_AES_128_GCM_SHA256, resumption yes",
		"5 of 5 requests reused the connection; Keep-Alive: timeout=1",
		"new connection", "reused connection", "saved by reuse",
		"idle timeout   1.5s",
		"max requests   no limit in 200",
		"recommended client idle timeout: 800ms",
		"pool: {idle_timeout: 800ms, max_idle: 64, http2: true}",
		"    why: ",
		"warnings\n  ! ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
