// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/warmgate/warmgate/internal/usage"
)

// ledgerCollector reads the usage ledger's own counters at scrape time:
// whether usage records reach the disk is something an operator alerts on.
type ledgerCollector struct {
	stats                                  func() usage.Stats
	written, dropped, flushErrors, pending *prometheus.Desc
}

// WatchLedger makes the scrape report the usage ledger's counters:
// warmgate_usage_records_written_total, _dropped_total,
// warmgate_usage_flush_errors_total and warmgate_usage_records_pending.
// Call it once, when the gateway has a ledger.
func (m *Metrics) WatchLedger(l *usage.Ledger) {
	m.reg.MustRegister(&ledgerCollector{
		stats: l.Stats,
		written: prometheus.NewDesc("warmgate_usage_records_written_total",
			"Usage records committed to the usage ledger (data_dir/usage.db).", nil, nil),
		dropped: prometheus.NewDesc("warmgate_usage_records_dropped_total",
			"Usage records lost: the ledger held its maximum in memory while it could not write, or they were not written at shutdown.", nil, nil),
		flushErrors: prometheus.NewDesc("warmgate_usage_flush_errors_total",
			"Failed writes of the usage ledger; their records are kept in memory and retried.", nil, nil),
		pending: prometheus.NewDesc("warmgate_usage_records_pending",
			"Usage records held in memory, waiting to be written.", nil, nil),
	})
}

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.written
	ch <- c.dropped
	ch <- c.flushErrors
	ch <- c.pending
}

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.written, prometheus.CounterValue, float64(s.Written))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Dropped))
	ch <- prometheus.MustNewConstMetric(c.flushErrors, prometheus.CounterValue, float64(s.FlushErrors))
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(s.Pending))
}
