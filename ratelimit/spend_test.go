// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

// spendStep is one call in a MemorySpend scenario: after sleeping, AddSpend
// of add (when add is not 0), else Spent, which must give day and month.
type spendStep struct {
	sleep      time.Duration
	key        string
	add        float64
	day, month float64
}

// TestMemorySpend runs scenarios inside a synctest bubble, whose clock
// starts at midnight UTC on 2000-01-01.
func TestMemorySpend(t *testing.T) {
	tests := []struct {
		name  string
		steps []spendStep
	}{
		{"adds up within a day", []spendStep{
			{key: "a", day: 0, month: 0},
			{key: "a", add: 1.5},
			{key: "a", add: 0.25},
			{key: "a", day: 1.75, month: 1.75},
			{key: "b", day: 0, month: 0},
		}},
		{"a new day starts at 0, the month goes on", []spendStep{
			{key: "a", add: 2},
			{sleep: 23*time.Hour + 59*time.Minute, key: "a", day: 2, month: 2},
			{sleep: time.Minute, key: "a", day: 0, month: 2},
			{key: "a", add: 3},
			{key: "a", day: 3, month: 5},
		}},
		{"a new month starts at 0", []spendStep{
			{sleep: 30 * 24 * time.Hour, key: "a", add: 4}, // January 31
			{key: "a", day: 4, month: 4},
			{sleep: 24 * time.Hour, key: "a", day: 0, month: 0}, // February 1
			{key: "a", add: 1},
			{sleep: 28 * 24 * time.Hour, key: "a", day: 0, month: 1}, // February 29, 2000
			{sleep: 24 * time.Hour, key: "a", day: 0, month: 0},      // March 1
		}},
		{"a correction takes back", []spendStep{
			{key: "a", add: 10},
			{key: "a", add: -4},
			{key: "a", day: 6, month: 6},
		}},
		{"keys are separate", []spendStep{
			{key: "a", add: 1},
			{key: "a b", add: 2},
			{key: "a:b", add: 4},
			{key: "a", day: 1, month: 1},
			{key: "a b", day: 2, month: 2},
			{key: "a:b", day: 4, month: 4},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var s MemorySpend
				for i, st := range tt.steps {
					time.Sleep(st.sleep)
					if st.add != 0 {
						if err := s.AddSpend(t.Context(), st.key, st.add); err != nil {
							t.Fatalf("step %d: AddSpend: %v", i, err)
						}
						continue
					}
					day, month, err := s.Spent(t.Context(), st.key)
					if err != nil || day != st.day || month != st.month {
						t.Fatalf("step %d (%v): Spent(%q) = %v, %v, %v; want %v, %v",
							i, time.Now().UTC(), st.key, day, month, err, st.day, st.month)
					}
				}
			})
		})
	}
}

// TestMemorySpendDropsPastPeriods: the keys of a past month are not kept.
func TestMemorySpendDropsPastPeriods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s MemorySpend
		for i := range 1000 {
			_ = s.AddSpend(t.Context(), fmt.Sprint("key", i), 1)
		}
		if n := s.Len(); n != 1000 {
			t.Fatalf("Len = %d, want 1000", n)
		}
		time.Sleep(24 * time.Hour)
		_ = s.AddSpend(t.Context(), "key0", 1)
		if n, days := s.Len(), len(s.days); n != 1000 || days != 1 {
			t.Fatalf("next day: Len = %d and %d daily amounts, want 1000 and 1", n, days)
		}
		time.Sleep(31 * 24 * time.Hour)
		if n := s.Len(); n != 0 {
			t.Fatalf("next month: Len = %d, want 0", n)
		}
	})
}

func TestMemorySpendRejectsNonFinite(t *testing.T) {
	var s MemorySpend
	for _, amount := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := s.AddSpend(t.Context(), "a", amount); err == nil {
			t.Errorf("AddSpend(%v): no error", amount)
		}
	}
	if day, month, _ := s.Spent(t.Context(), "a"); day != 0 || month != 0 {
		t.Errorf("Spent = %v, %v after refused amounts, want 0, 0", day, month)
	}
}
