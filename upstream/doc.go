// Package upstream is warmgate's warm connection layer for AI APIs: one tuned
// *http.Transport per upstream, with keep-alive and HTTP/2, connection
// accounting through net/http/httptrace, per-phase timeouts, and one bounded,
// readable retry and failover loop.
//
// It is a library: Go programs use a Pool as the transport of the official
// SDKs, and the warmgate gateway uses the same Pool for every upstream.
//
//	pool, err := upstream.New([]upstream.Config{{
//		Name:    "openai",
//		BaseURL: "https://api.openai.com/v1",
//	}})
//	if err != nil { ... }
//	defer pool.Close()
//	client := openai.NewClient(option.WithHTTPClient(pool.Client()))
//
// # Lifecycle of one request
//
// Pool.Do resolves the request's path against the upstream's base URL, then
// runs the attempt loop:
//
//  1. Pick an upstream that has not been tried yet (lower Priority first,
//     then fewest requests in flight relative to Weight).
//  2. Send one attempt on a clone of the request with a fresh body from
//     GetBody. A timer bounds the wait for a pooled connection (PoolWait)
//     and another the wait for response headers (FirstByte). httptrace
//     records whether the connection was new or reused, the handshake
//     phases and whether the request was written.
//  3. Classify the outcome. A success returns the response with its body
//     wrapped: the wrapper enforces StreamIdle between reads and reports the
//     outcome when the body ends.
//  4. Otherwise decide from facts whether another attempt is safe (nothing
//     written, a stale reused connection, or a retryable status) and wait a
//     jittered backoff, honouring Retry-After within the request's deadline.
//
// Once a response has been returned to the caller it is never retried.
//
// Request bodies must be replayable: requests made by http.NewRequest with a
// *bytes.Reader, *bytes.Buffer or *strings.Reader have GetBody set. Do buffers
// any other body (bounded by MaxReplayBody) so that it can be replayed.
package upstream
