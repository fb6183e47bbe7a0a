package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestServeRefusesOpenProfiler: the profiler on a gateway open to the
// network needs an admin key, whether allow_open comes from the file or
// from --allow-open. (Before, serve started; the context's timeout then
// ended it without an error.)
func TestServeRefusesOpenProfiler(t *testing.T) {
	const up = "upstreams: [{name: a, base_url: \"http://127.0.0.1:1/v1\"}]\n"
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"allow_open in the file", []string{"serve", "--listen", "127.0.0.1:0", "--config",
			writeFile(t, "c.yaml", up+"server: {allow_open: true}\nadmin: {pprof: true}\n")}},
		{"--allow-open", []string{"serve", "--listen", "127.0.0.1:0", "--allow-open", "--config",
			writeFile(t, "c.yaml", up+"admin: {pprof: true}\n")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			_, err := execute(t, ctx, tt.args...)
			if err == nil {
				t.Fatal("serve started; want a refusal")
			}
			for _, w := range []string{"admin.pprof", "admin.key_env"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestServeLogHidesBaseURLPassword: the start-up log names each upstream's
// base_url without its password.
func TestServeLogHidesBaseURLPassword(t *testing.T) {
	t.Chdir(t.TempDir())
	m, err := mock.Start(mock.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Setenv("OPENAI_BASE_URL", strings.Replace(m.URL(), "http://", "http://user:urlsecret1@", 1)+"/v1")
	t.Setenv("OPENAI_API_KEY", "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr, out, done := serveInProcess(t, ctx)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "base_url="); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve logged no upstream:\n%s", out.String())
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/api/pools")
	if err != nil {
		t.Fatal(err)
	}
	pools, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	log := out.String()
	if !strings.Contains(log, "base_url=http://user:xxxxx@") {
		t.Errorf("the start-up log does not show the redacted base_url:\n%s", log)
	}
	if strings.Contains(log+string(pools), "urlsecret1") {
		t.Errorf("the base_url password is shown:\n%s\n%s", log, pools)
	}
}
