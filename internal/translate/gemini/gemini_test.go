// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gemini

import "testing"

// TestStatusRoundTrip: each HTTP status Gemini answers with maps to a
// status name that maps back to it.
func TestStatusRoundTrip(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 429, 500, 501, 503, 504} {
		if got := HTTPStatus(StatusFor(code)); got != code {
			t.Errorf("HTTPStatus(StatusFor(%d)) = %d (%s)", code, got, StatusFor(code))
		}
	}
	if HTTPStatus("SOMETHING_NEW") != 0 {
		t.Error("an unknown status must map to 0")
	}
	if e := NewError(429, "slow"); e.Error.Status != StatusResourceExhausted || e.Error.Code != 429 {
		t.Errorf("NewError(429) = %+v", e)
	}
}
