// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// MemorySpend is an in-memory Spender: what each key spent in the current
// UTC day and month, on this instance only. The zero value is ready to use.
//
// Its memory is bounded by the keys that spend within a month: when the
// day (month) changes, the amounts of the past day (month) are dropped.
// Time is read with time.Now, so tests use testing/synctest.
type MemorySpend struct {
	mu     sync.Mutex
	day    date // the day the amounts of days are for
	month  date // the month (day 1) the amounts of months are for
	days   map[string]float64
	months map[string]float64
}

var _ Spender = (*MemorySpend)(nil)

// Spent returns what key spent in the current UTC day and month. It never
// returns an error; ctx is not used.
func (s *MemorySpend) Spent(_ context.Context, key string) (day, month float64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotate(time.Now())
	return s.days[key], s.months[key], nil
}

// AddSpend adds amount to what key spent in the current UTC day and month.
// It returns an error only for an amount that is not a finite number; ctx
// is not used.
func (s *MemorySpend) AddSpend(_ context.Context, key string, amount float64) error {
	if err := checkAmount(amount); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotate(time.Now())
	if s.days == nil {
		s.days = make(map[string]float64)
	}
	if s.months == nil {
		s.months = make(map[string]float64)
	}
	s.days[key] += amount
	s.months[key] += amount
	return nil
}

// Len returns the number of keys that spent this month: the size of the
// larger of MemorySpend's two maps.
func (s *MemorySpend) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotate(time.Now())
	return max(len(s.days), len(s.months))
}

// rotate drops the amounts of a past day or month. s.mu is held.
func (s *MemorySpend) rotate(now time.Time) {
	day := dateOf(now)
	month := date{day.year, day.month, 1}
	if day != s.day { // the zero date is no day: a new MemorySpend starts here
		s.days, s.day = nil, day
	}
	if month != s.month {
		s.months, s.month = nil, month
	}
}

// checkAmount returns an error when amount cannot be added to a spend: when
// it is NaN or infinite (a bug in the caller's cost computation, which
// would otherwise poison the key's totals for the rest of the month).
func checkAmount(amount float64) error {
	if math.IsNaN(amount) || math.IsInf(amount, 0) {
		return fmt.Errorf("ratelimit: AddSpend of %v: the amount must be a finite number; check the cost computation", amount)
	}
	return nil
}

// date is a UTC calendar day.
type date struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) date {
	y, m, d := t.UTC().Date()
	return date{y, m, d}
}
