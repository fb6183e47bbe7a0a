// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit

import (
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/redistest"
)

// TestCircuits: a published upstream is open for the others until its
// time runs out; names are escaped; unknown names are not open.
func TestCircuits(t *testing.T) {
	srv := redistest.Start(t)
	a := NewCircuits(newClient(t, srv, nil), Options{Prefix: "t:"})
	b := NewCircuits(newClient(t, srv, nil), Options{Prefix: "t:"})
	names := []string{"openai eu", "local:vllm", "other"}
	if err := a.Publish(t.Context(), "openai eu", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(t.Context(), "local:vllm", time.Minute); err != nil {
		t.Fatal(err)
	}
	open, err := b.Open(t.Context(), names)
	if err != nil {
		t.Fatal(err)
	}
	if d := open["openai eu"]; d <= 0 || d > 300*time.Millisecond {
		t.Errorf(`"openai eu" open for %v, want up to 300ms`, d)
	}
	if d := open["local:vllm"]; d < 50*time.Second {
		t.Errorf(`"local:vllm" open for %v, want about a minute`, d)
	}
	if _, ok := open["other"]; ok {
		t.Error(`"other" is open, but nobody published it`)
	}
	time.Sleep(400 * time.Millisecond)
	open, err = b.Open(t.Context(), names)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := open["openai eu"]; ok || len(open) != 1 {
		t.Errorf("after the cooldown: %v, want only local:vllm", open)
	}
	if keys := newClient(t, srv, nil).Keys(t.Context(), "t:circuit:*").Val(); len(keys) != 1 || keys[0] != "t:circuit:local%3Avllm" {
		t.Errorf("keys = %q", keys)
	}
}
