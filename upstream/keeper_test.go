// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// startMemMock is startMockIn (stale_test.go) on an in-memory listener, for
// a test inside a testing/synctest bubble: the mock's idle timeouts and
// faults, and the pool's keeper, run on the bubble's clock.
func startMemMock(t *testing.T, m mode, opts mock.Options, mut func(*Config), popts ...Option) (*mock.Server, *Pool) {
	t.Helper()
	opts.TLS, opts.NoH2 = m != h1, m != h2
	ms, err := mock.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln := newMemListener()
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = ms.Serve(ln)
	}()
	t.Cleanup(func() {
		ms.Close()
		<-served
	})
	scheme := "http"
	if opts.TLS {
		scheme = "https"
	}
	c := Config{Name: "mock", BaseURL: scheme + "://" + ln.Addr().String() + "/v1", DialContext: ln.DialContext, DisableHTTP2: m != h2}
	if opts.TLS {
		c.TLS = &tls.Config{RootCAs: ms.CertPool()}
	}
	return ms, startPool(t, c, mut, popts...)
}

func chat(t *testing.T, p *Pool, header http.Header) (*http.Response, error) {
	t.Helper()
	resp, err := post(t, t.Context(), p, `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// waitFor polls cond every 10ms for at most d; inside a synctest bubble,
// on the bubble's clock.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPrewarmOpensConnectionsBeforeAnyRequest: the keeper opens Prewarm
// connections at start (one on HTTP/2, which carries every request), and
// the first request rides one of them.
func TestPrewarmOpensConnectionsBeforeAnyRequest(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		want := int64(2)
		if m == h2 {
			want = 1
		}
		ms, p := startMemMock(t, m, mock.Options{}, func(c *Config) { c.Prewarm = 2 })
		p.Warm(t.Context())
		synctest.Wait()
		if got, st := ms.Stats(), p.Stats()[0]; got.ConnectionsAccepted != want || st.Open != want {
			t.Fatalf("after Warm the mock accepted %d connections and the pool has %d open; want %d", got.ConnectionsAccepted, st.Open, want)
		}
		resp, err := chat(t, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := ms.Stats().ConnectionsAccepted; got != want {
			t.Errorf("the first request opened a connection (%d -> %d): it should reuse a prewarmed one", want, got)
		}
		if st := p.Stats()[0]; st.Reused < 1 {
			t.Errorf("reused = %d, want the first request on a warm connection", st.Reused)
		}
	})
}

// TestPrewarmReopensExpiredConnections: the server closes the prewarmed
// connection after 1.5s idle (or the pool expires it first, once it learned
// the timeout); the keeper opens a new one by itself, within a round.
func TestPrewarmReopensExpiredConnections(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		ms, p := startMemMock(t, m, mock.Options{IdleTimeout: 1500 * time.Millisecond}, func(c *Config) { c.Prewarm = 1 })
		synctest.Wait()
		if got := ms.Stats().ConnectionsAccepted; got != 1 {
			t.Fatalf("the mock accepted %d connections at start, want the prewarmed one", got)
		}
		// The server's close comes at 1.5s; the keeper's next round (a
		// tenth of the 90s idle timeout, at most 5s) opens the new one.
		// Once the pool learned the 1.5s timeout it expires the warm
		// connection itself at 1.2s idle, and the keeper replaces it again.
		time.Sleep(1500*time.Millisecond + keeperMaxInterval)
		synctest.Wait()
		if got, st := ms.Stats().ConnectionsAccepted, p.Stats()[0]; got < 2 || st.Open != 1 {
			t.Errorf("after the idle close and a keeper round: the mock accepted %d connections, the pool has %d open; want 2 or more, and 1", got, st.Open)
		}
	})
}

// TestIdleGapsNeverFail is the stale keep-alive race: the server forgets idle
// connections long before the configured 120s idle timeout. Every request
// after an idle gap must still succeed, by learning the timeout or by a
// stale_conn retry on a fresh connection.
func TestIdleGapsNeverFail(t *testing.T) {
	const gap, serverIdle, n = 2500 * time.Millisecond, 1500 * time.Millisecond, 6
	cases := []struct {
		name string
		opts mock.Options
		// learnOnH2: on HTTP/2 a server closing an idle connection says so
		// with GOAWAY first, so the client never reuses it: no race, and the
		// moment the client closes it says little of the server's timeout.
		learnOnH2 bool
		// maxStale is how many stale_conn retries may be needed: none when
		// the close is seen before a request goes out (HTTP/1.1: the look
		// at an idle connection; HTTP/2: the GOAWAY); the first reuse after
		// a silent drop, before anything is learned.
		maxStale int64
	}{
		// The server closes idle connections (with a FIN the client sees).
		{"server closes idle", mock.Options{IdleTimeout: serverIdle}, false, 0},
		// The server silently drops requests on connections idle that long:
		// the request is written, then the connection dies unanswered.
		{"server drops requests on idle connections", mock.Options{Fault: fmt.Sprintf("drop_idle=%v", serverIdle)}, true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runSync(t, func(t *testing.T, m mode) {
				ms, p := startMemMock(t, m, tc.opts, func(c *Config) {
					c.IdleTimeout = 120 * time.Second
					c.Retry.Base = time.Millisecond
				})
				for i := range n {
					if i > 0 {
						time.Sleep(gap)
					}
					resp, err := chat(t, p, nil)
					if err != nil {
						t.Fatalf("request %d after a %v gap failed: %v", i, gap, err)
					}
					if resp.StatusCode != 200 {
						t.Fatalf("request %d: status %d", i, resp.StatusCode)
					}
				}
				st := p.Stats()[0]
				t.Logf("mock %+v; pool: opened %d, stale retries %d, learned idle %v, in effect %v, expired %d",
					ms.Stats(), st.Opened, st.Retries["stale_conn"], st.LearnedIdleTimeout, st.IdleTimeout, st.Expired)
				// What can be learned: a server that closes shows its timeout;
				// one that drops requests only shows an upper bound (the gap).
				if (m != h2 || tc.learnOnH2) && (st.LearnedIdleTimeout == 0 || st.IdleTimeout >= gap) {
					t.Errorf("idle timeout in effect %v (learned %v): want it learned below the %v gap",
						st.IdleTimeout, st.LearnedIdleTimeout, gap)
				}
				// Once learned, later gaps are handled by expiring connections
				// first: at most the first stale reuse needed a retry.
				if got := st.Retries["stale_conn"]; got > tc.maxStale {
					t.Errorf("stale_conn retries = %d, want at most %d (the close seen, or the timeout learned)", got, tc.maxStale)
				}
			})
		})
	}
}

// TestKeepAliveHeaderIsHonoured: an HTTP/1.1 server's "Keep-Alive:
// timeout=10" is learned at once (HTTP/2 has no such header).
func TestKeepAliveHeaderIsHonoured(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		if m == h2 {
			t.Skip("HTTP/2 has no Keep-Alive header")
		}
		_, p := startMemMock(t, m, mock.Options{IdleTimeout: 10 * time.Second, AdvertiseKeepAlive: true}, nil)
		if _, err := chat(t, p, nil); err != nil {
			t.Fatal(err)
		}
		st := p.Stats()[0]
		if st.LearnedIdleTimeout != 10*time.Second || st.IdleTimeout != 8*time.Second {
			t.Errorf("learned %v, in effect %v; want 10s learned and 8s in effect", st.LearnedIdleTimeout, st.IdleTimeout)
		}
	})
}

// TestMaxConnAgeRetiresIdleConnections: a connection past MaxConnAge (plus
// its jitter of up to 10%) is closed at the keeper's next round once idle,
// and the next request opens another.
func TestMaxConnAgeRetiresIdleConnections(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		ms, p := startMemMock(t, m, mock.Options{}, func(c *Config) { c.MaxConnAge = 300 * time.Millisecond })
		if _, err := chat(t, p, nil); err != nil {
			t.Fatal(err)
		}
		// Age with jitter, then a keeper round (a quarter of the age).
		time.Sleep(300*time.Millisecond + 30*time.Millisecond + 75*time.Millisecond + time.Millisecond)
		synctest.Wait()
		if st := p.Stats()[0]; st.Expired != 1 || st.Open != 0 {
			t.Fatalf("expired %d, open %d after MaxConnAge and a keeper round; want 1 and 0", st.Expired, st.Open)
		}
		if _, err := chat(t, p, nil); err != nil {
			t.Fatal(err)
		}
		if got := ms.Stats().ConnectionsAccepted; got != 2 {
			t.Errorf("mock accepted %d connections, want 2 (one retired by age)", got)
		}
	})
}

// TestTenThousandSequentialRequestsOneConnection: in every mode, 10,000
// sequential requests ride one connection, as the mock itself counts (and,
// over TLS, one handshake).
func TestTenThousandSequentialRequestsOneConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 requests; -short skips it")
	}
	run(t, func(t *testing.T, md mode) {
		m, p := startMockIn(t, md, mock.Options{Tokens: 1}, nil)
		for i := range 10000 {
			resp, err := chat(t, p, nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		handshakes := int64(1)
		if md == h1 {
			handshakes = 0
		}
		if st := m.Stats(); st.ConnectionsAccepted != 1 || st.TLSHandshakes != handshakes || st.Requests != 10000 {
			t.Errorf("the mock counted %+v, want 1 connection, %d TLS handshake, 10000 requests", st, handshakes)
		}
		if st := p.Stats()[0]; md == h2 && st.OpenedH2 != 1 || md != h2 && st.OpenedH1 != 1 {
			t.Errorf("pool opened h1 %d, h2 %d; want one connection of the mode's protocol", st.OpenedH1, st.OpenedH2)
		}
	})
}

// TestLearnedIdleTimeoutCanRise: a learned idle timeout is an estimate from
// weak evidence (one idle close may be a server restart). It falls at once
// on a shorter close, rises when a connection idle longer is reused
// successfully, and after relearnAfter without confirmation idle
// connections get the configured IdleTimeout again, so that a later, longer
// close can be learned.
func TestLearnedIdleTimeoutCanRise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, err := newUpstream(Config{Name: "u", BaseURL: "http://127.0.0.1:9", IdleTimeout: 90 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		u.startKeeper()
		defer u.close()
		check := func(step string, learned, eff time.Duration) {
			t.Helper()
			synctest.Wait() // the keeper has run whatever the step woke
			if st := u.Stats(); st.LearnedIdleTimeout != learned || st.IdleTimeout != eff {
				t.Errorf("%s: learned %v, in effect %v; want %v, %v", step, st.LearnedIdleTimeout, st.IdleTimeout, learned, eff)
			}
		}
		check("start", 0, 90*time.Second)
		u.observeServerClose(2 * time.Second)
		check("the server closed a connection idle 2s", 2*time.Second, 1600*time.Millisecond)
		u.observeReuse(time.Second)
		check("a connection idle 1s was reused", 2*time.Second, 1600*time.Millisecond)
		u.observeReuse(2500 * time.Millisecond)
		check("a connection idle 2.5s was reused", 0, 90*time.Second)

		u.observeStale(3 * time.Second)
		check("a connection idle 3s was found dropped", 3*time.Second, 2400*time.Millisecond)
		time.Sleep(relearnAfter / 2)
		u.observeServerClose(3100 * time.Millisecond)
		check("the same timeout seen again", 3*time.Second, 2400*time.Millisecond)
		time.Sleep(relearnAfter/2 + time.Minute)
		check("confirmed less than relearnAfter ago", 3*time.Second, 2400*time.Millisecond)
		time.Sleep(relearnAfter / 2)
		check("unconfirmed for relearnAfter", 3*time.Second, 90*time.Second)
		u.observeServerClose(20 * time.Second)
		check("then the server closed a connection idle 20s", 20*time.Second, 16*time.Second)
		u.observeServerClose(5 * time.Second)
		check("and one idle 5s", 5*time.Second, 4*time.Second)
	})
}
