//! Token usage from the provider's own reports, in JSON bodies and in SSE streams.
//!
//! # Layout
//! - [`extract`]: where each API puts its usage, and how it maps to aigw's `Usage`.
//! - [`sse`]: an incremental SSE event splitter that feeds events to the extractor and, when
//!   aigw asked an OpenAI stream for usage the caller did not ask for, removes that usage again.
//! - [`json`]: the usage of a non-streaming body, including one too large to keep whole.

pub(crate) mod extract;
pub(crate) mod json;
pub(crate) mod sse;

pub(crate) use extract::UsageAcc;
