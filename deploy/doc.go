// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package deploy holds warmgate's deployment files (systemd unit, Helm
// chart, container image definition, Grafana dashboard and Prometheus
// alerts) and the tests that check them. It has no code of its own.
package deploy
