// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"strings"
	"testing"
)

// TestTracingParse: the tracing block, its defaults, and its errors with
// key and line.
func TestTracingParse(t *testing.T) {
	const up = "upstreams:\n  - name: a\n    base_url: http://x\n" // lines 1-3

	c, err := Parse([]byte(up), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing.OTLPEndpoint != "" || c.Tracing.Ratio() != 0.01 || c.Tracing.PerSecond() != 10 || c.Tracing.Service() != "warmgate" {
		t.Errorf("defaults: endpoint %q, ratio %v, per second %v, service %q; want off, 0.01, 10, warmgate",
			c.Tracing.OTLPEndpoint, c.Tracing.Ratio(), c.Tracing.PerSecond(), c.Tracing.Service())
	}

	c, err = Parse([]byte(up+"tracing:\n  otlp_endpoint: ${COLLECTOR}\n  sample_ratio: 0\n  sample_per_second: 0\n  service_name: gw-eu\n"),
		env(map[string]string{"COLLECTOR": "http://otel:4318"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing.OTLPEndpoint != "http://otel:4318" || c.Tracing.Ratio() != 0 || c.Tracing.PerSecond() != 0 || c.Tracing.Service() != "gw-eu" {
		t.Errorf("got endpoint %q, ratio %v, per second %v, service %q", c.Tracing.OTLPEndpoint, c.Tracing.Ratio(), c.Tracing.PerSecond(), c.Tracing.Service())
	}

	for _, tc := range []struct {
		name     string
		in       string
		wantLine int
		want     string
	}{
		{"unknown key", "tracing: {endpoint: http://otel:4318}\n", 4, `unknown key "endpoint" in tracing`},
		{"relative URL", "tracing: {otlp_endpoint: otel:4318}\n", 4, `tracing.otlp_endpoint: invalid URL "otel:4318"`},
		{"grpc scheme", "tracing: {otlp_endpoint: grpc://otel:4317}\n", 4, `tracing.otlp_endpoint: invalid URL`},
		{"ratio above 1", "tracing:\n  sample_ratio: 2\n", 5, `tracing.sample_ratio: sample_ratio 2 is outside 0..1`},
		{"negative ratio", "tracing: {sample_ratio: -0.5}\n", 4, `outside 0..1`},
		{"ratio NaN", "tracing: {sample_ratio: .nan}\n", 4, `outside 0..1`},
		{"ratio not a number", "tracing: {sample_ratio: half}\n", 4, `tracing.sample_ratio: invalid value "half" (use a number like 0.2)`},
		{"negative per second", "tracing: {sample_per_second: -1}\n", 4, `tracing.sample_per_second: sample_per_second -1 is not a rate`},
		{"infinite per second", "tracing: {sample_per_second: .inf}\n", 4, `is not a rate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(up+tc.in), nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if e.Line != tc.wantLine || !strings.Contains(e.Error(), tc.want) {
				t.Errorf("got %q (line %d), want line %d containing %q", e.Error(), e.Line, tc.wantLine, tc.want)
			}
		})
	}
}

// TestTracingEndpoint: where spans go: the file's endpoint, else the
// OpenTelemetry variables, by their rules; else nowhere.
func TestTracingEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "off", want: ""},
		{name: "base URL gets /v1/traces", file: "http://otel:4318", want: "http://otel:4318/v1/traces"},
		{name: "base URL with slash", file: "https://otel:4318/", want: "https://otel:4318/v1/traces"},
		{name: "full URL as is", file: "https://otel.example/otlp/v1/traces", want: "https://otel.example/otlp/v1/traces"},
		{name: "file wins over env", file: "http://file:4318",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"}, want: "http://file:4318/v1/traces"},
		{name: "generic variable gets /v1/traces",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"}, want: "http://env:4318/v1/traces"},
		{name: "generic variable with a path",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318/otlp/"}, want: "http://env:4318/otlp/v1/traces"},
		{name: "traces variable as is, and first", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/t"},
			want: "http://traces:4318/t"},
		{name: "bad variable", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "otel:4318"},
			wantErr: "environment variable OTEL_EXPORTER_OTLP_ENDPOINT: invalid URL"},
		{name: "bad file URL", file: "::", wantErr: "tracing.otlp_endpoint: invalid URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Tracing{OTLPEndpoint: tc.file}.Endpoint(env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Endpoint() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
