// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/upstream"
)

// The pool as the HTTP client of the official OpenAI Go SDK: the SDK keeps
// its API, and every call rides a warm, pre-opened connection.
func Example_openaiGo() {
	// A local stand-in for https://api.openai.com/v1, over TLS and HTTP/2.
	m, err := mock.Start(mock.Options{TLS: true, Tokens: 3}, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	pool, err := upstream.New([]upstream.Config{{
		Name:    "openai",
		BaseURL: m.URL() + "/v1",
		Prewarm: 1,
		TLS:     &tls.Config{RootCAs: m.CertPool()}, // not needed for a public CA
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	pool.Warm(context.Background())

	client := openai.NewClient(
		option.WithBaseURL(m.URL()+"/v1"),
		option.WithAPIKey("sk-example"),
		option.WithHTTPClient(pool.Client()),
	)
	for range 3 {
		chat, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "gpt-4.1-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(chat.Choices[0].Message.Content)
	}
	st := pool.Stats()[0]
	fmt.Printf("connections opened: %d, requests on a reused connection: %d\n", st.Opened, st.Reused)
	fmt.Printf("the mock accepted %d connection(s)\n", m.Stats().ConnectionsAccepted)
	// Output:
	// word1 word2 word3
	// word1 word2 word3
	// word1 word2 word3
	// connections opened: 1, requests on a reused connection: 3
	// the mock accepted 1 connection(s)
}
