// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// TLS fixtures for the fault matrix: a CA made for one test, which signs
// certificates that are valid, expired or for another host, and a TLS front
// that terminates TLS with whichever of them the test picks (and can swap
// while running) and forwards the plain bytes to a mock. The mock's own TLS
// has one certificate for its whole life; the front lets a test show a bad
// certificate being fixed, and the gateway recovering by itself.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// file writes the CA's PEM to a temporary file and returns its path.
func (ca *testCA) file(t *testing.T) string { return pemFile(t, ca.pem) }

// pemFile writes a CA's PEM to a temporary file and returns its path.
func pemFile(t *testing.T, pem []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// leaf signs a server certificate for hosts (DNS names or IP addresses)
// valid from notBefore to notAfter.
func (ca *testCA) leaf(t *testing.T, notBefore, notAfter time.Time, hosts ...string) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsFront terminates TLS on a loopback port with the certificate set by
// use, and relays each connection's plain bytes to backend. It offers
// HTTP/1.1 only, since it cannot know whether the backend speaks h2c.
type tlsFront struct {
	ln         net.Listener
	backend    string
	cert       atomic.Pointer[tls.Certificate]
	handshakes atomic.Int64 // completed: a client accepted the certificate

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func startTLSFront(t *testing.T, backend string, cert *tls.Certificate) *tlsFront {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &tlsFront{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	f.use(cert)
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(f.close)
	return f
}

// URL is the front's base URL, without /v1.
func (f *tlsFront) URL() string { return "https://" + f.ln.Addr().String() }

// use makes new handshakes present cert.
func (f *tlsFront) use(cert *tls.Certificate) { f.cert.Store(cert) }

func (f *tlsFront) serve() {
	defer f.wg.Done()
	cfg := &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return f.cert.Load(), nil },
		NextProtos:     []string{"http/1.1"},
	}
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		if !f.track(c) {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.untrack(c)
			f.relay(tls.Server(c, cfg))
		}()
	}
}

// relay completes the handshake on c, then copies bytes both ways until
// either side closes.
func (f *tlsFront) relay(c *tls.Conn) {
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	if err := c.Handshake(); err != nil {
		return // the client refused the certificate: what the test is about
	}
	_ = c.SetDeadline(time.Time{})
	f.handshakes.Add(1)
	b, err := net.DialTimeout("tcp", f.backend, requestTimeout)
	if err != nil {
		return
	}
	if !f.track(b) {
		return
	}
	defer f.untrack(b)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
	_ = b.Close()
	_ = c.Close()
	<-done
}

func (f *tlsFront) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		_ = c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *tlsFront) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	_ = c.Close()
}

// close stops accepting, closes every connection and waits for the relays.
func (f *tlsFront) close() {
	_ = f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
