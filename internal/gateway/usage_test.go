// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/internal/usage"
)

// TestUsageLedger: every API request lands in the ledger with its key,
// model, upstream, tokens, cost and status, streams included (their usage
// asked for in the client's place); /api/usage reports them, behind the
// admin key; a graceful shutdown loses none.
func TestUsageLedger(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 10})
	dir := t.TempDir()
	env := map[string]string{"KA": "sk-team-a-0123456789", "KB": "sk-team-b-0123456789", "ADMIN_KEY": limitEnv["ADMIN_KEY"]}
	yaml := defaultYAML(t, m) + fmt.Sprintf("data_dir: %q\n", dir) + budgetPrices +
		"admin: {key_env: ADMIN_KEY}\nkeys:\n  - {name: a, key_env: KA}\n  - {name: b, key_env: KB}\n"
	g := startGateway(t, yaml, env)
	send := func(key, body string, hdr ...string) answer {
		return g.do(t, http.MethodPost, "/v1/chat/completions", body, append([]string{"Authorization", "Bearer " + env[key]}, hdr...)...)
	}
	for range 3 {
		if a := send("KA", chatBody("gpt-4.1-mini", false)); a.status != http.StatusOK {
			t.Fatalf("a: %d %s", a.status, a.body)
		}
	}
	if a := send("KB", chatBody("gpt-4.1-mini", true)); a.status != http.StatusOK {
		t.Fatalf("b stream: %d %s", a.status, a.body)
	}
	if a := send("KB", chatBody("gpt-4.1-mini", false), mock.FaultHeader, "status=400"); a.status != http.StatusBadRequest {
		t.Fatalf("b error: %d %s", a.status, a.body)
	}

	// /api/usage is admin-only and shows flushed records (within 200ms).
	if a := g.do(t, http.MethodGet, "/api/usage?by=key", "", "Authorization", "Bearer "+env["KA"]); a.status != http.StatusUnauthorized {
		t.Errorf("/api/usage with a client key: %d", a.status)
	}
	var rep struct {
		Rows []struct {
			Group            string  `json:"group"`
			Requests         int64   `json:"requests"`
			Errors           int64   `json:"errors"`
			CompletionTokens int64   `json:"completion_tokens"`
			Cost             float64 `json:"cost"`
		} `json:"rows"`
	}
	eventually(t, 5*time.Second, "5 requests in /api/usage", func() bool {
		a := g.do(t, http.MethodGet, "/api/usage?by=key&since=1h", "", adminHdr()...)
		if a.status != http.StatusOK || json.Unmarshal(a.body, &rep) != nil {
			t.Fatalf("/api/usage: %d %s", a.status, a.body)
		}
		n := int64(0)
		for _, r := range rep.Rows {
			n += r.Requests
		}
		return n == 5
	})
	byKey := map[string]int{}
	for i, r := range rep.Rows {
		byKey[r.Group] = i
	}
	a, b := rep.Rows[byKey["a"]], rep.Rows[byKey["b"]]
	if a.Requests != 3 || a.Errors != 0 || a.CompletionTokens != 30 || a.Cost <= 0 {
		t.Errorf("key a = %+v, want 3 requests, 30 completion tokens, a cost", a)
	}
	if b.Requests != 2 || b.Errors != 1 || b.CompletionTokens != 10 {
		t.Errorf("key b = %+v, want 2 requests (1 error), the stream's 10 completion tokens", b)
	}

	// Graceful shutdown: everything is in the file.
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ledgerCount(t, dir); n != 5 {
		t.Errorf("after shutdown the ledger holds %d records, want 5", n)
	}
}

// ledgerCount is the number of records in the ledger in dir.
func ledgerCount(t *testing.T, dir string) int64 {
	t.Helper()
	r, err := usage.OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows, err := r.Summary(context.Background(), usage.Query{Since: time.Now().Add(-time.Hour), By: usage.ByKey})
	if err != nil {
		t.Fatal(err)
	}
	return usage.Totals(rows).Requests
}

// TestUsageSurvivesSIGKILL: a gateway process killed with SIGKILL right
// after its traffic keeps every record but those of its last flush
// interval (200ms; the test allows a second); one stopped with SIGTERM
// keeps them all.
func TestUsageSurvivesSIGKILL(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestUsageChildGateway$")
			cmd.Env = append(os.Environ(), "WARMGATE_USAGE_CHILD="+dir)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "addr ") {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child: %q, %v", line, err)
			}
			base := "http://" + strings.TrimSpace(strings.TrimPrefix(line, "addr "))
			client := &http.Client{Timeout: 10 * time.Second}
			var answered []time.Time
			for range 300 { // at a steady pace over about 3s, so that the last flush interval is a part of it
				time.Sleep(10 * time.Millisecond)
				resp, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("gpt-4.1-mini", false)))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					answered = append(answered, time.Now())
				}
			}
			client.CloseIdleConnections()
			killed := time.Now()
			_ = cmd.Process.Signal(sig)
			_ = cmd.Wait()
			got := ledgerCount(t, dir)
			recent := 0 // answered within the flush interval (200ms, and a margin for a loaded machine) before the kill
			for _, at := range answered {
				if killed.Sub(at) < time.Second {
					recent++
				}
			}
			t.Logf("%v: %d answered, %d in the ledger, %d answered in the last second", sig, len(answered), got, recent)
			want := int64(len(answered))
			if sig == syscall.SIGKILL {
				want -= int64(recent)
			}
			if got < want || got > int64(len(answered)) {
				t.Errorf("the ledger holds %d records; want %d..%d", got, want, len(answered))
			}
		})
	}
}

// TestUsageChildGateway is the gateway process of TestUsageSurvivesSIGKILL;
// it runs only as that test's child.
func TestUsageChildGateway(t *testing.T) {
	dir := os.Getenv("WARMGATE_USAGE_CHILD")
	if dir == "" {
		t.Skip("runs as the child process of TestUsageSurvivesSIGKILL")
	}
	m, err := mock.Start(mock.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg, err := config.Parse([]byte(fmt.Sprintf("data_dir: %q\nupstreams:\n  - {name: mock, base_url: %q}\n", dir, m.URL()+"/v1")), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gateway.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	s.Start()
	fmt.Printf("addr %s\n", s.Addr())
	<-stop
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
