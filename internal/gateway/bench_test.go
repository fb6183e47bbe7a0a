package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// BenchmarkRelay measures one non-streamed chat request through the
// gateway to the mock, both in this process over loopback, against the
// same request sent to the mock directly.
//
//	go test -run '^$' -bench BenchmarkRelay -benchmem ./internal/gateway/
func BenchmarkRelay(b *testing.B) {
	b.Setenv("OPENAI_API_KEY", "")
	m, err := mock.Start(mock.Options{Tokens: 16}, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	g := startGatewayB(b, m)
	body := []byte(chatBody("gpt-4.1-mini", false))
	for _, target := range []struct{ name, url string }{
		{"direct", m.URL() + "/v1/chat/completions"},
		{"gateway", g + "/v1/chat/completions"},
	} {
		b.Run(target.name, func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Post(target.url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// startGatewayB serves a gateway in front of m, the no-config way.
func startGatewayB(b *testing.B, m *mock.Server) string {
	b.Setenv("OPENAI_BASE_URL", m.URL()+"/v1")
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	cfg.DataDir = b.TempDir()
	s, err := gateway.NewServer(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	s.Start()
	b.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return "http://" + s.Addr()
}
