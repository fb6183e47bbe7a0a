// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCAWrittenAndTrusted(t *testing.T) {
	t.Parallel()
	s := start(t, Options{TLS: true})
	if s.URL()[:8] != "https://" {
		t.Fatalf("URL %q, want https", s.URL())
	}

	// The CA as a file, read back the way a user of --ca-out would.
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, s.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CAPEM holds no certificate")
	}

	for _, tc := range []struct {
		name       string
		serverName string // "" = from the URL (127.0.0.1)
	}{
		{"by IP", ""},
		{"by name localhost", "localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: tc.serverName}, ForceAttemptHTTP2: true}
			t.Cleanup(tr.CloseIdleConnections)
			resp, _ := call(t, &http.Client{Transport: tr}, http.MethodGet, s.URL()+"/v1/models", "")
			if resp.StatusCode != http.StatusOK || resp.TLS == nil {
				t.Fatalf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
			}
			leaf := resp.TLS.PeerCertificates[0]
			if !slices.Contains(leaf.DNSNames, "localhost") {
				t.Errorf("leaf DNS names %v", leaf.DNSNames)
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Contains(ips, "127.0.0.1") || !slices.Contains(ips, "::1") {
				t.Errorf("leaf IPs %v", ips)
			}
			if resp.TLS.NegotiatedProtocol != "h2" {
				t.Errorf("ALPN %q, want h2", resp.TLS.NegotiatedProtocol)
			}
		})
	}

	t.Run("untrusted without the CA", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}
		t.Cleanup(tr.CloseIdleConnections)
		_, err := send(t.Context(), &http.Client{Transport: tr}, http.MethodGet, s.URL()+"/v1/models", "")
		if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
			t.Errorf("err = %v, want x509.UnknownAuthorityError", err)
		}
	})

	t.Run("ipv6 loopback", func(t *testing.T) {
		s6, err := Start(Options{TLS: true}, "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		t.Cleanup(func() { _ = s6.Close() })
		if host, _, _ := net.SplitHostPort(s6.Addr()); host != "::1" {
			t.Fatalf("Addr %q", s6.Addr())
		}
		resp, _ := call(t, s6.Client(), http.MethodGet, s6.URL()+"/v1/models", "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestNoTLSHasNoCA(t *testing.T) {
	t.Parallel()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.CAPEM() != nil || s.CertPool() != nil {
		t.Error("a plain-HTTP server has a CA")
	}
}

func TestCAPEMIsACopy(t *testing.T) {
	t.Parallel()
	s, err := New(Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	b := s.CAPEM()
	b[0] = 'X'
	if s.CAPEM()[0] == 'X' {
		t.Error("CAPEM exposes the server's own slice")
	}
	cert, err := x509.ParseCertificate(s.auth.leaf.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: s.CertPool(), DNSName: "localhost"}); err != nil {
		t.Errorf("leaf does not verify against CertPool: %v", err)
	}
}
