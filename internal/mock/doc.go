// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package mock is a fake upstream with fault injection that speaks OpenAI's
// API, Anthropic's Messages API, Google's Gemini API and AWS Bedrock
// Runtime's Converse API.
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
//     A request with function tools gets the text, then a call of the first
//     tool (its arguments as on /v1/messages, streamed in pieces);
//     finish_reason tool_calls. A request whose last message is a tool
//     result gets text only.
//   - POST /v1/completions: a text_completion, streaming too.
//   - POST /v1/embeddings: one 8-float embedding per input (or "dimensions").
//   - GET /v1/models and GET /v1/models/{id}.
//   - POST /v1/messages (Anthropic): a Message, or with "stream":true
//     Anthropic's SSE events, each with its "event:" line: message_start,
//     content_block_start, ping (after the first block's start),
//     content_block_delta (text_delta, input_json_delta),
//     content_block_stop, message_delta (stop_reason, output_tokens),
//     message_stop; no [DONE]. A request with client tools gets a text block
//     then a tool_use block calling the first tool (or the one tool_choice
//     names; a forced call has no text), its input giving each required
//     property of the tool's input_schema a value of its type
//     ("mock", 1, true, [], {}); stop_reason tool_use. A request whose last
//     turn holds a tool_result gets text only. max_tokens is required.
//   - POST /v1/messages/count_tokens (Anthropic): {"input_tokens":N}, the
//     same N as /v1/messages's usage.input_tokens.
//   - GET /v1/models and /v1/models/{id} with an anthropic-version header:
//     Anthropic's model list and model objects.
//   - POST /model/{modelId}/converse (Bedrock): a Converse answer
//     ({"output":{"message":...},"stopReason","usage","metrics"}); with
//     tools (toolConfig) a toolUse block as /v1/messages's tool_use.
//   - POST /model/{modelId}/converse-stream (Bedrock): the same as AWS
//     event-stream messages (content type
//     application/vnd.amazon.eventstream, headers :message-type event,
//     :event-type, :content-type), written by aws-sdk-go-v2's
//     eventstream.Encoder: messageStart, contentBlockDelta (text; a text
//     block has no start), contentBlockStop, contentBlockStart and
//     contentBlockDelta (toolUse input pieces) for a tool use,
//     messageStop, metadata (usage, metrics); each payload padded with a
//     "p" field as Bedrock does.
//   - GET /async-invoke (Bedrock's ListAsyncInvokes, the warm-up request of
//     kind bedrock): {"asyncInvokeSummaries":[]}.
//   - Azure OpenAI's paths (azure.go), served by the OpenAI routes above:
//     /openai/v1/... (its v1 API), /openai/deployments/{deployment}/...
//     and /openai/models with a required api-version query (without it,
//     Azure's 404 "Resource not found"); the key as "api-key: KEY" (or a
//     bearer token); errors in Azure's shape {"error":{"code","message"}},
//     e.g. 404 DeploymentNotFound for a deployment not in
//     Options.AzureDeployments; a 429 also carries retry-after-ms.

//   - Gemini's API under /v1beta (gemini.go), the key in x-goog-api-key
//     (or the key query parameter): POST models/{model}:generateContent, a
//     GenerateContentResponse (candidates with role model parts, finishReason,
//     usageMetadata, modelVersion, responseId); :streamGenerateContent?alt=sse,
//     the same answer as SSE chunks, each a whole GenerateContentResponse
//     ending in "\r\n\r\n", no [DONE], the last with the finishReason and
//     the whole usageMetadata (without alt=sse: 400); a request declaring
//     functions gets the text then a functionCall of the first (or the one
//     allowedFunctionNames names; none under mode NONE), finishReason STOP,
//     and one whose last turn holds a functionResponse gets text only;
//     :embedContent and :batchEmbedContents (each request naming the path's
//     model), vectors as on /v1/embeddings; GET models and models/{model},
//     Gemini's list. Models other than those listed are Gemini's 404. Errors
//     have Google's shape, {"error":{"code","message","status"}} (429
//     RESOURCE_EXHAUSTED, 503 UNAVAILABLE, ...); with Options.APIKey, no key
//     is 403 PERMISSION_DENIED and a wrong one 400 INVALID_ARGUMENT with the
//     reason API_KEY_INVALID, as Google answers.
//   - GET /mock/stats: [Stats] counted on the server side, as JSON.
//
// The answer's content is "word1 word2 … wordN" for N completion tokens
// (Options.Tokens, capped by the request's max_tokens or
// max_completion_tokens), the same text streamed or not. Prompt tokens are
// the byte length of the request's messages (prompt, input) divided by 4.
// Errors use OpenAI's shape: {"error":{"message","type","param","code"}};
// on the Anthropic routes, Anthropic's:
// {"type":"error","error":{"type","message"},"request_id"} with the type
// its API gives the status (invalid_request_error, authentication_error,
// permission_error, not_found_error, rate_limit_error, api_error,
// overloaded_error for 529, ...), and answers also carry Request-Id and
// anthropic-ratelimit-requests-* headers (remaining 0 on a 429).
//
// With Options.APIKey set, API requests must carry the key: OpenAI's routes
// as "Authorization: Bearer KEY", Anthropic's as "x-api-key: KEY" (or the
// Bearer form Anthropic's newer SDKs send) with an anthropic-version
// header; others get the API's 401 (Anthropic's: 400 without the version).
//
// With Options.AWSAccessKeyID set, every Bedrock request must carry a
// valid Signature Version 4 by those credentials (service bedrock, any
// region), checked by signing the request again with aws-sdk-go-v2's
// signer over the headers it names and its body: a request that fails
// gets Bedrock's 403 (X-Amzn-ErrorType InvalidSignatureException,
// UnrecognizedClientException, IncompleteSignatureException or
// MissingAuthenticationTokenException, body {"message":...}). Bedrock's
// errors all take that shape; a status= fault answers the type Bedrock
// gives the status (429 ThrottlingException, 500
// InternalServerException, 503 ServiceUnavailableException, 400
// ValidationException, ...). A ConverseStream's reset_after_chunks counts
// event-stream messages.
//
// Every API answer carries these headers, for tests:
//
//	X-Request-Id:             req_… (unique per request)
//	X-Mock-Conn-Id:           the server-side sequence number of the connection
//	X-Mock-Has-Authorization: true or false (the value is read only to check Options.APIKey)
//	X-Mock-Has-Api-Key:       the same for x-api-key
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
//	status=CODE          answer CODE (400-599) with an error body of the
//	                     route's API (Anthropic's: 529 is overloaded_error)
//	retry_after=S        add "Retry-After: S" (seconds); alone, it implies status=429
//	times=N              only the first N matching requests get the fault; the
//	                     count is kept per spec on the server, so a client that
//	                     retries with the same header succeeds after N
//	reset_after_chunks=K streams: send K events, then abort the connection
//	                     (h1: the TCP connection is closed mid-body; h2:
//	                     RST_STREAM); K=0 aborts right after the headers.
//	                     Non-streaming answers: send the headers and, if K>0,
//	                     half the body, then abort
//	exception_after_chunks=K
//	                     Bedrock's ConverseStream: send K events, then an
//	                     exception message (:message-type exception) and end
//	                     the stream, as Bedrock does when the model fails
//	                     mid-answer; its :exception-type follows status=
//	                     (429 throttlingException, 503
//	                     serviceUnavailableException, 400
//	                     validationException, 5xx internalServerException;
//	                     none or 424: modelStreamErrorException), and
//	                     status= then makes no error answer. Other answers
//	                     ignore it
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
//	retry_after_ms=MS    add "Retry-After-Ms: MS"; alone, it implies status=429
//	content_filter=prompt (or 1) answer the 400 Azure gives a prompt its content
//	                     filter rejects (code content_filter, innererror);
//	                     content_filter=output: answer normally but with
//	                     finish_reason content_filter (OpenAI's routes)

//	safety=KIND          Gemini's routes: the answer is blocked by safety
//	                     filters: KIND prompt (promptFeedback.blockReason
//	                     SAFETY, no candidates) or response (a candidate with
//	                     finishReason SAFETY; streamed, after one text chunk)
//
// Example: "status=503,retry_after=1,times=2" fails the first two requests
// with 503 and Retry-After: 1, then answers normally. [ParseFault] validates
// a spec. Faults apply to the /v1/ endpoints only, after routing (an unknown
// path is a plain 404) and after the request body has been validated.
package mock
