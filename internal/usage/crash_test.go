// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash tests run TestHelperProcess in a child process (this test
// binary again) that records at a steady rate and reports each count on
// stdout, then kill it.
const (
	helperDirEnv   = "WARMGATE_USAGE_HELPER_DIR"
	helperRateEnv  = "WARMGATE_USAGE_HELPER_RATE"
	helperBatchEnv = "WARMGATE_USAGE_HELPER_BATCH"
)

// TestHelperProcess is not a test: it is the child of the crash tests. It
// records helperRateEnv records a second into a ledger with the default
// options but BatchSize helperBatchEnv, printing "recorded N written W pending P" (its Stats) after
// each tick, until SIGTERM, when it closes the ledger and prints
// "closed N".
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("the child process of the crash tests")
	}
	rate, err := strconv.Atoi(os.Getenv(helperRateEnv))
	if err != nil {
		t.Fatal(err)
	}
	batch, err := strconv.Atoi(os.Getenv(helperBatchEnv))
	if err != nil {
		t.Fatal(err)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	defer signal.Stop(term)
	l, err := Open(dir, Options{BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start, n := time.Now(), 0
	for {
		select {
		case <-term:
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			fmt.Printf("closed %d\n", n)
			return
		case <-tick.C:
			for target := int(time.Since(start).Seconds() * float64(rate)); n < target; n++ {
				l.Record(Record{RequestID: strconv.Itoa(n), Key: "k", Model: "m", PromptTokens: 10, Status: 200})
			}
			s := l.Stats() // after Record returned: the child has recorded at least n
			fmt.Printf("recorded %d written %d pending %d\n", n, s.Written, s.Pending)
		}
	}
}

// crashRun is one run of the child: how many records it reported, and
// what the file held afterwards.
type crashRun struct {
	reported   int // the last count the child printed
	written    int // the last count of written records it printed
	maxPending int // the most pending records it printed
	closed     bool
	survived   int
}

// runChild starts the child at rate records/s with BatchSize batch, lets
// it record for d, then sends sig and reads the database it leaves behind.
func runChild(t *testing.T, rate, batch int, d time.Duration, sig syscall.Signal) crashRun {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperRateEnv+"="+strconv.Itoa(rate), helperBatchEnv+"="+strconv.Itoa(batch))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var run crashRun
	sent := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "recorded "):
			var pending int
			if _, err := fmt.Sscanf(line, "recorded %d written %d pending %d", &run.reported, &run.written, &pending); err != nil {
				t.Fatalf("child printed %q: %v", line, err)
			}
			run.maxPending = max(run.maxPending, pending)
		case strings.HasPrefix(line, "closed "):
			run.reported, _ = strconv.Atoi(strings.TrimPrefix(line, "closed "))
			run.closed = true
		}
		if !sent && run.reported >= int(float64(rate)*d.Seconds()) {
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			sent = true
		}
	}
	werr := cmd.Wait()
	if !sent {
		t.Fatalf("the child ended before it was signalled: %v", werr)
	}
	if sig == syscall.SIGTERM && werr != nil {
		t.Fatalf("the child did not exit cleanly on SIGTERM: %v", werr)
	}

	r, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var integrity string
	if err := r.db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q, %v", integrity, err)
	}
	// Batches commit whole and in order: what survived is records 0..n-1.
	var maxID int
	if err := r.db.QueryRow("SELECT COUNT(*), COALESCE(MAX(CAST(request_id AS INTEGER)), -1) FROM usage").Scan(&run.survived, &maxID); err != nil {
		t.Fatal(err)
	}
	if maxID != run.survived-1 {
		t.Errorf("%d records survived but the highest is number %d: a gap", run.survived, maxID)
	}
	return run
}

// SIGKILL loses at most what was pending: the records of about one flush
// interval (200ms), or about one batch when that fills first. Under the
// race detector the traffic and the batch are 5 times smaller.
func TestCrashSIGKILLLosesAtMostThePendingRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process for seconds")
	}
	var def Options
	def.applyDefaults()
	tests := []struct {
		name  string
		rate  int // records/s
		batch int // Options.BatchSize
		// bound is what could be pending: a flush interval's worth, or a
		// batch, whichever fills first.
		bound int
	}{
		{"the interval flushes", 1000 / raceSlowdown, def.BatchSize, int(1000 / raceSlowdown * def.FlushInterval.Seconds())},
		{"full batches flush", 5000 / raceSlowdown, def.BatchSize / raceSlowdown, def.BatchSize / raceSlowdown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := runChild(t, tt.rate, tt.batch, time.Second, syscall.SIGKILL)
			lost := run.reported - run.survived
			// slack: records that arrive while the last batches are being
			// committed, each with an fsync; on a loaded machine that takes
			// hundreds of milliseconds.
			slack := tt.rate / 2
			t.Logf("SIGKILL at %d records/s, batch %d: reported %d, survived %d, lost %d (bound %d + slack %d); pending peaked at %d",
				tt.rate, tt.batch, run.reported, run.survived, lost, tt.bound, slack, run.maxPending)
			if run.survived < run.written {
				t.Errorf("%d records survived, but the child had reported %d written: a committed batch was lost", run.survived, run.written)
			}
			if lost > tt.bound+slack {
				t.Errorf("lost %d records, more than the bound %d + %d", lost, tt.bound, slack)
			}
			if run.survived > run.reported+tt.rate/10 {
				t.Errorf("%d survived but only %d were reported recorded", run.survived, run.reported)
			}
		})
	}
}

// A graceful stop (SIGTERM, then Close) loses nothing.
func TestCrashSIGTERMLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process for seconds")
	}
	run := runChild(t, 5000/raceSlowdown, defaultBatchSize, 500*time.Millisecond, syscall.SIGTERM)
	t.Logf("SIGTERM: recorded %d, survived %d", run.reported, run.survived)
	if !run.closed {
		t.Fatal(`the child did not report "closed"`)
	}
	if run.survived != run.reported {
		t.Errorf("%d records survived a graceful stop, want all %d", run.survived, run.reported)
	}
}
