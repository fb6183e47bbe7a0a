// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Child process timing, each with its reason.
const (
	// readyTimeout bounds a child's start: a mock or gateway is up in well
	// under a second; nginx too. Longer means it failed.
	readyTimeout = 15 * time.Second
	// readyPoll is the readiness probe's interval.
	readyPoll = 20 * time.Millisecond
	// stopTimeout is how long a child gets to exit after SIGTERM before it
	// is killed: the gateway and the mock drain in-flight requests, and the
	// suite stops them only when its own requests are done.
	stopTimeout = 10 * time.Second
	// waitDelay bounds the wait for a child's output pipes after it exited
	// (nginx's workers hold them until the master has stopped them).
	waitDelay = 2 * time.Second
)

// proc is a child process of the suite: the mock, the gateway or nginx.
type proc struct {
	name string
	cmd  *exec.Cmd
	logf *os.File
	out  *lineWatcher
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done is closed
}

// startProc starts bin with args as a child named name, its stdout and
// stderr in logDir/name.log. If addr is not nil, it waits (within
// readyTimeout) for the first line of stdout matching addr and returns
// the regexp's first group.
func startProc(ctx context.Context, name, logDir, bin string, args []string, addr *regexp.Regexp) (*proc, string, error) {
	return startProcEnv(ctx, name, logDir, bin, args, nil, addr)
}

// startProcEnv is startProc with env ("NAME=value") added to the child's
// environment.
func startProcEnv(ctx context.Context, name, logDir, bin string, args, env []string, addr *regexp.Regexp) (*proc, string, error) {
	logf, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, "", fmt.Errorf("%s: log file: %w", name, err)
	}
	p := &proc{name: name, logf: logf, out: newLineWatcher(logf, addr), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(childEnv(os.Environ()), env...)
	p.cmd.Stdout = p.out
	p.cmd.Stderr = logf
	p.cmd.SysProcAttr = childSysProcAttr()
	p.cmd.WaitDelay = waitDelay
	fmt.Fprintf(logf, "# %s %s\n", bin, strings.Join(args, " "))
	if err := p.cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if addr == nil {
		return p, "", nil
	}
	t := time.NewTimer(readyTimeout)
	defer t.Stop()
	select {
	case a := <-p.out.found:
		return p, a, nil
	case <-p.done:
		err = fmt.Errorf("%s exited before it was ready (%v); see %s", name, p.err, logf.Name())
	case <-t.C:
		err = fmt.Errorf("%s printed no address within %v; see %s", name, readyTimeout, logf.Name())
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.stop()
	return nil, "", err
}

// childEnv is the suite's environment without the WARMGATE_ variables: a
// user's WARMGATE_MOCK_FAULT would otherwise change what the suite
// measures. The suite passes every setting it relies on as a flag.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "WARMGATE_") {
			out = append(out, kv)
		}
	}
	return out
}

// pid is the child's process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the child has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the child to exit (SIGTERM), kills it if it has not within
// stopTimeout, and waits for it. It is safe to call more than once.
func (p *proc) stop() {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(stopTimeout)
		select {
		case <-p.done:
		case <-t.C:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		t.Stop()
	}
	_ = p.logf.Close()
}

// waitReady polls url until it answers 200, the child exits, readyTimeout
// passes or ctx ends.
func (p *proc) waitReady(ctx context.Context, get func(context.Context, string) (int, []byte, error), url string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var last string
	for {
		status, body, err := get(ctx, url)
		switch {
		case err == nil && status == 200:
			return nil
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("status %d: %.200s", status, body)
		}
		t := time.NewTimer(readyPoll)
		select {
		case <-t.C:
		case <-p.done:
			t.Stop()
			return fmt.Errorf("%s exited before it was ready (%v); see %s", p.name, p.err, p.logf.Name())
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s: %s not ready within %v (last: %s); see %s", p.name, url, readyTimeout, last, p.logf.Name())
			}
			return ctx.Err()
		}
	}
}

// lineWatcher copies a child's stdout to w and reports the first group of
// the first line that matches re.
type lineWatcher struct {
	w     io.Writer
	re    *regexp.Regexp
	found chan string // buffered: gets at most one value

	mu   sync.Mutex
	line []byte // the incomplete last line
	done bool   // matched already
}

// maxWatchedLine bounds the incomplete line kept while looking for the
// address: the line sought is short.
const maxWatchedLine = 4 << 10

func newLineWatcher(w io.Writer, re *regexp.Regexp) *lineWatcher {
	return &lineWatcher{w: w, re: re, found: make(chan string, 1), done: re == nil}
}

func (lw *lineWatcher) Write(b []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if !lw.done {
		lw.line = append(lw.line, b...)
		for {
			i := bytes.IndexByte(lw.line, '\n')
			if i < 0 {
				break
			}
			if m := lw.re.FindSubmatch(lw.line[:i]); m != nil {
				lw.found <- string(m[1])
				lw.done, lw.line = true, nil
				break
			}
			lw.line = lw.line[i+1:]
		}
		if len(lw.line) > maxWatchedLine {
			lw.line = lw.line[len(lw.line)-maxWatchedLine:]
		}
	}
	return lw.w.Write(b)
}

// ---- /proc ----

// procSample is what /proc says about a process tree at one moment.
type procSample struct {
	cpu   time.Duration // user + system, over the processes
	rss   int64         // VmRSS, bytes, summed
	hwm   int64         // VmHWM (peak RSS since the last reset), bytes, summed
	procs int
}

// sample reads the child's CPU time and memory, summed over the child and
// its own children (nginx's workers). ok is false when /proc cannot be
// read (not Linux, or the process is gone).
func (p *proc) sample() (procSample, bool) { return sampleTree(p.pid()) }

func sampleTree(pid int) (procSample, bool) {
	return sampleProcs(append([]int{pid}, childPids(pid)...))
}

// sampleProcs sums the samples of ids; the first must be readable.
func sampleProcs(ids []int) (procSample, bool) {
	var s procSample
	for _, id := range ids {
		st, err := readProcStat(id)
		if err != nil {
			if id == ids[0] {
				return s, false
			}
			continue // a worker that just exited
		}
		rss, hwm, _ := readProcStatus(id)
		s.cpu += st
		s.rss += rss
		s.hwm += hwm
		s.procs++
	}
	return s, true
}

// selfSample reads this process's own CPU time and memory (not its
// children's): the suite is also the load generator.
func selfSample() (procSample, bool) { return sampleProcs([]int{os.Getpid()}) }

// resetPeak resets the peak RSS (VmHWM) of the child and its children so
// that the next sample's peak is the run's. Writing 5 to clear_refs needs
// Linux 4.0 and permission over the process; when it fails the peak is
// the process's since its start, which the report says.
func (p *proc) resetPeak() bool {
	ok := true
	for _, id := range append([]int{p.pid()}, childPids(p.pid())...) {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", id), []byte("5"), 0); err != nil {
			ok = false
		}
	}
	return ok
}

// clockTicks is the unit of utime and stime in /proc/PID/stat.
var clockTicks = sync.OnceValue(func() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 100 // USER_HZ on every Linux architecture Go supports
})

// readProcStat returns utime + stime of pid.
func readProcStat(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	_, ticks, err := parseProcStat(b)
	if err != nil {
		return 0, err
	}
	return time.Duration(ticks) * time.Second / time.Duration(clockTicks()), nil
}

// parseProcStat returns the parent pid and utime+stime (in clock ticks)
// from the contents of /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from its last ')'.
func parseProcStat(b []byte) (ppid int, ticks int64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, errors.New("proc stat: too few fields")
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, fmt.Errorf("proc stat: ppid: %w", err)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("proc stat: bad utime or stime")
	}
	return ppid, ut + st, nil
}

// threadsCPU returns the CPU time of pid's threads, summed from
// /proc/PID/task/*/schedstat (nanoseconds), where /proc/PID/stat counts
// clock ticks (10 ms): the keep-alive scenario's warm runs cost the mock
// a few tens of milliseconds in all. Threads that exited are not counted
// (a Go program's rarely do); ok is false when schedstat cannot be read.
func threadsCPU(pid int) (cpu time.Duration, ok bool) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // a thread that just exited
		}
		ns, err := parseSchedstat(b)
		if err != nil {
			return 0, false
		}
		cpu += ns
	}
	return cpu, len(tasks) > 0
}

// parseSchedstat returns the time on CPU from the contents of
// /proc/PID/task/TID/schedstat: its first field, in nanoseconds.
func parseSchedstat(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, errors.New("schedstat: empty")
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat: %w", err)
	}
	return time.Duration(ns), nil
}

// readProcStatus returns VmRSS and VmHWM of pid in bytes.
func readProcStatus(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	rss, hwm = parseProcStatus(b)
	return rss, hwm, nil
}

// parseProcStatus reads VmRSS and VmHWM (in kB) from /proc/PID/status.
func parseProcStatus(b []byte) (rss, hwm int64) {
	for line := range strings.SplitSeq(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// childPids lists the processes whose parent is pid.
func childPids(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil || id == pid {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if ppid, _, err := parseProcStat(b); err == nil && ppid == pid {
			out = append(out, id)
		}
	}
	return out
}
