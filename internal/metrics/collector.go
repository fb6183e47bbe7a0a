// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warmgate/warmgate/upstream"
)

// Proto label values of warmgate_upstream_connections_opened_total: the
// ALPN names, as in upstream.AttemptInfo.Proto.
const (
	protoH1 = "http/1.1"
	protoH2 = "h2"
)

// poolCollector reads the pools' own counters at scrape time, so that the
// connection series match upstream.Pool.Stats exactly, connections opened
// by warm-up included (those do not go through the Observer).
type poolCollector struct {
	mu    sync.Mutex
	pools []*upstream.Pool

	opened, dialed, reused, expired *prometheus.Desc
	exhausted                       *prometheus.Desc
	conns, inFlight, idleTimeout    *prometheus.Desc
	circuit                         *prometheus.Desc
}

func newPoolCollector() *poolCollector {
	up := []string{"upstream"}
	return &poolCollector{
		opened: prometheus.NewDesc("warmgate_upstream_connections_opened_total",
			"New connections, by the protocol of their first request (warm-up connections included); see also warmgate_upstream_connections_dialed_total.",
			[]string{"upstream", "proto"}, nil),
		dialed: prometheus.NewDesc("warmgate_upstream_connections_dialed_total",
			"TCP connections dialed, including those never used for a request (extra dials of an HTTP/2 race) or whose TLS handshake failed.", up, nil),
		reused: prometheus.NewDesc("warmgate_upstream_connections_reused_total",
			"Attempts that got an existing connection.", up, nil),
		expired: prometheus.NewDesc("warmgate_upstream_connections_expired_total",
			"Idle connections closed by the pool before the server could (idle timeout in effect, or max age).", up, nil),
		exhausted: prometheus.NewDesc("warmgate_upstream_pool_exhausted_total",
			"Attempts that gave up waiting for a connection (max_conns all busy for the pool wait).", up, nil),
		conns: prometheus.NewDesc("warmgate_upstream_connections",
			"Open connections, by state: active (serving a request) or idle.", []string{"upstream", "state"}, nil),
		inFlight: prometheus.NewDesc("warmgate_upstream_in_flight",
			"Attempts in flight, from the start of the attempt (pool wait included) to the end of its response body.", up, nil),
		idleTimeout: prometheus.NewDesc("warmgate_upstream_idle_timeout_seconds",
			"Idle timeout in effect: the configured one, or less once the server showed a shorter one.", up, nil),
		circuit: prometheus.NewDesc("warmgate_upstream_circuit_state",
			"State of the upstream's circuit breaker: 0 closed, 1 half-open, 2 open.", up, nil),
	}
}

// WatchPool makes the scrape report p's connection and pool counters (see
// the package doc). Watch the root pool; watching it again, or a view of
// it made by Only, adds nothing.
//
// When two watched pools have upstreams of the same name, the first
// watched wins: names must be unique across the pools of one Metrics.
func (m *Metrics) WatchPool(p *upstream.Pool) {
	c := m.pools
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.pools, p) {
		c.pools = append(c.pools, p)
	}
	m.declare(p)
}

// declare creates the per-upstream series whose label values are known
// in advance, at 0, so that a dashboard or an alert on them has data
// before the first event (a retry, say).
func (m *Metrics) declare(p *upstream.Pool) {
	for _, u := range p.Upstreams() {
		s := m.series(u.Name())
		for _, r := range upstream.RetryReasons() {
			s.retry(m.retries, r)
		}
	}
}

// ReplacePool makes the scrape report next instead of prev, after a
// configuration reload rebuilt the pool.
func (m *Metrics) ReplacePool(prev, next *upstream.Pool) {
	c := m.pools
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pools = slices.DeleteFunc(c.pools, func(p *upstream.Pool) bool { return p == prev })
	if !slices.Contains(c.pools, next) {
		c.pools = append(c.pools, next)
	}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.opened, c.dialed, c.reused, c.expired, c.exhausted, c.conns, c.inFlight, c.idleTimeout, c.circuit} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pools := slices.Clone(c.pools)
	c.mu.Unlock()
	seen := make(map[string]bool)
	for _, p := range pools {
		for _, s := range p.Stats() {
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			c.collect(ch, &s)
		}
	}
}

// collect sends one upstream's series.
func (c *poolCollector) collect(ch chan<- prometheus.Metric, s *upstream.Stats) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{s.Name}, labels...)...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{s.Name}, labels...)...)
	}
	counter(c.opened, s.OpenedH1, protoH1)
	counter(c.opened, s.OpenedH2, protoH2)
	counter(c.dialed, s.Opened)
	counter(c.reused, s.Reused)
	counter(c.expired, s.Expired)
	counter(c.exhausted, s.PoolExhausted)
	gauge(c.conns, float64(s.Active), "active")
	gauge(c.conns, float64(s.Idle), "idle")
	gauge(c.inFlight, float64(s.InFlight))
	gauge(c.idleTimeout, s.IdleTimeout.Seconds())
	gauge(c.circuit, float64(s.Circuit))
}
