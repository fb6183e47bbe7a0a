// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Target != DefaultTarget || o.Path != DefaultPath || o.Requests != DefaultRequests ||
		o.Concurrency != DefaultConcurrency || o.Timeout != DefaultTimeout || o.MaxInFlight != DefaultMaxInFlight ||
		o.StatsURL != "http://127.0.0.1:8080/mock/stats" {
		t.Errorf("defaults: %+v", o)
	}
	var body map[string]any
	if err := json.Unmarshal(o.Body, &body); err != nil || body["model"] != DefaultModel || body["stream"] != nil {
		t.Errorf("default body %s: %v", o.Body, err)
	}

	o, err = Options{Duration: time.Second, Rate: 5}.withDefaults()
	if err != nil || o.Requests != 0 || o.Concurrency != 0 {
		t.Errorf("a duration lifts the request limit and a rate needs no workers: %+v, %v", o, err)
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Options
		want string
	}{
		{"scheme", Options{Target: "ftp://x/v1"}, "http:// or https://"},
		{"no host", Options{Target: "http:///v1"}, "no host"},
		{"path", Options{Path: "chat"}, "must start with /"},
		{"requests", Options{Requests: -1}, "requests"},
		{"duration", Options{Duration: -1}, "duration"},
		{"concurrency", Options{Concurrency: -1}, "concurrency"},
		{"rate", Options{Rate: -1}, "rate"},
		{"both loops", Options{Rate: 10, Concurrency: 2}, "not both"},
		{"model with body", Options{Body: []byte("{}"), Model: "m"}, "default body"},
		{"stream with body", Options{Body: []byte("{}"), Stream: true}, "default body"},
		{"timeout", Options{Timeout: -time.Second}, "timeout"},
		{"in flight", Options{MaxInFlight: -1}, "max in flight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(t.Context(), tc.in, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestLoadRootCAs(t *testing.T) {
	m := startMock(t, mock.Options{TLS: true})
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, m.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	pool, err := LoadRootCAs(ca)
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, Options{Target: m.URL() + "/v1", Requests: 2, RootCAs: pool}); r.OK != 2 {
		t.Errorf("ok = %d with the mock's CA loaded, errors %v", r.OK, r.ErrorsByClass)
	}

	junk := filepath.Join(dir, "junk.pem")
	_ = os.WriteFile(junk, []byte("not a certificate"), 0o600)
	if _, err := LoadRootCAs(junk); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("junk file: %v", err)
	}
	if _, err := LoadRootCAs(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("missing file: no error")
	}
}
