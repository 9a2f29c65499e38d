//! A fake LLM provider for aigw's tests and benchmarks.
//!
//! [`MockProvider`] is an HTTP/1.1 + h2c server on a local port that answers in the wire
//! shapes of OpenAI (chat, legacy completions, embeddings, Responses, models), Anthropic
//! (Messages) and Gemini (`generateContent` / `streamGenerateContent`), streaming included,
//! and records every request it receives so a test can assert on exactly what the upstream saw.
//!
//! Request headers steer the answer; every one is optional and the default answer needs none:
//!
//! | header | effect |
//! | --- | --- |
//! | `x-mock-status: 429` | that status, with an error body in the endpoint's provider shape (429 adds `retry-after: 0`) |
//! | `x-mock-delay-ms: N` | wait N ms before the response headers |
//! | `x-mock-chunk-delay-ms: N` | wait N ms between stream events |
//! | `x-mock-chunks: N` | split the text into N stream pieces (default 5) |
//! | `x-mock-gate: NAME` | send the first stream event, then wait for [`MockProvider::open_gate`] |
//! | `x-mock-hang: true` | never answer; shutdown closes the connection without a response |
//! | `x-mock-abort-after: N` | end the stream with an error after N events |
//! | `x-mock-body-bytes: N` | pad a non-streaming chat answer to about N bytes |
//! | `x-mock-text: ...` | the answer text (default `Hello from the mock provider.`) |
//! | `x-mock-prompt-tokens`, `x-mock-completion-tokens` | usage counts (default 10 and 5) |
//! | `x-mock-cached-tokens`, `x-mock-cache-write-tokens`, `x-mock-cache-read-tokens`, `x-mock-thoughts-tokens` | more usage counts (default 0) |
//!
//! Every response carries `x-request-id: req_mock_<n>`; OpenAI endpoints add
//! `openai-processing-ms: 1`. `GET /_mock/received` answers every request recorded so far as JSON
//! (for suites that run the mock as a process of its own).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let mock = aigw_mock_provider::MockProvider::start().await?;
//! // point the gateway at mock.base_url(), send a request through it, then:
//! mock.wait_for_requests(1).await;
//! let seen = &mock.received()[0];
//! assert_eq!(seen.path, "/v1/chat/completions");
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - `server`: [`MockProvider`] and [`MockOptions`]; the accept loop owning every connection.
//! - `state`: what the connections share: the recording, the request counter, the gates.
//! - `received`: [`Received`], one recorded request.
//! - `router`: reads a request, records it, applies the control headers, picks the endpoint.
//! - `control`: parses the `x-mock-*` headers and splits the answer text into stream pieces.
//! - `inspect`: `GET /_mock/received`, the recording as JSON.
//! - `body`: the response body; streams yield one frame per event, paced by delay, gate, abort.
//! - `errors`: error bodies in each provider's shape.
//! - `reply`: what an endpoint gets and gives back (`Call`, `Reply`), and SSE framing.
//! - `openai`, `responses`, `anthropic`, `gemini`: the answers, as pure functions of the request.

mod anthropic;
mod body;
mod control;
mod errors;
mod gemini;
mod inspect;
mod openai;
mod received;
mod reply;
mod responses;
mod router;
mod server;
mod state;

pub use received::Received;
pub use server::{MockOptions, MockProvider};
