// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Advice is what a Report means for clients: the idle timeout to use and
// the settings to paste.
type Advice struct {
	// IdleTimeout is the client-side idle timeout to use: safely under
	// the server's. 0 when there is nothing to recommend (the server does
	// not keep connections alive, or the search did not run).
	IdleTimeout time.Duration
	// Basis says where IdleTimeout comes from, for humans.
	Basis string
	// Recommendations are the settings, one per client.
	Recommendations []Recommendation
	// Warnings are client defaults that race the server, and other risks.
	Warnings []string
	// Notes are observations worth knowing that need no change.
	Notes []string
}

// Recommendation is one client's settings, ready to paste.
type Recommendation struct {
	// Client is "warmgate", "go", "python-httpx", "node-https" or
	// "node-fetch".
	Client string `json:"client"`
	// Title names the client and where the settings go.
	Title string `json:"title"`
	// Config is the snippet, possibly several lines.
	Config string `json:"config"`
	// Why is one line of reason.
	Why string `json:"why"`
}

// Client defaults the recommendations compare with the server's idle
// timeout. Each is the time a client keeps an idle connection for reuse.
var clientDefaults = []struct {
	name string
	idle time.Duration
}{
	{"Go http.DefaultTransport IdleConnTimeout", 90 * time.Second},
	{"Python httpx keepalive_expiry", 5 * time.Second},
	{"Node.js ≥ 19 globalAgent timeout", 5 * time.Second},
	{"Node.js fetch (undici) keepAliveTimeout", 4 * time.Second},
	{"agentkeepalive freeSocketTimeout", 4 * time.Second},
}

// goDefaultIdle is Go's http.DefaultTransport.IdleConnTimeout: when no
// server timeout is found, longer than this brings little.
const goDefaultIdle = 90 * time.Second

// safeShare is the part of the server's idle timeout a client should use:
// the margin (20%) covers clock and network delays, and the time a request
// spends between leaving the pool and reaching the server.
const safeShare = 0.8

// Recommend turns a report into client settings. It is pure: the same
// report always gives the same advice.
func Recommend(r *Report) Advice {
	a := Advice{Recommendations: []Recommendation{}, Warnings: []string{}, Notes: []string{}}
	if r.Cold.Samples > 0 && r.Warm.Samples > 0 {
		save := r.Saving()
		pct := 0.0
		if r.Cold.Total.P50 > 0 {
			pct = 100 * float64(save) / float64(r.Cold.Total.P50)
		}
		a.Notes = append(a.Notes, fmt.Sprintf("a new connection costs %v before the request (TCP %v + TLS %v at p50); reusing one saves %v per request (%.0f%%)",
			round(r.Cold.Handshake.P50), round(r.Cold.Connect.P50), round(r.Cold.TLS.P50), round(save), pct))
	}
	switch r.Status {
	case 401, 403:
		a.Notes = append(a.Notes, fmt.Sprintf("the endpoint answered %d: the timings hold, but pass --key-env to probe as an authenticated client", r.Status))
	case 404:
		a.Notes = append(a.Notes, "the endpoint answered 404: the timings hold, but check the URL and --path")
	}
	if !r.KeepAlive && r.Warm.Samples > 0 {
		a.Warnings = append(a.Warnings, fmt.Sprintf("the server closed the connection after every request: keep-alive is off here, so every request pays a new connection (%v at p50); no client setting can change that",
			round(r.Cold.Total.P50)))
		a.Basis = "the server does not keep connections alive"
		return a
	}

	advertised, advertisedMax := parseKeepAlive(r.KeepAliveHeader)
	idle := r.Idle
	label := "the server's idle timeout" // what the snippets stay under
	switch {
	case (idle.Skipped != "" || idle.Max <= 0) && advertised > 0:
		a.IdleTimeout = safeUnder(advertised)
		a.Basis = fmt.Sprintf("%.0f%% of the server's Keep-Alive: timeout=%d; the idle timeout was not measured", safeShare*100, advertised/time.Second)
		label = fmt.Sprintf("the server's advertised %v", advertised)
	case idle.Skipped != "" || idle.Max <= 0:
		a.Basis = "the idle timeout was not measured"
	case idle.Found:
		server := idle.Timeout
		a.Basis = fmt.Sprintf("%.0f%% of the server's idle timeout, %v as measured", safeShare*100, server)
		label = fmt.Sprintf("the server's %v", server)
		if advertised > 0 && advertised < server {
			// The server asks clients to leave earlier than it must:
			// follow the ask, as undici and warmgate's own pool do.
			server = advertised
			a.Basis = fmt.Sprintf("%.0f%% of the server's Keep-Alive: timeout=%d, shorter than the %v measured", safeShare*100, advertised/time.Second, idle.Timeout)
			label = fmt.Sprintf("the server's advertised %v", server)
		}
		a.IdleTimeout = safeUnder(server)
		if advertised > 0 && idle.Timeout < advertised*9/10 {
			a.Warnings = append(a.Warnings, fmt.Sprintf("the server advertises Keep-Alive: timeout=%d but closed idle connections after %v: clients that trust the header (undici, fetch) will race it",
				advertised/time.Second, idle.Timeout))
		}
		var racing []string
		for _, d := range clientDefaults {
			if d.idle >= server*9/10 { // within 10% is a race too: delays eat the gap
				racing = append(racing, fmt.Sprintf("%s %s", d.name, seconds(d.idle)))
			}
		}
		racing = append(racing, "and new https.Agent({keepAlive: true}) in Node.js has no limit at all")
		a.Warnings = append(a.Warnings, fmt.Sprintf("client defaults that are not clearly under %s race it, sending requests on connections the server is closing (the stale-connection race): %s; use the settings above",
			label, strings.Join(racing, ", ")))
		if server < goDefaultIdle {
			a.Notes = append(a.Notes, fmt.Sprintf("warmgate's pool.idle_timeout default (%s) is longer than %s; warmgate lowers it to 80%% once it sees the server close an idle connection or send Keep-Alive, but setting it avoids the first stale-connection races",
				seconds(goDefaultIdle), label))
		}
		if idle.Inconsistent {
			a.Warnings = append(a.Warnings, "some connections outlived others that died sooner: the server (or the network) closes idle connections by more than a timeout; keep the margin")
		}
	default:
		a.IdleTimeout = min(max(idle.Survived, idle.Max), goDefaultIdle)
		a.Basis = fmt.Sprintf("no idle timeout up to %v, the longest gap probed", idle.Max)
		label = fmt.Sprintf("the %v the server kept idle connections", idle.Max)
		if idle.Max < goDefaultIdle {
			a.Basis += fmt.Sprintf("; probe with a longer --idle-max (e.g. %v) before going past %v", DefaultIdleMax, a.IdleTimeout)
		}
	}

	if mr := r.MaxRequests; mr.Limit > 0 {
		how := "announced with Connection: close"
		if !mr.Announced {
			how = "without notice"
			if r.Protocol == "http/1.1" {
				a.Warnings = append(a.Warnings, "the server closes connections after a request count without Connection: close: a request racing that close fails, and clients retry only idempotent requests (a POST to /chat/completions is not)")
			}
		}
		a.Notes = append(a.Notes, fmt.Sprintf("the server closes a connection after %d requests (%s): clients open a new one; at N requests a second on one connection, that is N/%d handshakes a second",
			mr.Limit, how, mr.Limit))
	} else if mr.Sent > 0 {
		a.Notes = append(a.Notes, fmt.Sprintf("no per-connection request limit in %d requests", mr.Sent))
	}
	if advertisedMax > 0 && r.MaxRequests.Limit == 0 {
		a.Notes = append(a.Notes, fmt.Sprintf("the server's Keep-Alive header announces max=%d requests per connection", advertisedMax))
	}
	if t := r.TLS; t != nil && t.ResumptionChecked {
		if t.Resumption {
			a.Notes = append(a.Notes, fmt.Sprintf("TLS session resumption works (a resumed handshake took %v, a full one %v); Go resumes only with TLSClientConfig.ClientSessionCache set",
				round(t.ResumedHandshake), round(r.Cold.TLS.P50)))
		} else {
			a.Notes = append(a.Notes, "TLS session resumption did not work: every new connection pays a full handshake")
		}
	}
	if r.Protocol == "h2" {
		a.Notes = append(a.Notes, "the server speaks HTTP/2: one connection carries many concurrent requests, and Keep-Alive request headers mean nothing there")
	}

	a.Recommendations = recommendations(r, a.IdleTimeout, label)
	return a
}

// recommendations are the snippets for idle timeout d (0: leave it out),
// which stays under server (a phrase naming the server's timeout).
func recommendations(r *Report, d time.Duration, server string) []Recommendation {
	h2 := r.Protocol == "h2"
	// idleWhy is the reason for setting knob to d.
	idleWhy := func(knob string) string {
		if d == 0 {
			return "the idle timeout was not measured: set " + knob + " under the server's once known"
		}
		return fmt.Sprintf("%s %v is under %s, so a request never goes out on a connection the server is closing", knob, d, server)
	}
	var out []Recommendation

	// warmgate
	var pool []string
	if d > 0 {
		pool = append(pool, "idle_timeout: "+d.String())
	}
	pool = append(pool, "max_idle: 64")
	if h2 {
		pool = append(pool, "http2: true")
	}
	out = append(out, Recommendation{
		Client: "warmgate", Title: "warmgate (config.yaml, in the upstream's entry)",
		Config: "pool: {" + strings.Join(pool, ", ") + "}",
		Why:    idleWhy("idle_timeout") + "; max_idle keeps enough warm connections for bursts",
	})

	// Go
	var g strings.Builder
	g.WriteString("tr := http.DefaultTransport.(*http.Transport).Clone()\n")
	if d > 0 {
		g.WriteString("tr.IdleConnTimeout = " + goDuration(d) + "\n")
	}
	g.WriteString("tr.MaxIdleConnsPerHost = 64\n")
	if h2 {
		g.WriteString("tr.ForceAttemptHTTP2 = true\n")
	}
	g.WriteString("client := &http.Client{Transport: tr}")
	why := idleWhy("IdleConnTimeout") + " (the default is 90s); MaxIdleConnsPerHost 64 because the default 2 discards warm connections under concurrency"
	if h2 {
		why += "; ForceAttemptHTTP2 keeps h2 on once you set a custom dialer or TLS config"
	}
	out = append(out, Recommendation{Client: "go", Title: "Go (net/http)", Config: g.String(), Why: why})

	// Python httpx
	limits := "max_connections=100, max_keepalive_connections=50"
	if d > 0 {
		limits += ", keepalive_expiry=" + pySeconds(d)
	}
	py := "client = httpx.AsyncClient(\n"
	if h2 {
		py += "    http2=True,  # pip install 'httpx[http2]'\n"
	}
	py += "    limits=httpx.Limits(" + limits + "),\n)"
	why = idleWhy("keepalive_expiry") + " (the default is 5s); max_keepalive_connections above the default 20 keeps bursts warm"
	if h2 {
		why += "; http2 multiplexes requests on one connection"
	}
	out = append(out, Recommendation{Client: "python-httpx", Title: "Python (httpx; the OpenAI SDK takes http_client=)", Config: py, Why: why})

	// Node https.Agent
	agent := "keepAlive: true"
	if d > 0 {
		agent += ", timeout: " + strconv.FormatInt(d.Milliseconds(), 10)
	}
	agent += ", maxSockets: 50, maxFreeSockets: 10"
	out = append(out, Recommendation{
		Client: "node-https", Title: "Node.js (https.Agent, e.g. for axios)",
		Config: "const agent = new https.Agent({ " + agent + " });",
		Why:    idleWhy("timeout (free socket idle expiry)") + " (new Agent() has none, Node ≥ 19's globalAgent 5s); keepAliveMsecs only delays TCP keep-alive probes, it is not an idle expiry",
	})

	// Node fetch (undici)
	if d > 0 {
		ms := strconv.FormatInt(d.Milliseconds(), 10)
		out = append(out, Recommendation{
			Client: "node-fetch", Title: "Node.js (fetch / undici, e.g. for the OpenAI SDK)",
			Config: "setGlobalDispatcher(new Agent({ keepAliveTimeout: " + ms + ", keepAliveMaxTimeout: " + ms + " }));  // from 'undici'",
			Why:    "undici keeps idle sockets 4s by default, or what the server's Keep-Alive header says minus 1-2s; both caps keep it under " + server,
		})
	}
	return out
}

// safeUnder is safeShare of d, rounded down to a tidy value.
func safeUnder(d time.Duration) time.Duration {
	v := time.Duration(float64(d) * safeShare)
	switch {
	case v >= 10*time.Second:
		v = v.Truncate(time.Second)
	case v >= time.Second:
		v = v.Truncate(100 * time.Millisecond)
	default:
		v = v.Truncate(10 * time.Millisecond)
	}
	return max(v, 10*time.Millisecond)
}

// parseKeepAlive reads a Keep-Alive header ("timeout=5, max=100"); zero
// values for what it lacks.
func parseKeepAlive(h string) (timeout time.Duration, maxReq int) {
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "timeout":
			timeout = time.Duration(n) * time.Second
		case "max":
			maxReq = n
		}
	}
	return timeout, maxReq
}

// goDuration writes d as a Go expression: "48 * time.Second".
func goDuration(d time.Duration) string {
	switch {
	case d%time.Minute == 0:
		return fmt.Sprintf("%d * time.Minute", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%d * time.Second", d/time.Second)
	default:
		return fmt.Sprintf("%d * time.Millisecond", d/time.Millisecond)
	}
}

// pySeconds writes d in seconds as a Python float: "48.0", "1.2".
func pySeconds(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// seconds writes a whole number of seconds as "90s", not "1m30s".
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// round shortens d for humans: 3 significant digits or so.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
