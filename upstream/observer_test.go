// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"slices"
	"testing"
)

// recorder is an Observer that writes what it saw, tagged with its name,
// to a shared log.
type recorder struct {
	name string
	log  *[]string
}

func (r recorder) Attempt(a AttemptInfo) {
	*r.log = append(*r.log, r.name+" attempt "+a.Upstream)
}

func (r recorder) Retry(upstream string, reason RetryReason) {
	*r.log = append(*r.log, r.name+" retry "+upstream+" "+reason.String())
}

func (r recorder) BodyDone(b BodyInfo) {
	*r.log = append(*r.log, r.name+" body "+b.Upstream)
}

func TestObservers(t *testing.T) {
	var log []string
	a, b := recorder{"a", &log}, recorder{"b", &log}
	tests := []struct {
		name string
		in   []Observer
		want []string
	}{
		{"none", nil, nil},
		{"only nils", []Observer{nil, nil}, nil},
		{"one", []Observer{a}, []string{"a attempt u", "a retry u stale_conn", "a body u"}},
		{"two in order, nil skipped", []Observer{b, nil, a}, []string{
			"b attempt u", "a attempt u",
			"b retry u stale_conn", "a retry u stale_conn",
			"b body u", "a body u",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log = nil
			o := Observers(tt.in...)
			o.Attempt(AttemptInfo{Upstream: "u"})
			o.Retry("u", ReasonStaleConn)
			o.BodyDone(BodyInfo{Upstream: "u", Err: errors.New("x")})
			if !slices.Equal(log, tt.want) {
				t.Errorf("events = %q, want %q", log, tt.want)
			}
		})
	}
}

func TestObserversSingleIsUnwrapped(t *testing.T) {
	var log []string
	a := recorder{"a", &log}
	if got := Observers(nil, a); got != Observer(a) {
		t.Errorf("Observers(nil, a) = %#v, want a itself", got)
	}
	if _, ok := Observers().(NopObserver); !ok {
		t.Errorf("Observers() = %#v, want NopObserver", Observers())
	}
}

func TestObserversAllocs(t *testing.T) {
	o := Observers(NopObserver{}, NopObserver{})
	info := AttemptInfo{Upstream: "u", Reused: true}
	if n := testing.AllocsPerRun(100, func() { o.Attempt(info); o.Retry("u", ReasonStatus5xx) }); n != 0 {
		t.Errorf("fan-out allocates %v times per event, want 0", n)
	}
}
