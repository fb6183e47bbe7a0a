// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Post", URL: "http://127.0.0.1:1/v1", Err: err} }
	opErr := func(op string, err error) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, err)}
	}
	for _, tc := range []struct {
		name string
		in   error
		want string
	}{
		{"refused", wrap(opErr("dial", syscall.ECONNREFUSED)), ClassConnectRefused},
		{"reset by peer", wrap(opErr("read", syscall.ECONNRESET)), ClassReset},
		{"broken pipe", wrap(opErr("write", syscall.EPIPE)), ClassReset},
		{"unexpected EOF in a body", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), ClassReset},
		{"EOF before the answer", wrap(io.EOF), ClassReset},
		{"h2 stream reset", errors.New("stream error: stream ID 3; INTERNAL_ERROR; received from peer"), ClassReset},
		{"h2 GOAWAY", errors.New("http2: server sent GOAWAY and closed the connection"), ClassReset},
		{"deadline", wrap(context.DeadlineExceeded), ClassTimeout},
		{"our own deadline, reported as a cancel", timeoutError{errors.New("net/http: request canceled")}, ClassTimeout},
		{"dial i/o timeout", wrap(&net.OpError{Op: "dial", Err: &timeoutErr{}}), ClassTimeout},
		{"unknown authority", wrap(x509.UnknownAuthorityError{}), ClassTLS},
		{"hostname", wrap(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}), ClassTLS},
		{"tls alert", wrap(errors.New("remote error: tls: handshake failure")), ClassTLS},
		{"dns", wrap(&net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}), ClassOther},
		{"malformed", errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "hi"`), ClassOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.in); got != tc.want {
				t.Errorf("classify(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }

func TestClassLabel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{ClassConnectRefused, "connect refused"}, {ClassTimeout, "timeout"}, {ClassReset, "reset"},
		{ClassTLS, "TLS"}, {ClassOther, "other"}, {"unheard-of", "other"},
	} {
		if got := ClassLabel(tc.in); got != tc.want {
			t.Errorf("ClassLabel(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
