// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// Phase names the step of a request that failed.
type Phase string

// The phases of a request, in order. Their values read well in a sentence:
// "probe: TLS handshake with HOST:PORT failed: …".
const (
	PhaseDNS     Phase = "DNS lookup"
	PhaseConnect Phase = "TCP connect"
	PhaseTLS     Phase = "TLS handshake"
	PhaseHTTP    Phase = "HTTP request"
)

// Error is a request that failed before the probe could measure anything
// (the first request on a new connection), with the phase that failed.
type Error struct {
	Phase Phase
	// Addr is what the phase talked to: the host name for PhaseDNS,
	// "host:port" otherwise.
	Addr string
	Err  error
}

func (e *Error) Error() string {
	var prep string
	switch e.Phase {
	case PhaseDNS:
		prep = "of"
	case PhaseConnect:
		prep = "to"
	case PhaseTLS:
		prep = "with"
	default:
		prep = "to"
	}
	return fmt.Sprintf("probe: %s %s %s failed: %s%s", e.Phase, prep, e.Addr, cause(e.Err), hint(e.Err))
}

func (e *Error) Unwrap() error { return e.Err }

// classify wraps err, returned by a request to hostPort, in an *Error naming
// the phase that failed. Typed errors decide first; for the rest (timeouts,
// which the stdlib reports as plain strings) the phase the request's trace
// last entered decides.
func classify(err error, hostPort string, last Phase) *Error {
	host, _, _ := net.SplitHostPort(hostPort)
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		verErr  *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		alert   tls.AlertError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &dnsErr):
		return &Error{Phase: PhaseDNS, Addr: host, Err: err}
	case errors.As(err, &verErr), errors.As(err, &uaErr), errors.As(err, &hostErr),
		errors.As(err, &invErr), errors.As(err, &alert), errors.As(err, &recErr):
		return &Error{Phase: PhaseTLS, Addr: hostPort, Err: err}
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return &Error{Phase: PhaseConnect, Addr: hostPort, Err: err}
	}
	switch last {
	case PhaseDNS:
		return &Error{Phase: PhaseDNS, Addr: host, Err: err}
	case PhaseConnect, PhaseTLS:
		return &Error{Phase: last, Addr: hostPort, Err: err}
	}
	return &Error{Phase: PhaseHTTP, Addr: hostPort, Err: err}
}

// cause is the most telling part of err's message, without the wrapping
// that repeats what Error already says ("dial tcp 127.0.0.1:1: connect:").
func cause(err error) string {
	var (
		dnsErr *net.DNSError
		errno  syscall.Errno
		uaErr  x509.UnknownAuthorityError
		hErr   x509.HostnameError
		iErr   x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &dnsErr):
		return dnsErr.Err
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &uaErr):
		return strings.TrimPrefix(uaErr.Error(), "x509: ")
	case errors.As(err, &hErr):
		return strings.TrimPrefix(hErr.Error(), "x509: ")
	case errors.As(err, &iErr):
		return strings.TrimPrefix(iErr.Error(), "x509: ")
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		err = opErr.Err
	}
	return strings.TrimPrefix(err.Error(), "tls: ")
}

// hint tells the user what to do about err, when there is a usual fix.
func hint(err error) string {
	var uaErr x509.UnknownAuthorityError
	if errors.As(err, &uaErr) {
		return " (pass --ca FILE to trust a private CA)"
	}
	return ""
}
