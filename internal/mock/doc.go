// Package mock is an OpenAI-compatible fake upstream with fault injection.
//
// It backs the tests, the demo and the benchmarks, so it is a real server:
// real sockets, real TLS (a CA and a leaf certificate made in memory at
// startup) and HTTP/2 by ALPN, with the stdlib's net/http doing the serving.
//
// # Endpoints
//
//   - POST /v1/chat/completions: a chat.completion, or with "stream":true an
//     SSE stream of chat.completion.chunk events ending in "data: [DONE]",
//     with a usage chunk ("choices":[]) when stream_options.include_usage.
//   - POST /v1/completions: a text_completion, streaming too.
//   - POST /v1/embeddings: one 8-float embedding per input (or "dimensions").
//   - GET /v1/models and GET /v1/models/{id}.
//   - GET /mock/stats: [Stats] counted on the server side, as JSON.
//
// The answer's content is "word1 word2 … wordN" for N completion tokens
// (Options.Tokens, capped by the request's max_tokens or
// max_completion_tokens), the same text streamed or not. Prompt tokens are
// the byte length of the request's messages (prompt, input) divided by 4.
// Errors use OpenAI's shape: {"error":{"message","type","param","code"}}.
//
// Every API answer carries these headers, for tests:
//
//	X-Request-Id:             req_… (unique per request)
//	X-Mock-Conn-Id:           the server-side sequence number of the connection
//	X-Mock-Has-Authorization: true or false (the value itself is never read)
//
// # Timing
//
// A non-streaming answer waits Options.Latency before its headers. A stream
// waits Options.TTFT, then sends its headers, the role chunk and the first
// token together, then one token every Options.TokenInterval, then the
// finish (and usage) chunks and [DONE] at once. Every wait ends early when
// the client goes away. Options.HandshakeDelay makes every new connection
// wait before its first byte is read, as a real network's TCP and TLS
// round trips would; a reused connection does not pay it again.
//
// # Faults
//
// A fault spec is a comma-separated list of name=value items, given for the
// whole server (Options.Fault, "warmgate mock --fault SPEC") or for one
// request (header "X-Mock-Fault: SPEC", which replaces the server's spec;
// "X-Mock-Fault: none" turns it off for that request):
//
//	status=CODE          answer CODE (400-599) with an OpenAI error body
//	retry_after=S        add "Retry-After: S" (seconds); alone, it implies status=429
//	times=N              only the first N matching requests get the fault; the
//	                     count is kept per spec on the server, so a client that
//	                     retries with the same header succeeds after N
//	reset_after_chunks=K streams: send K data events, then abort the connection
//	                     (h1: the TCP connection is closed mid-body; h2:
//	                     RST_STREAM); K=0 aborts right after the headers.
//	                     Non-streaming answers: send the headers and, if K>0,
//	                     half the body, then abort
//	stall=D              streams: stop for D after the first chunk; other
//	                     answers: stop for D between the headers and the body
//	ttft=D               wait D (instead of TTFT or Latency) before answering;
//	                     error answers wait only when ttft is given
//	drop_idle=D          the spec applies only to a request that arrives on a
//	                     connection idle for at least D since its previous
//	                     request ended, and such a request is dropped: the
//	                     connection is closed without an answer (the stale
//	                     keep-alive race). A connection's first request is
//	                     never dropped
//	html=1               answer an HTML error page (status from status=, else 502)
//
// Example: "status=503,retry_after=1,times=2" fails the first two requests
// with 503 and Retry-After: 1, then answers normally. [ParseFault] validates
// a spec. Faults apply to the /v1/ endpoints only, after routing (an unknown
// path is a plain 404) and after the request body has been validated.
package mock
