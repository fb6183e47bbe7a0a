// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Report is what Run measured. Its JSON form (MarshalJSON) is flat, in
// milliseconds and seconds, for scripts; see docs/probe.md.
type Report struct {
	// URL is the URL requested (Options.URL + Path).
	URL string
	// Addr is the endpoint's host:port; RemoteAddr the address connected to.
	Addr, RemoteAddr string
	// Status and Server are the first answer's status code and Server header.
	Status int
	Server string
	// Protocol is "h2" or "http/1.1", as negotiated by the first request.
	Protocol string
	// TLS is nil for http:// URLs.
	TLS *TLSInfo
	// KeepAlive reports whether the server let a connection serve a second
	// request at all.
	KeepAlive bool
	// KeepAliveHeader is the server's Keep-Alive header ("timeout=5,
	// max=100"), "" when it sends none. KeepAliveHeaderHTTP1 reports that
	// it came from an extra HTTP/1.1 request because the server speaks h2,
	// where the header does not exist.
	KeepAliveHeader      string
	KeepAliveHeaderHTTP1 bool
	// Cold are the requests on new connections, Warm those on one reused
	// connection (Warm.Reused of them did reuse it).
	Cold, Warm Timings
	// Idle is the idle timeout search.
	Idle IdleResult
	// MaxRequests is the per-connection request cap search.
	MaxRequests MaxRequestsResult
	// Elapsed is how long the probe took.
	Elapsed time.Duration
}

// TLSInfo is what the TLS handshake negotiated.
type TLSInfo struct {
	Version     string // "TLS 1.3"
	CipherSuite string // "TLS_AES_128_GCM_SHA256"
	ALPN        string // "h2", "http/1.1" or ""
	// ResumptionChecked is false when the check could not run; then
	// Resumption means nothing.
	ResumptionChecked bool
	// Resumption reports whether a second new connection resumed the
	// first one's TLS session, and ResumedHandshake what that handshake took.
	Resumption       bool
	ResumedHandshake time.Duration
}

// Timings summarize a set of requests. A phase a request skipped (DNS for
// an IP address; everything before Wait on a reused connection) counts 0.
type Timings struct {
	Samples int
	// Reused counts the requests that went out on an already open
	// connection (meaningful for the reused-connection set).
	Reused int
	DNS    Percentiles
	// Connect is the TCP handshake, TLS the TLS handshake, and Handshake
	// their sum per request: what a new connection costs before the
	// request can be sent.
	Connect, TLS, Handshake Percentiles
	// Wait is from the request written to the first byte of the answer
	// (the server's time plus a round trip); TTFB is from the start to that
	// byte, Total to the end of the body.
	Wait, TTFB, Total Percentiles
}

// Percentiles of a duration over a set of requests (nearest rank).
type Percentiles struct {
	P50, P90 time.Duration
}

// IdleResult is the outcome of the idle timeout search.
type IdleResult struct {
	// Max is the longest idle gap the search would test (Options.IdleMax).
	Max time.Duration
	// Skipped says why the search did not run; "" when it did.
	Skipped string
	// Found reports that some connection did not survive a gap up to Max.
	// Timeout is then the estimate: the middle of [Survived, Closed], whose
	// width is at most 10% of Survived.
	Found   bool
	Timeout time.Duration
	// Survived is the longest gap a connection survived (below Closed);
	// Closed the shortest gap after which a connection was gone, 0 if none.
	Survived, Closed time.Duration
	// Inconsistent reports that a connection survived a longer gap than one
	// that died: the server's idle policy is not a plain timeout (load,
	// connection count), or the network dropped a connection.
	Inconsistent bool
	// Probes are every connection tested, in order of rounds and gaps.
	Probes []IdleProbe
	// Elapsed is how long the search took.
	Elapsed time.Duration
}

// IdleProbe is one connection of the idle search.
type IdleProbe struct {
	Round    int
	Gap      time.Duration
	Survived bool
	// Outcome is "reused", "new connection" (the server had closed it, and
	// the client noticed before sending), or "error: …" (the request failed:
	// the stale-connection race, or a connection dropped without a close).
	Outcome string
}

// MaxRequestsResult is the outcome of the per-connection request cap search.
type MaxRequestsResult struct {
	// Sent is how many requests were sent on the first connection (at most
	// Options.MaxRequests); 0 when the test did not run.
	Sent int
	// Limit is how many requests the server served on one connection
	// before closing it; 0 when it did not close it within Sent.
	Limit int
	// Announced reports that the server said so ("Connection: close") on
	// the last answer, rather than just closing the connection.
	Announced bool
}

// summarize computes the percentiles of samples.
func summarize(samples []sample) Timings {
	pick := func(f func(s sample) time.Duration) Percentiles {
		ds := make([]time.Duration, len(samples))
		for i, s := range samples {
			ds[i] = f(s)
		}
		return Percentiles{P50: percentile(ds, 50), P90: percentile(ds, 90)}
	}
	return Timings{
		Samples:   len(samples),
		DNS:       pick(func(s sample) time.Duration { return s.DNS }),
		Connect:   pick(func(s sample) time.Duration { return s.Connect }),
		TLS:       pick(func(s sample) time.Duration { return s.TLS }),
		Handshake: pick(func(s sample) time.Duration { return s.Connect + s.TLS }),
		Wait:      pick(func(s sample) time.Duration { return s.Wait }),
		TTFB:      pick(func(s sample) time.Duration { return s.TTFB }),
		Total:     pick(func(s sample) time.Duration { return s.Total }),
	}
}

// percentile is the nearest-rank p-th percentile of ds (0 for none).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

// Saving is what reusing a connection saves per request, at the median.
func (r *Report) Saving() time.Duration { return r.Cold.Total.P50 - r.Warm.Total.P50 }

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// secs is d in seconds, to the millisecond.
func secs(d time.Duration) float64 { return math.Round(float64(d)/1e6) / 1e3 }

// optSecs is secs(d), or null when ok is false.
func optSecs(d time.Duration, ok bool) *float64 {
	if !ok {
		return nil
	}
	v := secs(d)
	return &v
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// jsonReport is the JSON shape of a Report, with its recommendations.
type jsonReport struct {
	URL        string `json:"url"`
	Addr       string `json:"addr"`
	RemoteAddr string `json:"remote_addr,omitempty"`
	Status     int    `json:"status"`
	Server     string `json:"server,omitempty"`
	Protocol   string `json:"protocol"`

	TLSVersion           *string  `json:"tls_version"`
	TLSCipher            *string  `json:"tls_cipher"`
	ALPN                 *string  `json:"alpn"`
	TLSResumption        *bool    `json:"tls_resumption"`
	ResumedHandshakeMS   *float64 `json:"tls_resumed_handshake_ms"`
	KeepAlive            bool     `json:"keepalive"`
	KeepAliveHeader      *string  `json:"keepalive_header"`
	KeepAliveHeaderHTTP1 bool     `json:"keepalive_header_http1,omitempty"`

	Samples      int     `json:"samples"`
	ColdP50      float64 `json:"cold_p50_ms"`
	ColdP90      float64 `json:"cold_p90_ms"`
	WarmP50      float64 `json:"warm_p50_ms"`
	WarmP90      float64 `json:"warm_p90_ms"`
	SavingP50    float64 `json:"saving_p50_ms"`
	HandshakeP50 float64 `json:"handshake_p50_ms"`
	HandshakeP90 float64 `json:"handshake_p90_ms"`
	DNSP50       float64 `json:"dns_p50_ms"`
	ConnectP50   float64 `json:"connect_p50_ms"`
	TLSP50       float64 `json:"tls_handshake_p50_ms"`
	ColdTTFBP50  float64 `json:"cold_ttfb_p50_ms"`
	WarmTTFBP50  float64 `json:"warm_ttfb_p50_ms"`
	WarmReused   int     `json:"warm_reused"`

	IdleTimeout   *float64        `json:"idle_timeout_seconds"`
	IdleSurvived  *float64        `json:"idle_survived_seconds"`
	IdleClosed    *float64        `json:"idle_closed_seconds"`
	IdleMax       float64         `json:"idle_max_seconds"`
	IdleSkipped   string          `json:"idle_skipped,omitempty"`
	IdleInconsist bool            `json:"idle_inconsistent,omitempty"`
	IdleElapsed   float64         `json:"idle_search_seconds"`
	IdleProbes    []jsonIdleProbe `json:"idle_probes"`

	MaxRequests          *int `json:"max_requests_per_connection"`
	MaxRequestsSent      int  `json:"max_requests_sent"`
	MaxRequestsAnnounced bool `json:"max_requests_announced,omitempty"`

	RecommendedIdle *float64         `json:"recommended_idle_timeout_seconds"`
	Recommendations []Recommendation `json:"recommendations"`
	Warnings        []string         `json:"warnings"`
	Notes           []string         `json:"notes"`
	Elapsed         float64          `json:"elapsed_seconds"`
}

type jsonIdleProbe struct {
	Round    int     `json:"round"`
	Gap      float64 `json:"gap_seconds"`
	Survived bool    `json:"survived"`
	Outcome  string  `json:"outcome"`
}

// MarshalJSON encodes the report flat, with durations in milliseconds
// (…_ms) or seconds (…_seconds), unknown values as null, and Recommend's
// advice included.
func (r *Report) MarshalJSON() ([]byte, error) {
	a := Recommend(r)
	j := jsonReport{
		URL: r.URL, Addr: r.Addr, RemoteAddr: r.RemoteAddr, Status: r.Status, Server: r.Server,
		Protocol:             r.Protocol,
		KeepAlive:            r.KeepAlive,
		KeepAliveHeader:      optString(r.KeepAliveHeader),
		KeepAliveHeaderHTTP1: r.KeepAliveHeaderHTTP1,

		Samples:      r.Cold.Samples,
		ColdP50:      ms(r.Cold.Total.P50),
		ColdP90:      ms(r.Cold.Total.P90),
		WarmP50:      ms(r.Warm.Total.P50),
		WarmP90:      ms(r.Warm.Total.P90),
		SavingP50:    ms(r.Saving()),
		HandshakeP50: ms(r.Cold.Handshake.P50),
		HandshakeP90: ms(r.Cold.Handshake.P90),
		DNSP50:       ms(r.Cold.DNS.P50),
		ConnectP50:   ms(r.Cold.Connect.P50),
		TLSP50:       ms(r.Cold.TLS.P50),
		ColdTTFBP50:  ms(r.Cold.TTFB.P50),
		WarmTTFBP50:  ms(r.Warm.TTFB.P50),
		WarmReused:   r.Warm.Reused,

		IdleTimeout:   optSecs(r.Idle.Timeout, r.Idle.Found),
		IdleSurvived:  optSecs(r.Idle.Survived, r.Idle.Skipped == "" && (r.Idle.Survived > 0 || r.Idle.Found)),
		IdleClosed:    optSecs(r.Idle.Closed, r.Idle.Found),
		IdleMax:       secs(r.Idle.Max),
		IdleSkipped:   r.Idle.Skipped,
		IdleInconsist: r.Idle.Inconsistent,
		IdleElapsed:   secs(r.Idle.Elapsed),
		IdleProbes:    []jsonIdleProbe{},

		MaxRequestsSent:      r.MaxRequests.Sent,
		MaxRequestsAnnounced: r.MaxRequests.Announced,

		RecommendedIdle: optSecs(a.IdleTimeout, a.IdleTimeout > 0),
		Recommendations: a.Recommendations,
		Warnings:        a.Warnings,
		Notes:           a.Notes,
		Elapsed:         secs(r.Elapsed),
	}
	if t := r.TLS; t != nil {
		j.TLSVersion, j.TLSCipher, j.ALPN = optString(t.Version), optString(t.CipherSuite), optString(t.ALPN)
		if t.ResumptionChecked {
			j.TLSResumption = &t.Resumption
			if t.Resumption {
				v := ms(t.ResumedHandshake)
				j.ResumedHandshakeMS = &v
			}
		}
	}
	for _, p := range r.Idle.Probes {
		j.IdleProbes = append(j.IdleProbes, jsonIdleProbe{Round: p.Round, Gap: secs(p.Gap), Survived: p.Survived, Outcome: p.Outcome})
	}
	if r.MaxRequests.Limit > 0 {
		j.MaxRequests = &r.MaxRequests.Limit
	}
	return json.Marshal(j)
}
