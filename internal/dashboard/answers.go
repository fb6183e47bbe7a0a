// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import "sync"

// What the gateway answered its API clients, by status class, whoever made
// the answer: an upstream, or the gateway itself (401 bad key, 429 rate
// limit, 503 no healthy upstream, ...). The upstream series count attempts
// that reached an upstream; these count what clients got.

// Status classes of answers. A 429 has its own class: rate limiting is the
// refusal operators most need to tell from other client errors.
const (
	classOK    = iota // 1xx, 2xx, 3xx
	class4xx          // client errors other than 429, and 499 (the client left first)
	class429          // rate limited, by the gateway or an upstream
	class5xx          // failures, answers cut by an error event included
	numClasses        // the number of classes
)

// classNames are the classes' names in the JSON, in class order.
var classNames = [numClasses]string{"2xx", "4xx", "429", "5xx"}

// classOf is the class of an answer with status.
func classOf(status int) int {
	switch {
	case status == 429:
		return class429
	case status >= 500:
		return class5xx
	case status >= 400:
		return class4xx
	}
	return classOK
}

// answers is the per-second ring of answers by class, and totals.
type answers struct {
	mu    sync.Mutex
	secs  [ringSeconds]answerSecond
	total [numClasses]uint64
}

// answerSecond is one slot of the ring: the answers of second at.
type answerSecond struct {
	at int64
	n  [numClasses]uint32
}

// Answered records one answer the gateway sent an API client, with the
// status the client got: 499 when it left first, and for an answer cut
// after its status line went out, the status of the error it was cut with.
func (d *Dashboard) Answered(status int) {
	c, sec := classOf(status), d.second()
	a := &d.answers
	a.mu.Lock()
	b := &a.secs[sec%ringSeconds]
	if b.at != sec {
		*b = answerSecond{at: sec}
	}
	b.n[c]++
	a.total[c]++
	a.mu.Unlock()
}

// Answers is what the gateway answered its API clients, by status class
// ("2xx" (with 1xx and 3xx), "4xx" (with 499, a client that left), "429",
// "5xx" (with answers cut by an error event)), its own refusals included.
type Answers struct {
	Classes []string `json:"classes"`
	// Series are per second and class, oldest first, ending with the last
	// complete second (as Window).
	Series     map[string][]uint32 `json:"series"`
	LastMinute map[string]uint64   `json:"last_minute"` // the last 60 seconds, the current one included
	Total      map[string]uint64   `json:"total"`       // since start
}

// answersView sums the answers for a snapshot taken in second cur: the
// window of n complete seconds starting at first, the last minute, the
// totals.
func (d *Dashboard) answersView(cur, first int64, n int) Answers {
	v := Answers{Classes: classNames[:], Series: map[string][]uint32{},
		LastMinute: map[string]uint64{}, Total: map[string]uint64{}}
	series := make([][]uint32, numClasses)
	for c := range series {
		series[c] = make([]uint32, n)
		v.Series[classNames[c]] = series[c]
	}
	var minute [numClasses]uint64
	mFirst, _ := span(cur, minuteSeconds)
	a := &d.answers
	a.mu.Lock()
	for i := range n {
		sec := first + int64(i)
		if b := &a.secs[sec%ringSeconds]; b.at == sec {
			for c := range numClasses {
				series[c][i] = b.n[c]
			}
		}
	}
	for sec := mFirst; sec <= cur; sec++ {
		if b := &a.secs[sec%ringSeconds]; b.at == sec {
			for c := range numClasses {
				minute[c] += uint64(b.n[c])
			}
		}
	}
	total := a.total
	a.mu.Unlock()
	for c := range numClasses {
		v.LastMinute[classNames[c]] = minute[c]
		v.Total[classNames[c]] = total[c]
	}
	return v
}

// protocol names the protocol of an upstream's connections, from the
// counts of connections opened by protocol: "h2" (many requests share a
// connection), "http/1.1" (one request per connection at a time), both
// when it used both, "" before its first connection.
func protocol(h1, h2 int64) string {
	switch {
	case h1 > 0 && h2 > 0:
		return "h2 + http/1.1"
	case h2 > 0:
		return "h2"
	case h1 > 0:
		return "http/1.1"
	}
	return ""
}
