// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// WriteText writes the report for humans: what was measured, then
// Recommend's advice, ready to paste.
func WriteText(w io.Writer, r *Report) error {
	b := bufio.NewWriter(w)
	a := Recommend(r)

	fmt.Fprintf(b, "warmgate probe %s\n", r.URL)
	conn := r.Protocol
	if t := r.TLS; t != nil {
		conn += ", " + t.Version + ", " + t.CipherSuite
		if t.ALPN == "" {
			conn += ", no ALPN"
		}
		if t.ResumptionChecked {
			conn += ", resumption " + yesNo(t.Resumption)
		}
	} else {
		conn += ", no TLS"
	}
	fmt.Fprintf(b, "  connection   %s\n", conn)
	server := fmt.Sprintf("%d %s", r.Status, http.StatusText(r.Status))
	if r.RemoteAddr != "" {
		server += " from " + r.RemoteAddr
	}
	if r.Server != "" {
		server += " (" + r.Server + ")"
	}
	fmt.Fprintf(b, "  answer       %s\n", server)
	ka := fmt.Sprintf("%d of %d requests reused the connection", r.Warm.Reused, r.Warm.Samples)
	switch {
	case r.KeepAliveHeader == "":
		ka += "; no Keep-Alive header"
	case r.KeepAliveHeaderHTTP1:
		ka += fmt.Sprintf("; Keep-Alive: %s (over HTTP/1.1)", r.KeepAliveHeader)
	default:
		ka += "; Keep-Alive: " + r.KeepAliveHeader
	}
	fmt.Fprintf(b, "  keep-alive   %s\n\n", ka)

	fmt.Fprintf(b, "  per request (%d each)        p50        p90\n", r.Cold.Samples)
	fmt.Fprintf(b, "    new connection     %10v %10v   DNS %v, TCP %v, TLS %v, wait %v\n",
		round(r.Cold.Total.P50), round(r.Cold.Total.P90),
		round(r.Cold.DNS.P50), round(r.Cold.Connect.P50), round(r.Cold.TLS.P50), round(r.Cold.Wait.P50))
	fmt.Fprintf(b, "    reused connection  %10v %10v   wait %v\n",
		round(r.Warm.Total.P50), round(r.Warm.Total.P90), round(r.Warm.Wait.P50))
	fmt.Fprintf(b, "    saved by reuse     %10v\n\n", round(r.Saving()))

	idle := r.Idle
	switch {
	case idle.Skipped != "":
		fmt.Fprintf(b, "  idle timeout   not measured: %s\n", idle.Skipped)
	case idle.Max <= 0:
		fmt.Fprintf(b, "  idle timeout   not measured\n")
	case idle.Found:
		fmt.Fprintf(b, "  idle timeout   %v (survived %v, gone after %v; %d connections, %v)\n",
			idle.Timeout, idle.Survived, idle.Closed, len(idle.Probes), idle.Elapsed.Round(100*time.Millisecond))
	default:
		fmt.Fprintf(b, "  idle timeout   none up to %v (%v)\n", idle.Max, idle.Elapsed.Round(100*time.Millisecond))
	}
	switch mr := r.MaxRequests; {
	case mr.Sent == 0 && mr.Limit == 0:
	case mr.Limit > 0:
		fmt.Fprintf(b, "  max requests   %d per connection\n", mr.Limit)
	default:
		fmt.Fprintf(b, "  max requests   no limit in %d on one connection\n", mr.Sent)
	}

	if a.IdleTimeout > 0 {
		fmt.Fprintf(b, "\nrecommended client idle timeout: %v (%s)\n", a.IdleTimeout, a.Basis)
	} else if a.Basis != "" {
		fmt.Fprintf(b, "\nno idle timeout to recommend: %s\n", a.Basis)
	}
	for _, rec := range a.Recommendations {
		fmt.Fprintf(b, "\n  %s\n", rec.Title)
		for line := range strings.SplitSeq(rec.Config, "\n") {
			fmt.Fprintf(b, "    %s\n", line)
		}
		fmt.Fprintf(b, "    why: %s\n", rec.Why)
	}
	if len(a.Warnings) > 0 {
		fmt.Fprintf(b, "\nwarnings\n")
		for _, s := range a.Warnings {
			fmt.Fprintf(b, "  ! %s\n", s)
		}
	}
	if len(a.Notes) > 0 {
		fmt.Fprintf(b, "\nnotes\n")
		for _, s := range a.Notes {
			fmt.Fprintf(b, "  - %s\n", s)
		}
	}
	return b.Flush()
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
