// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestBlackHoledUpstreamIsAvoided: of two upstreams, one accepts requests
// and never answers. Callers send requests one after another, each giving
// up after 1.5s (FirstByte stays at its 120s default). Once one attempt has
// waited far past the usual time to first byte (the 1s floor here), the
// black hole is marked slow and every later request goes to the healthy
// upstream: at most one request is lost to it, where picking at random
// would lose about half.
func TestBlackHoledUpstreamIsAvoided(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var atHole, atGood atomic.Int64
		hole := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			atHole.Add(1)
			<-r.Context().Done() // never answers
		})
		good := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			atGood.Add(1)
			_, _ = io.WriteString(w, "ok")
		})
		p, err := New([]Config{
			{Name: "hole", BaseURL: hole.URL, DialContext: hole.dial, TLS: hole.clientTLS()},
			{Name: "good", BaseURL: good.URL, DialContext: good.dial, TLS: good.clientTLS()},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()

		const n = 12
		start := time.Now()
		served := map[string]int{}
		for i := range n {
			ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
			resp, err := post(t, ctx, p, "x")
			if err == nil {
				served[ServedBy(resp)]++
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			} else {
				var ue *Error
				if !errors.As(err, &ue) || ue.Kind != KindCanceled || ue.Upstream != "hole" {
					t.Errorf("request %d: %v; want the caller's timeout at the black hole (not FirstByte)", i, err)
				}
				served["timed out"]++
			}
			cancel()
		}
		t.Logf("%d requests in %v: %v; the black hole received %d, the healthy one %d",
			n, time.Since(start).Round(time.Millisecond), served, atHole.Load(), atGood.Load())
		if got := atHole.Load(); got > 1 {
			t.Errorf("the black hole received %d requests, want at most 1: after the first slow attempt it should be avoided", got)
		}
		if served["good"] < n-1 {
			t.Errorf("the healthy upstream answered %d of %d requests", served["good"], n)
		}
		if atHole.Load() == 1 && p.Stats()[0].SlowUntil.IsZero() {
			t.Error("the black hole is not marked slow in Stats")
		}
	})
}

// TestSlowMarkLastsUntilAnAnswer: a slow mark ends when the upstream
// answers, or else after slowEjectBase, doubled for each mark in a row.
func TestSlowMarkLastsUntilAnAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &Upstream{}
		slow := func() bool { return u.slow(time.Now().UnixNano()) }
		u.markSlow()
		if !slow() {
			t.Fatal("not slow after a mark")
		}
		time.Sleep(slowEjectBase / 2)
		u.markSlow() // a second slow attempt while marked: no longer mark
		time.Sleep(slowEjectBase / 2)
		if slow() {
			t.Fatal("still slow after slowEjectBase")
		}
		u.markSlow() // slow again, no answer in between: twice as long
		time.Sleep(slowEjectBase * 3 / 2)
		if !slow() {
			t.Fatal("the second mark in a row did not last twice as long")
		}
		u.answered()
		if slow() {
			t.Fatal("still slow after an answer")
		}
		u.markSlow() // after an answer, the count starts again
		time.Sleep(slowEjectBase + time.Millisecond)
		if slow() {
			t.Fatal("a mark after an answer lasted more than slowEjectBase")
		}
		for range 40 {
			u.markSlow()
			time.Sleep(slowEjectMax)
		}
		if slow() {
			t.Fatal("a mark lasted more than slowEjectMax")
		}
	})
}

func TestSlowAfter(t *testing.T) {
	cl := &class{}
	if got := cl.slowAfter(); got != slowFloor {
		t.Errorf("no samples: slowAfter = %v, want the floor %v", got, slowFloor)
	}
	for range 50 {
		cl.observeFirstByte(2 * time.Second)
	}
	if got := cl.slowAfter(); got != 8*time.Second {
		t.Errorf("answers in 2s: slowAfter = %v, want 8s", got)
	}
	cl.observeFirstByte(10 * time.Second) // one slow answer moves the average by an eighth
	if got, want := cl.slowAfter(), 4*(2*time.Second+(8*time.Second)/8); got != want {
		t.Errorf("after one 10s answer: slowAfter = %v, want %v", got, want)
	}
}

// slowStartListener delays the first read of every connection (the TLS
// handshake) by delay.
type slowStartListener struct {
	net.Listener
	delay time.Duration
}

func (l slowStartListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &slowStartConn{Conn: c, delay: l.delay}, nil
}

type slowStartConn struct {
	net.Conn
	delay time.Duration
	once  sync.Once
}

func (c *slowStartConn) Read(p []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) })
	return c.Conn.Read(p)
}

// TestShortFirstByteMarksNothingSlow: with FirstByte at most the slow
// wait, FirstByte deals with a silent upstream itself (and its breaker
// counts it), so an attempt that lasts past the slow wait only because its
// handshake was slow does not mark the upstream slow.
func TestShortFirstByteMarksNothingSlow(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		if m == h1 {
			t.Skip("plain HTTP/1.1 has no handshake to be slow")
		}
		ln := newMemListener()
		s := startServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}, slowStartListener{Listener: ln, delay: 800 * time.Millisecond}, ln.DialContext)
		p := newPool(t, s, func(c *Config) {
			c.Timeouts.FirstByte = 500 * time.Millisecond // under the 1s floor of the slow wait
			c.Retry.Attempts = 1
		})
		start := time.Now()
		_, err := post(t, t.Context(), p, "x")
		if !errors.Is(err, ErrHeaderTimeout) {
			t.Fatalf("err = %v, want ErrHeaderTimeout", err)
		}
		if took := time.Since(start); took < slowFloor {
			t.Fatalf("the attempt took %v, under the slow wait of %v: nothing checked", took, slowFloor)
		}
		if st := p.Stats()[0]; !st.SlowUntil.IsZero() {
			t.Errorf("marked slow until %v, though FirstByte (500ms) is under the slow wait", st.SlowUntil)
		}
	})
}
