// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bedrock

import "testing"

func TestErrorType(t *testing.T) {
	for _, tc := range []struct{ header, body, want string }{
		{"ThrottlingException", ``, ErrThrottling},
		{"ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", ``, ErrValidation},
		{"", `{"__type":"com.amazon.coral.validate#ValidationException","message":"x"}`, ErrValidation},
		{"throttlingException", ``, ErrThrottling},
		{"", `not json`, ""},
	} {
		if got := ErrorType(tc.header, []byte(tc.body)); got != tc.want {
			t.Errorf("ErrorType(%q, %q) = %q, want %q", tc.header, tc.body, got, tc.want)
		}
	}
	if HTTPStatus(ErrThrottling) != 429 || HTTPStatus(ErrModelTimeout) != 408 || HTTPStatus("Nope") != 0 {
		t.Error("HTTPStatus does not follow Bedrock's statuses")
	}
}
