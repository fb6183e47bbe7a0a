// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// Error classes: the keys of Result.ErrorsByClass.
const (
	// ClassConnectRefused: nothing listens at the target's port.
	ClassConnectRefused = "connect_refused"
	// ClassTimeout: the request's Timeout (or a dial or TLS handshake
	// timeout) passed before the answer was read to its end.
	ClassTimeout = "timeout"
	// ClassReset: the connection was reset or closed, or the HTTP/2 stream
	// reset, before the answer was complete (including mid-stream).
	ClassReset = "reset"
	// ClassTLS: the TLS handshake failed (unknown CA, wrong name, alert).
	ClassTLS = "tls"
	// ClassOther: anything else (DNS, a malformed answer, ...).
	ClassOther = "other"
)

// classify maps a request's error to a class. It is the one place where
// error strings are looked at, and only for errors the stdlib does not
// type: the bundled HTTP/2 stream error and plain "tls: ..." errors.
func classify(err error) string {
	var (
		certErr   *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
		authErr   x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		netErr    net.Error
	)
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassConnectRefused
	case errors.As(err, &certErr), errors.As(err, &recordErr), errors.As(err, &alertErr),
		errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invalid):
		return ClassTLS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout
	case strings.Contains(msg, "tls: "): // crypto/tls's untyped errors and received alerts
		return ClassTLS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		strings.Contains(msg, "stream error:"), // http2StreamError: RST_STREAM
		strings.Contains(msg, "server sent GOAWAY"),
		strings.Contains(msg, "client connection lost"):
		return ClassReset
	}
	return ClassOther
}

// ClassLabel is the short human name of an error class, for tables.
func ClassLabel(class string) string {
	switch class {
	case ClassConnectRefused:
		return "connect refused"
	case ClassTimeout:
		return "timeout"
	case ClassReset:
		return "reset"
	case ClassTLS:
		return "TLS"
	}
	return "other"
}
