// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// suiteEnv is what every scenario of one RunSuite shares.
type suiteEnv struct {
	o      SuiteOptions
	logDir string       // children's logs
	tmp    string       // configs and CA files; removed at the end
	nginx  string       // nginx's path; "" when absent or not wanted
	node   string       // node's path, to run Portkey; "" when not wanted
	ctl    *http.Client // readiness, stats and metrics requests
}

func (e *suiteEnv) logf(format string, args ...any) {
	fmt.Fprintf(e.o.Log, format+"\n", args...)
}

// controlTimeout bounds one control request (readiness, stats, metrics).
const controlTimeout = 5 * time.Second

// maxControlBody bounds what is read of a control answer.
const maxControlBody = 4 << 20

// newControlClient is the suite's client for its own small requests. It
// keeps its connections alive, so that polling a mock's stats during a run
// opens no connection the mock would count; it trusts no CA until
// trust() adds one.
func newControlClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     &tls.Config{RootCAs: x509.NewCertPool()},
		MaxIdleConnsPerHost: 4,
	}, Timeout: controlTimeout}
}

// trust adds the PEM CA in file to the control client's roots.
func (e *suiteEnv) trust(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	roots := e.ctl.Transport.(*http.Transport).TLSClientConfig.RootCAs
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate", file)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool, nil
}

// get fetches url with the control client.
func (e *suiteEnv) get(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := e.ctl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxControlBody))
	return resp.StatusCode, b, err
}

// fullMockStats is the mock's GET /mock/stats.
type fullMockStats struct {
	ConnectionsAccepted int64 `json:"connections_accepted"`
	TLSHandshakes       int64 `json:"tls_handshakes"`
	Requests            int64 `json:"requests"`
	ActiveConnections   int64 `json:"active_connections"`
}

func (e *suiteEnv) mockStats(ctx context.Context, origin string) (fullMockStats, error) {
	var s fullMockStats
	status, b, err := e.get(ctx, origin+"/mock/stats")
	switch {
	case err != nil:
		return s, err
	case status != http.StatusOK:
		return s, fmt.Errorf("%s/mock/stats: status %d", origin, status)
	}
	return s, json.Unmarshal(b, &s)
}

// gatewayMetrics reads the named series (without labels) from the
// gateway's Prometheus text at origin/metrics.
func (e *suiteEnv) gatewayMetrics(ctx context.Context, origin string, names ...string) (map[string]float64, error) {
	status, b, err := e.get(ctx, origin+"/metrics")
	switch {
	case err != nil:
		return nil, err
	case status != http.StatusOK:
		return nil, fmt.Errorf("%s/metrics: status %d", origin, status)
	}
	return parseMetrics(b, names...), nil
}

// parseMetrics picks the unlabelled samples of names from Prometheus text.
func parseMetrics(b []byte, names ...string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		for _, n := range names {
			if name == n {
				if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					out[n] = v
				}
			}
		}
	}
	return out
}

// ---- children ----

var (
	mockAddrLine    = regexp.MustCompile(`listening on (https?://\S+?)/v1 `)
	gatewayAddrLine = regexp.MustCompile(`base_url for clients: (http://\S+?)/v1\)`)
)

// startMock starts "warmgate mock" with args on a free loopback port and
// waits until it answers. It returns the process and its origin
// ("http://127.0.0.1:PORT"). With tls, the mock serves HTTPS and its CA
// is written to caFile and trusted by the control client.
func (e *suiteEnv) startMock(ctx context.Context, name string, caFile string, args ...string) (*proc, string, error) {
	a := append([]string{"mock", "--listen", "127.0.0.1:0"}, args...)
	if caFile != "" {
		a = append(a, "--tls", "--ca-out", caFile)
	}
	p, origin, err := startProc(ctx, name, e.logDir, e.o.Binary, a, mockAddrLine)
	if err != nil {
		return nil, "", err
	}
	if caFile != "" {
		if _, err := e.trust(caFile); err != nil {
			p.stop()
			return nil, "", fmt.Errorf("%s: CA: %w", name, err)
		}
	}
	if err := p.waitReady(ctx, e.get, origin+"/mock/stats"); err != nil {
		p.stop()
		return nil, "", err
	}
	e.logf("%s: pid %d, %s", name, p.pid(), origin)
	return p, origin, nil
}

// gatewayUpstream is one upstream of a gateway config the suite writes.
type gatewayUpstream struct {
	name, baseURL, model, caFile string
}

// gatewaySetup is what a scenario may change in a gateway the suite
// starts, beyond its upstreams. The zero value is the suite's gateway.
type gatewaySetup struct {
	// extraYAML is appended to the config: whole top-level sections such
	// as "tracing: {...}\n".
	extraYAML string
	// logLevel is --log-level; "" means warn, which leaves out the access
	// lines (info), as nginx's config leaves out its access log.
	logLevel string
}

// startGateway writes a config with the given upstreams, starts "warmgate
// serve" on a free loopback port with request logs off (nginx's are off
// too), and waits until /readyz says the warm-up is done (every upstream
// has a warm connection: the suite's upstreams are up). It returns the
// process and its origin.
func (e *suiteEnv) startGateway(ctx context.Context, name string, ups ...gatewayUpstream) (*proc, string, error) {
	return e.startGatewayWith(ctx, name, gatewaySetup{}, ups...)
}

// startGatewayWith is startGateway with the config and log level changed
// as set says.
func (e *suiteEnv) startGatewayWith(ctx context.Context, name string, set gatewaySetup, ups ...gatewayUpstream) (*proc, string, error) {
	var cfg strings.Builder
	// No load balancer is in front: SIGTERM (proc.stop) need not wait
	// for one to stop sending.
	fmt.Fprintf(&cfg, "listen: 127.0.0.1:0\ndata_dir: %q\nserver: {shutdown_delay: 0s}\nupstreams:\n", filepath.Join(e.tmp, name+"-data"))
	for _, u := range ups {
		fmt.Fprintf(&cfg, "  - name: %q\n    base_url: %q\n    models: [%q]\n", u.name, u.baseURL, u.model)
		if u.caFile != "" {
			fmt.Fprintf(&cfg, "    tls: {ca_file: %q}\n", u.caFile)
		}
	}
	cfg.WriteString(set.extraYAML)
	level := set.logLevel
	if level == "" {
		level = "warn"
	}
	file := filepath.Join(e.tmp, name+".yaml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o600); err != nil {
		return nil, "", err
	}
	p, origin, err := startProc(ctx, name, e.logDir, e.o.Binary,
		[]string{"serve", "--config", file, "--log-level", level}, gatewayAddrLine)
	if err != nil {
		return nil, "", err
	}
	if err := p.waitReady(ctx, e.get, origin+"/readyz"); err != nil {
		p.stop()
		return nil, "", err
	}
	e.logf("%s: pid %d, %s", name, p.pid(), origin)
	return p, origin, nil
}

// findNginx returns nginx's path, or "" (with a note) when the suite runs
// without it.
func (e *suiteEnv) findNginx(rep *SuiteReport) string {
	if e.o.NoNginx {
		rep.Notes = append(rep.Notes, "nginx: skipped (--no-nginx)")
		return ""
	}
	if !slices.Contains(e.o.Scenarios, ScenarioOverhead) {
		return ""
	}
	path, err := exec.LookPath("nginx")
	if err != nil {
		// Debian installs it in /usr/sbin, which a user's PATH may lack.
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			rep.Notes = append(rep.Notes, "nginx: not found on PATH, so the overhead scenario compares warmgate with the direct path only (apt-get install nginx)")
			return ""
		}
		path = "/usr/sbin/nginx"
	}
	return path
}

// nginxConfig is a minimal keep-alive reverse proxy to the mock at
// upstream (host:port), listening on listen, with its pid and temporary
// files in dir and its error log in errorLog. Keep-alive request limits
// are raised from their 1,000 default on both sides, so that nginx, like
// warmgate, never reconnects in a run, and the listen backlog from
// nginx's 511 to the 4,096 that Go's listeners get (somaxconn), so that a
// burst of new connections is not dropped.
func nginxConfig(dir, errorLog, listen, upstream string) string {
	user := ""
	if os.Geteuid() == 0 {
		// As root, workers would switch to nobody, who cannot write into
		// the suite's temporary directory.
		user = "user root;\n"
	}
	return fmt.Sprintf(`%sworker_processes auto;
pid %[2]s/nginx.pid;
error_log %[5]s warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    keepalive_requests 1000000;
    upstream m {
        server %[4]s;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen %[3]s backlog=4096;
        location / {
            proxy_pass http://m;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
`, user, dir, listen, upstream, errorLog)
}

// startNginx starts nginx in front of the mock at upstream (host:port)
// and waits until it proxies the mock's stats. It returns the process and
// its origin.
func (e *suiteEnv) startNginx(ctx context.Context, upstream string) (*proc, string, error) {
	dir := filepath.Join(e.tmp, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	listen, err := freePort()
	if err != nil {
		return nil, "", err
	}
	errorLog, err := filepath.Abs(filepath.Join(e.logDir, "nginx-error.log"))
	if err != nil {
		return nil, "", err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(dir, errorLog, listen, upstream)), 0o644); err != nil {
		return nil, "", err
	}
	p, _, err := startProc(ctx, "nginx", e.logDir, e.nginx,
		[]string{"-p", dir + "/", "-c", conf, "-e", errorLog, "-g", "daemon off;"}, nil)
	if err != nil {
		return nil, "", err
	}
	origin := "http://" + listen
	if err := p.waitReady(ctx, e.get, origin+"/mock/stats"); err != nil {
		if b, rerr := os.ReadFile(errorLog); rerr == nil {
			err = fmt.Errorf("%w\nnginx error.log:\n%s", err, tail(b, 2000))
		}
		p.stop()
		return nil, "", err
	}
	e.logf("nginx: pid %d, %s (%d workers)", p.pid(), origin, len(childPids(p.pid())))
	return p, origin, nil
}

// freePort returns a loopback address that was free a moment ago. nginx
// cannot report the port it got, so the suite picks one; another process
// taking it in between makes nginx fail to start, and the suite say so.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// ---- measuring ----

// meter measures one process (tree) over one run.
type meter struct {
	p      *proc // nil: this process
	before procSample
	ok     bool
}

// startMeter resets p's peak RSS and takes the "before" sample; nil p
// meters the suite's own process (the load generator).
func startMeter(p *proc) *meter {
	m := &meter{p: p}
	if p == nil {
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		m.before, m.ok = selfSample()
	} else {
		p.resetPeak()
		m.before, m.ok = p.sample()
	}
	return m
}

// stop takes the "after" sample and returns the usage over the run of
// requests requests; nil when /proc could not be read.
func (m *meter) stop(requests int) *ProcUsage {
	if m == nil || !m.ok {
		return nil
	}
	var after procSample
	var ok bool
	if m.p == nil {
		after, ok = selfSample()
	} else {
		after, ok = m.p.sample()
	}
	if !ok {
		return nil
	}
	u := &ProcUsage{
		CPUSeconds:   (after.cpu - m.before.cpu).Seconds(),
		PeakRSSBytes: after.hwm,
		Processes:    after.procs,
	}
	if requests > 0 {
		u.CPUMicrosPerRequest = u.CPUSeconds * 1e6 / float64(requests)
	}
	return u
}

// ---- the machine ----

// Machine describes where and with what the suite ran.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	OS        string `json:"os"`
	Kernel    string `json:"kernel,omitempty"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"commit,omitempty"`
	Nginx     string `json:"nginx,omitempty"`
	// Portkey is the version of Portkey's gateway, when the suite ran it.
	Portkey string `json:"portkey,omitempty"`
	Date    string `json:"date"`
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15 minute load
	// averages when the suite started and ended: above about the core
	// count at the start, something else was running, and the numbers
	// are noisier.
	LoadStart string `json:"load_start,omitempty"`
	LoadEnd   string `json:"load_end,omitempty"`
}

// loadAverage is the first three fields of /proc/loadavg, or "".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// machine describes this machine, the Go version the warmgate binary was
// built with, the commit of the working tree, and nginx's version.
func machine(ctx context.Context, binary, nginx string) Machine {
	m := Machine{
		CPU:       cpuModel(),
		Cores:     runtime.NumCPU(),
		OS:        runtime.GOOS + "/" + runtime.GOARCH,
		GoVersion: runtime.Version(),
		Date:      time.Now().UTC().Format(time.RFC3339),
		LoadStart: loadAverage(),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, binary, "version", "--json").Output(); err == nil {
		var v struct {
			Go string `json:"go"`
		}
		if json.Unmarshal(out, &v) == nil && v.Go != "" {
			m.GoVersion = v.Go
		}
	}
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			m.Commit += " (with uncommitted changes)"
		}
	}
	if nginx != "" {
		// "nginx -v" writes "nginx version: nginx/1.22.1" to stderr.
		if out, err := exec.CommandContext(ctx, nginx, "-v").CombinedOutput(); err == nil {
			m.Nginx = strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: ")
		}
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
