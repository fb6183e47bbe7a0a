// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	const hp = "api.example.com:443"
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	unknownCA := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
	tests := []struct {
		name  string
		err   error
		last  Phase
		phase Phase
		msg   string
	}{
		{"dns", &net.DNSError{Err: "no such host", Name: "api.example.com", IsNotFound: true}, PhaseDNS, PhaseDNS,
			"probe: DNS lookup of api.example.com failed: no such host"},
		{"refused", refused, PhaseConnect, PhaseConnect,
			"probe: TCP connect to api.example.com:443 failed: connection refused"},
		{"unknown CA", unknownCA, PhaseTLS, PhaseTLS,
			"probe: TLS handshake with api.example.com:443 failed: certificate signed by unknown authority (pass --ca FILE to trust a private CA)"},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, PhaseTLS, PhaseTLS,
			"probe: TLS handshake with api.example.com:443 failed: first record does not look like a TLS handshake"},
		{"TLS timeout, untyped", errors.New("net/http: TLS handshake timeout"), PhaseTLS, PhaseTLS,
			"probe: TLS handshake with api.example.com:443 failed: net/http: TLS handshake timeout"},
		{"connect timeout by deadline", context.DeadlineExceeded, PhaseConnect, PhaseConnect,
			"probe: TCP connect to api.example.com:443 failed: context deadline exceeded"},
		{"after the connection", errors.New("unexpected EOF"), PhaseHTTP, PhaseHTTP,
			"probe: HTTP request to api.example.com:443 failed: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classify(tt.err, hp, tt.last)
			if e.Phase != tt.phase {
				t.Errorf("phase %q, want %q", e.Phase, tt.phase)
			}
			if e.Error() != tt.msg {
				t.Errorf("message\n got %q\nwant %q", e.Error(), tt.msg)
			}
			if !errors.Is(e, tt.err) {
				t.Errorf("the *Error does not wrap its cause")
			}
		})
	}
}
