package upstream

import (
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		kind   Kind
		status int
		want   outcome
	}{
		{KindUnknown, 200, outcomeOK},
		{KindUnknown, 404, outcomeExcluded},
		{KindUnknown, 429, outcomeExcluded},
		{KindUnknown, 500, outcomeFault},
		{KindUnknown, 503, outcomeFault},
		{KindDial, 0, outcomeFault},
		{KindTLS, 0, outcomeFault},
		{KindHeaderTimeout, 0, outcomeFault},
		{KindTruncated, 0, outcomeFault},
		{KindCanceled, 0, outcomeExcluded},
		{KindPoolExhausted, 0, outcomeExcluded},
		{KindStaleConn, 0, outcomeExcluded},
	}
	for _, tt := range tests {
		if got := outcomeOf(tt.kind, tt.status); got != tt.want {
			t.Errorf("outcomeOf(%v, %d) = %d, want %d", tt.kind, tt.status, got, tt.want)
		}
	}
}

// TestBreakerOpensThenProbes: consecutive failures open the circuit, the
// upstream is then not called at all, and after OpenTimeout one probe
// closes it again.
func TestBreakerOpensThenProbes(t *testing.T) {
	var calls, healthy atomic.Int64
	s := newServer(t, h1, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		calls.Add(1)
		if healthy.Load() == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	p := newPool(t, s, func(c *Config) {
		c.Retry.Attempts = 1
		c.Breaker = BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: 300 * time.Millisecond}
	})
	for range 3 {
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if st := p.Stats()[0]; st.Circuit != CircuitOpen {
		t.Fatalf("circuit %v after 3 failures, want open", st.Circuit)
	}
	_, err := post(t, t.Context(), p, "x")
	if !errors.Is(err, ErrNoUpstream) || calls.Load() != 3 {
		t.Fatalf("with the circuit open: err = %v after %d calls; want ErrNoUpstream and no call", err, calls.Load())
	}
	healthy.Store(1)
	time.Sleep(350 * time.Millisecond)
	resp, err := post(t, t.Context(), p, "probe")
	if err != nil {
		t.Fatalf("probe after the open timeout: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if st := p.Stats()[0]; resp.StatusCode != 200 || st.Circuit != CircuitClosed {
		t.Errorf("probe: status %d, circuit %v; want 200 and closed", resp.StatusCode, st.Circuit)
	}
}

// twoUpstreams starts two servers behind one pool and counts calls to each.
func twoUpstreams(t *testing.T, h [2]http.HandlerFunc, mut func(i int, c *Config)) (*Pool, [2]*atomic.Int64) {
	t.Helper()
	var counts [2]*atomic.Int64
	var cfgs []Config
	for i := range 2 {
		counts[i] = new(atomic.Int64)
		n := counts[i]
		hf := h[i]
		s := newServer(t, h1, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			n.Add(1)
			hf(w, r)
		})
		c := Config{Name: []string{"a", "b"}[i], BaseURL: s.URL}
		if mut != nil {
			mut(i, &c)
		}
		cfgs = append(cfgs, c)
	}
	p, err := New(cfgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, counts
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }

func TestWeightsSplitTraffic(t *testing.T) {
	p, counts := twoUpstreams(t, [2]http.HandlerFunc{ok, ok}, func(i int, c *Config) { c.Weight = []int{1, 3}[i] })
	const n = 2000
	for range n {
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Sequential requests leave both in-flight counts at 0, so P2C ties
	// and the split comes from the weights.
	share := float64(counts[1].Load()) / n
	t.Logf("a=%d b=%d", counts[0].Load(), counts[1].Load())
	if math.Abs(share-0.75) > 0.075 {
		t.Errorf("upstream b (weight 3 of 4) got %.1f%% of the traffic, want 75%% ± 10%%", share*100)
	}
}

func TestDeadUpstreamIsSkippedWithoutClientFailures(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	live := newServer(t, h1, ok)
	p, err := New([]Config{
		{Name: "dead", BaseURL: dead, Breaker: BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: time.Minute}},
		{Name: "live", BaseURL: live.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range 200 {
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatalf("request %d failed: %v", i, err)
		}
		resp.Body.Close()
	}
	st := p.Stats()
	if st[0].Circuit != CircuitOpen {
		t.Errorf("dead upstream's circuit is %v, want open", st[0].Circuit)
	}
	if st[0].Requests > 3 {
		t.Errorf("dead upstream got %d attempts; the open circuit should stop them after 3", st[0].Requests)
	}
}

func TestRetryAfterCoolsDownAnUpstream(t *testing.T) {
	limited := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}
	p, counts := twoUpstreams(t, [2]http.HandlerFunc{limited, ok}, func(i int, c *Config) {
		c.Priority = i // a is preferred
	})
	for range 50 {
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: the 429 should move the request to b", resp.StatusCode)
		}
	}
	if got := counts[0].Load(); got != 1 {
		t.Errorf("a was called %d times; after its 429 it should cool down for 1s", got)
	}
	if st := p.Stats()[0]; st.CooldownUntil.IsZero() {
		t.Error("a shows no cooldown")
	}
	time.Sleep(1100 * time.Millisecond)
	resp, err := post(t, t.Context(), p, "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := counts[0].Load(); got != 2 {
		t.Errorf("a was called %d times; after the cooldown it should be tried again", got)
	}
}
