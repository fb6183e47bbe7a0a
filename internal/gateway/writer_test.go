// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// The gateway's one ResponseWriter wrapper: a flush that fails (the
// client's connection is gone) reaches the stream's copy at once, and
// http.ResponseController's other methods reach the real writer.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/upstream"
)

// goneWriter is a client's writer whose connection broke: writes are
// buffered (as net/http's are) and succeed, every flush fails.
type goneWriter struct {
	http.ResponseWriter
	writes atomic.Int32
}

func (w *goneWriter) Write(b []byte) (int, error) {
	w.writes.Add(1)
	return w.ResponseWriter.Write(b)
}

func (w *goneWriter) FlushError() error { return errors.New("write tcp: broken pipe") }

// newTestGateway serves yaml's gateway through wrap, on a loopback test
// server.
func newTestGateway(t *testing.T, yaml string, wrap func(http.ResponseWriter) http.ResponseWriter) *httptest.Server {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	ucs, err := gateway.UpstreamConfigs(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := upstream.New(ucs)
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(cfg, pool, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.ServeHTTP(wrap(w), r) }))
	t.Cleanup(func() {
		srv.Close()
		_ = pool.Close()
	})
	return srv
}

// TestStreamFlushErrorStopsAtOnce: when flushing an event to the client
// fails, the stream stops there: no further event is written to a client
// that is gone, and the upstream's request is ended at once rather than at
// the next event.
func TestStreamFlushErrorStopsAtOnce(t *testing.T) {
	canceled := make(chan bool, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(content, finish string) {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":%s}]}\n\n", content, finish)
			w.(http.Flusher).Flush()
		}
		chunk("one", "null")
		select {
		case <-r.Context().Done():
			canceled <- true
			return
		case <-time.After(2 * time.Second): // a bound, not a speed claim: the gateway kept reading
			canceled <- false
		}
		chunk("two", "null")
		chunk("", `"stop"`)
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	var gone *goneWriter
	srv := newTestGateway(t, "server: {allow_open: true}\nupstreams:\n  - name: up\n    base_url: "+up.URL+"/v1\n",
		func(w http.ResponseWriter) http.ResponseWriter { gone = &goneWriter{ResponseWriter: w}; return gone })
	defer srv.Client().Transport.(*http.Transport).CloseIdleConnections()

	resp, err := srv.Client().Post(srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !<-canceled {
		t.Error("the upstream's request went on after the client's flush failed")
	}
	if n := gone.writes.Load(); n != 1 {
		t.Errorf("%d writes to the gone client, want 1 (the first event, whose flush failed); it got:\n%s", n, body)
	}
	if strings.Contains(string(body), "two") {
		t.Errorf("events after the failed flush reached the client:\n%s", body)
	}
}
