// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestClassOf(t *testing.T) {
	tests := []struct {
		in   int
		want string
	}{
		{200, "2xx"}, {204, "2xx"}, {304, "2xx"}, {101, "2xx"},
		{400, "4xx"}, {401, "4xx"}, {403, "4xx"}, {413, "4xx"}, {499, "4xx"},
		{429, "429"},
		{500, "5xx"}, {502, "5xx"}, {503, "5xx"}, {504, "5xx"},
	}
	for _, tt := range tests {
		if got := classNames[classOf(tt.in)]; got != tt.want {
			t.Errorf("classOf(%d) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestAnswersOverTime: the answers the gateway reports, its own refusals
// included, show per second and class, over the last minute and in total,
// with no upstream involved at all.
func TestAnswersOverTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := New()
		d.Watch(newPool(t, "a"))
		for _, st := range []int{200, 200, 401, 429} {
			d.Answered(st)
		}
		time.Sleep(time.Second)
		d.Answered(503)
		d.Answered(502)
		time.Sleep(time.Second)
		d.Answered(200) // the second in progress: in last_minute, not yet in the series

		s := d.Snapshot().Answers
		if !slices.Equal(s.Classes, []string{"2xx", "4xx", "429", "5xx"}) {
			t.Errorf("classes = %v", s.Classes)
		}
		want := map[string][]uint32{"2xx": {2, 0}, "4xx": {1, 0}, "429": {1, 0}, "5xx": {0, 2}}
		for c, w := range want {
			if !slices.Equal(s.Series[c], w) {
				t.Errorf("series[%s] = %v, want %v", c, s.Series[c], w)
			}
		}
		for c, w := range map[string]uint64{"2xx": 3, "4xx": 1, "429": 1, "5xx": 2} {
			if s.LastMinute[c] != w || s.Total[c] != w {
				t.Errorf("%s: last minute %d, total %d; want %d", c, s.LastMinute[c], s.Total[c], w)
			}
		}
		if up := d.Snapshot().Gateway.Requests; up != 0 {
			t.Errorf("gateway.requests = %d: no request reached an upstream", up)
		}

		time.Sleep(2 * time.Minute)
		s = d.Snapshot().Answers
		if s.LastMinute["5xx"] != 0 || s.Total["5xx"] != 2 {
			t.Errorf("two minutes later: 5xx last minute %d, total %d; want 0, 2", s.LastMinute["5xx"], s.Total["5xx"])
		}
	})
}

func TestProtocol(t *testing.T) {
	tests := []struct {
		h1, h2 int64
		want   string
	}{{0, 0, ""}, {3, 0, "http/1.1"}, {0, 1, "h2"}, {2, 1, "h2 + http/1.1"}}
	for _, tt := range tests {
		if got := protocol(tt.h1, tt.h2); got != tt.want {
			t.Errorf("protocol(%d, %d) = %q, want %q", tt.h1, tt.h2, got, tt.want)
		}
	}
}
