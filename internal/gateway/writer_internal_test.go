// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestResponseControllerThroughWrapper: http.ResponseController on the
// gateway's writer reaches the real one, over HTTP/1.1 and HTTP/2: a
// deadline, full duplex and a flush are done, not refused, and a flush's
// error is returned.
func TestResponseControllerThroughWrapper(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := "http1"
		if h2 {
			name = "http2"
		}
		t.Run(name, func(t *testing.T) {
			errs := make(chan error, 8)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rc := http.NewResponseController(&respWriter{ResponseWriter: w})
				errs <- rc.SetWriteDeadline(time.Now().Add(time.Minute))
				errs <- rc.SetReadDeadline(time.Now().Add(time.Minute))
				if !h2 { // HTTP/2 is always full duplex: net/http refuses the call
					errs <- rc.EnableFullDuplex()
				}
				_, _ = io.WriteString(w, "ok")
				errs <- rc.Flush()
				close(errs)
			}))
			srv.EnableHTTP2 = h2
			srv.StartTLS()
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if h2 != (resp.ProtoMajor == 2) {
				t.Fatalf("served over %s", resp.Proto)
			}
			for err := range errs {
				if err != nil {
					t.Errorf("through the wrapper: %v", err)
				}
			}
		})
	}
	t.Run("flush error", func(t *testing.T) {
		broken := errors.New("broken pipe")
		w := &respWriter{ResponseWriter: failingFlush{httptest.NewRecorder(), broken}}
		if err := http.NewResponseController(w).Flush(); !errors.Is(err, broken) {
			t.Errorf("Flush through the wrapper = %v, want %v", err, broken)
		}
	})
}

type failingFlush struct {
	*httptest.ResponseRecorder
	err error
}

func (f failingFlush) FlushError() error { return f.err }
