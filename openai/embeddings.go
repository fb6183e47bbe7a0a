// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package openai

import (
	"encoding/json"
	"errors"
)

// EmbeddingsRequest is the body of POST /v1/embeddings.
type EmbeddingsRequest struct {
	Model string         `json:"model"`
	Input EmbeddingInput `json:"input"`
	// Dimensions asks for shorter vectors (models that support it).
	Dimensions *int `json:"dimensions,omitempty"`
	// EncodingFormat is "float" (the default) or "base64" (little-endian
	// float32s, base64-encoded: what the official SDKs ask for).
	EncodingFormat string `json:"encoding_format,omitempty"`
	User           string `json:"user,omitempty"`
}

// EmbeddingInput is the request's input: on the wire a string, an array
// of strings, or token arrays (an array of integers, or of arrays of
// integers). Texts holds the strings; Tokens is set when the input was
// given as tokens (kept as sent).
type EmbeddingInput struct {
	Texts      []string
	FromString bool
	Tokens     json.RawMessage
}

// MarshalJSON writes a string, an array of strings, or the tokens as sent.
func (in EmbeddingInput) MarshalJSON() ([]byte, error) {
	if len(in.Tokens) > 0 {
		return in.Tokens, nil
	}
	if in.FromString && len(in.Texts) == 1 {
		return json.Marshal(in.Texts[0])
	}
	if in.Texts == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(in.Texts)
}

// UnmarshalJSON accepts a string, an array of strings, or tokens.
func (in *EmbeddingInput) UnmarshalJSON(b []byte) error {
	*in = EmbeddingInput{}
	if isJSONString(b) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		in.Texts, in.FromString = []string{s}, true
		return nil
	}
	var l []json.RawMessage
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("input must be a string or an array")
	}
	if len(l) > 0 && !isJSONString(l[0]) {
		in.Tokens = append(json.RawMessage(nil), b...)
		return nil
	}
	in.Texts = make([]string, len(l))
	for i, e := range l {
		if err := json.Unmarshal(e, &in.Texts[i]); err != nil {
			return errors.New("input must be a string, an array of strings, or token arrays")
		}
	}
	return nil
}

// EmbeddingsResponse is the answer of POST /v1/embeddings.
type EmbeddingsResponse struct {
	Object string          `json:"object"` // "list"
	Data   []EmbeddingData `json:"data"`
	Model  string          `json:"model"`
	Usage  EmbeddingsUsage `json:"usage"`
}

// EmbeddingData is one embedding. Embedding is an array of floats, or with
// encoding_format base64 a base64 string: kept as encoded.
type EmbeddingData struct {
	Object    string          `json:"object"` // "embedding"
	Index     int             `json:"index"`
	Embedding json.RawMessage `json:"embedding"`
}

// EmbeddingsUsage is the token accounting of an embeddings answer.
type EmbeddingsUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}
