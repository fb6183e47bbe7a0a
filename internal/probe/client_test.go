// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestConnID(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	tracked := &trackedConn{Conn: a, id: 42}
	tests := []struct {
		name string
		in   net.Conn
		want int64
	}{
		{"tracked", tracked, 42},
		{"under TLS", tls.Client(tracked, &tls.Config{}), 42},
		{"untracked", a, 0},
		{"nil", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := connID(tt.in); got != tt.want {
				t.Errorf("connID = %d, want %d", got, tt.want)
			}
		})
	}
}

// Requests on one client reuse its one connection; each new client dials.
func TestDoTracksConnections(t *testing.T) {
	s := startMock(t, mock.Options{TLS: true})
	p, err := newProber(options(s))
	if err != nil {
		t.Fatal(err)
	}
	c := p.newClient(nil, false)
	defer c.close()
	first, err := p.do(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.do(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if first.Reused || first.Dials != 1 || first.TLS <= 0 {
		t.Errorf("first request: reused %v, dials %d, TLS %v; want a new connection", first.Reused, first.Dials, first.TLS)
	}
	if !second.Reused || second.Dials != 0 || second.ConnID != first.ConnID || second.TLS != 0 {
		t.Errorf("second request: reused %v, dials %d, conn %d (first %d), TLS %v; want the same connection",
			second.Reused, second.Dials, second.ConnID, first.ConnID, second.TLS)
	}
	if first.Status != 200 || first.Proto != "h2" || first.Header.Get("X-Request-Id") == "" {
		t.Errorf("first answer: status %d, proto %s, header %v", first.Status, first.Proto, first.Header)
	}
}
