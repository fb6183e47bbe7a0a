// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCapSet(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{name: "under the cap", in: []string{"a", "b", "a"}, want: []string{"a", "b", "a"}},
		{name: "past the cap", in: []string{"a", "b", "c", "d"}, want: []string{"a", "b", "c", "other"}},
		{name: "known values pass after the cap", in: []string{"a", "b", "c", "d", "b", "e", "a"},
			want: []string{"a", "b", "c", "other", "b", "other", "a"}},
		{name: "empty is a value", in: []string{"", "a", "b", "c"}, want: []string{"", "a", "b", "other"}},
		{name: "too long is other, and takes no place", in: []string{strings.Repeat("m", MaxLabelLen+1), strings.Repeat("m", MaxLabelLen), "b", "c"},
			want: []string{"other", strings.Repeat("m", MaxLabelLen), "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapSet(3)
			for i, v := range tt.in {
				if got := c.value(v); got != tt.want[i] {
					t.Errorf("value(%q) #%d = %q, want %q", v, i, got, tt.want[i])
				}
			}
		})
	}
}

func TestCapSetConcurrent(t *testing.T) {
	c := newCapSet(10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := map[string]bool{}
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				v := fmt.Sprint((g*100 + i) % 40)
				if got := c.value(v); got != OtherLabelValue {
					mu.Lock()
					admitted[got] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(admitted) != 10 {
		t.Errorf("%d values admitted, want 10", len(admitted))
	}
}

func TestCowMap(t *testing.T) {
	var c cowMap[string, *int]
	made := 0
	mk := func(string) *int { made++; return new(int) }
	a1 := c.get("a", mk)
	b := c.get("b", mk)
	a2 := c.get("a", mk)
	if a1 != a2 || a1 == b || made != 2 {
		t.Errorf("get: a %p %p, b %p, made %d; want one entry per name", a1, a2, b, made)
	}
}

func TestCodeCounters(t *testing.T) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, []string{"upstream", "code"})
	c := newCodeCounters(vec, "a")
	c.forStatus(200).Inc()
	c.forStatus(200).Inc()
	c.forStatus(1200).Inc() // out of the cached range: still counted
	c.forKind(1, "dial").Inc()
	c.forKind(99, "kind(99)").Inc()
	for _, tt := range []struct {
		code string
		want float64
	}{{"200", 2}, {"1200", 1}, {"dial", 1}, {"kind(99)", 1}} {
		if got := testutil.ToFloat64(vec.WithLabelValues("a", tt.code)); got != tt.want {
			t.Errorf("code %s = %v, want %v", tt.code, got, tt.want)
		}
	}
}
