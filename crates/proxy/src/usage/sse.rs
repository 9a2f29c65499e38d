//! Incremental Server-Sent Events splitting for usage, with optional removal of the usage aigw
//! asked for on the caller's behalf.
//!
//! Pass-through mode (the usual case) never changes a byte: chunks go to the caller as they
//! arrive and a copy is split into events here. Strip mode is used only when aigw added
//! `stream_options.include_usage` to an OpenAI-style request: complete events are re-emitted,
//! the final usage-only chunk is dropped and `"usage":null` is removed from the others, so the
//! caller receives exactly the stream it asked for.

use bytes::{Bytes, BytesMut};
use memchr::memmem;
use serde_json::Value;

use super::UsageAcc;
use crate::operation::Operation;

/// An event larger than this is not buffered for scanning; scanning stops for the stream.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

pub(crate) struct SseScanner {
    op: Operation,
    buf: BytesMut,
    strip_usage: bool,
    /// Set when an event outgrew the buffer: the rest of the stream passes through untouched.
    gave_up: bool,
    /// Set once the API's final event has passed (`[DONE]`, `message_stop`,
    /// `response.completed`, a Gemini chunk with a `finishReason`).
    complete: bool,
    stream_error: Option<String>,
}

impl SseScanner {
    pub(crate) fn new(op: Operation, strip_usage: bool) -> Self {
        Self { op, buf: BytesMut::new(), strip_usage, gave_up: false, complete: false, stream_error: None }
    }

    /// Whether this scanner rewrites the stream (its `feed` output replaces the chunk).
    pub(crate) fn rewrites(&self) -> bool {
        self.strip_usage && !self.gave_up
    }

    /// Scans a chunk. In strip mode returns the bytes to forward instead of the chunk.
    pub(crate) fn feed(&mut self, chunk: &[u8], acc: &mut UsageAcc) -> Option<Bytes> {
        if self.gave_up {
            return None;
        }
        let rewriting = self.strip_usage;
        self.buf.extend_from_slice(chunk);
        let mut out = BytesMut::new();
        while let Some(end) = event_end(&self.buf) {
            let event = self.buf.split_to(end);
            let keep = self.on_event(&event, acc);
            if rewriting {
                if let Some(bytes) = keep {
                    out.extend_from_slice(&bytes);
                }
            }
        }
        if self.buf.len() > MAX_EVENT_BYTES {
            self.gave_up = true;
            let rest = self.buf.split();
            if rewriting {
                out.extend_from_slice(&rest);
            }
        }
        rewriting.then(|| out.freeze())
    }

    /// The end of the stream: an unterminated last event is scanned and, in strip mode, returned.
    pub(crate) fn finish(&mut self, acc: &mut UsageAcc) -> Option<Bytes> {
        if self.gave_up || self.buf.is_empty() {
            return None;
        }
        let rest = self.buf.split();
        let keep = self.on_event(&rest, acc);
        if self.strip_usage {
            keep
        } else {
            None
        }
    }

    /// Whether the stream's final event has been forwarded: a caller that hangs up after it
    /// (SDKs stop reading at `[DONE]`) received the whole answer.
    pub(crate) fn complete(&self) -> bool {
        self.complete
    }

    /// The error the provider reported inside the stream (a 200 stream that failed), if any.
    pub(crate) fn stream_error(&mut self) -> Option<String> {
        self.stream_error.take()
    }

    /// Reads one event; in strip mode returns what to forward in its place.
    fn on_event(&mut self, event: &[u8], acc: &mut UsageAcc) -> Option<Bytes> {
        let data = event_data(event);
        let name = event_name(event);
        if !self.complete {
            self.complete = is_final_event(self.op, name, &data);
        }
        if self.stream_error.is_none() && is_error_event(name, &data) {
            let text = String::from_utf8_lossy(&data[..data.len().min(MAX_ERROR_TEXT)]).into_owned();
            self.stream_error = Some(format!("provider reported an error in the stream: {text}"));
        }
        if has_usage_object(&data) {
            if let Ok(v) = serde_json::from_slice::<UsageDoc>(&data) {
                acc.observe(self.op, &v.into_value());
                let usage_only = v_usage_only(&data);
                if self.strip_usage && usage_only {
                    return None;
                }
            }
        }
        self.strip_usage.then(|| remove_null_usage(event))
    }
}

/// Bytes of an in-stream error kept in the record.
const MAX_ERROR_TEXT: usize = 512;

/// The fields of an event (or body) that carry usage; everything else is skipped unparsed.
#[derive(serde::Deserialize)]
pub(crate) struct UsageDoc {
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default, rename = "usageMetadata")]
    usage_metadata: Option<Value>,
    #[serde(default)]
    message: Option<MessageUsage>,
    #[serde(default)]
    response: Option<MessageUsage>,
}

#[derive(serde::Deserialize)]
pub(crate) struct MessageUsage {
    #[serde(default)]
    usage: Option<Value>,
}

impl UsageDoc {
    /// The same fields as a JSON value, for the extractor.
    pub(crate) fn into_value(self) -> Value {
        let mut o = serde_json::Map::new();
        if let Some(u) = self.usage {
            o.insert("usage".into(), u);
        }
        if let Some(u) = self.usage_metadata {
            o.insert("usageMetadata".into(), u);
        }
        if let Some(u) = self.message.and_then(|m| m.usage) {
            o.insert("message".into(), serde_json::json!({ "usage": u }));
        }
        if let Some(u) = self.response.and_then(|m| m.usage) {
            o.insert("response".into(), serde_json::json!({ "usage": u }));
        }
        Value::Object(o)
    }
}

/// Whether the data holds a usage object (`"usage": {`, `"usageMetadata": {`), not `null`.
fn has_usage_object(data: &[u8]) -> bool {
    memmem::find_iter(data, b"\"usage").any(|at| {
        let rest = &data[at + 6..];
        let rest = rest.strip_prefix(b"Metadata").unwrap_or(rest);
        let Some(rest) = rest.strip_prefix(b"\"") else {
            return false;
        };
        let rest = rest.iter().skip_while(|b| b.is_ascii_whitespace() || **b == b':');
        rest.into_iter().next() == Some(&b'{')
    })
}

/// OpenAI's usage-only chunk: `"choices":[]` beside a usage object.
fn v_usage_only(data: &[u8]) -> bool {
    memmem::find(data, b"\"choices\":[]").is_some()
}

/// The `event:` field of an event, if it has one.
fn event_name(event: &[u8]) -> Option<&[u8]> {
    event.split(|&b| b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let name = line.strip_prefix(b"event:")?;
        Some(name.strip_prefix(b" ").unwrap_or(name))
    })
}

/// Whether an event is the last one its API sends in a successful stream.
fn is_final_event(op: Operation, name: Option<&[u8]>, data: &[u8]) -> bool {
    let typed = |t: &[u8]| name == Some(t) || data_type_is(data, t);
    match op {
        Operation::Messages => typed(b"message_stop"),
        Operation::Responses => typed(b"response.completed") || typed(b"response.incomplete"),
        Operation::GeminiGenerate { .. } => memmem::find(data, b"\"finishReason\"").is_some(),
        _ => data == b"[DONE]",
    }
}

/// Whether an event reports a failure: Anthropic's `error` event, the Responses API's
/// `response.failed`, or an OpenAI-style `{"error": ...}` chunk.
fn is_error_event(name: Option<&[u8]>, data: &[u8]) -> bool {
    name == Some(b"error")
        || name == Some(b"response.failed")
        || data_type_is(data, b"error")
        || data.starts_with(b"{\"error\"")
}

/// Whether the data is a JSON object whose first member is `"type":"<t>"`.
fn data_type_is(data: &[u8], t: &[u8]) -> bool {
    let Some(rest) = data.strip_prefix(b"{\"type\":") else {
        return false;
    };
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    rest.strip_prefix(b"\"").and_then(|r| r.strip_prefix(t)).is_some_and(|r| r.starts_with(b"\""))
}

/// The index just past the blank line that ends the first complete event, if any.
fn event_end(buf: &[u8]) -> Option<usize> {
    let lf = memmem::find(buf, b"\n\n").map(|i| i + 2);
    let crlf = memmem::find(buf, b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The joined `data:` lines of an event.
fn event_data(event: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line.strip_prefix(b"data:") {
            if !data.is_empty() {
                data.push(b'\n');
            }
            data.extend_from_slice(rest.strip_prefix(b" ").unwrap_or(rest));
        }
    }
    data
}

/// Removes the `"usage":null` member OpenAI adds to every chunk when usage is requested. The
/// quoted key cannot occur unescaped inside a JSON string, so a byte search is exact.
fn remove_null_usage(event: &[u8]) -> Bytes {
    for pattern in [&b",\"usage\":null"[..], &b"\"usage\":null,"[..]] {
        if let Some(at) = memmem::find(event, pattern) {
            let mut out = Vec::with_capacity(event.len());
            out.extend_from_slice(&event[..at]);
            out.extend_from_slice(&event[at + pattern.len()..]);
            return Bytes::from(out);
        }
    }
    Bytes::copy_from_slice(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n",
        "data: [DONE]\n\n",
    );

    /// Feeds `stream` in chunks of `size` bytes and returns what the caller would receive.
    fn run(stream: &str, size: usize, strip: bool) -> (String, UsageAcc) {
        let mut s = SseScanner::new(Operation::ChatCompletions, strip);
        let mut acc = UsageAcc::default();
        let mut out = Vec::new();
        for chunk in stream.as_bytes().chunks(size) {
            match s.feed(chunk, &mut acc) {
                Some(b) => out.extend_from_slice(&b),
                None => out.extend_from_slice(chunk),
            }
        }
        if let Some(b) = s.finish(&mut acc) {
            out.extend_from_slice(&b);
        }
        (String::from_utf8(out).unwrap(), acc)
    }

    #[test]
    fn strip_mode_hides_the_usage_it_added_at_any_chunking() {
        let expected = concat!(
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        for size in [1, 3, 7, 64, 4096] {
            let (out, acc) = run(STREAM, size, true);
            assert_eq!(out, expected, "chunk size {size}");
            assert_eq!(acc.usage().tokens_in, Some(9));
            assert_eq!(acc.usage().tokens_out, Some(2));
        }
    }

    #[test]
    fn pass_through_mode_changes_nothing() {
        for size in [1, 5, 4096] {
            let (out, acc) = run(STREAM, size, false);
            assert_eq!(out, STREAM);
            assert_eq!(acc.usage().tokens_out, Some(2));
        }
    }

    #[test]
    fn the_final_event_of_each_api_marks_the_stream_complete() {
        let cases = [
            (Operation::ChatCompletions, "data: {\"choices\":[]}\n\ndata: [DONE]\n\n"),
            (Operation::Messages, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            (Operation::Responses, "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n"),
            (
                Operation::GeminiGenerate { stream: true },
                "data: {\"candidates\":[{\"finishReason\":\"STOP\"}]}\r\n\r\n",
            ),
        ];
        for (op, stream) in cases {
            let mut sc = SseScanner::new(op, false);
            let mut acc = UsageAcc::default();
            let (head, tail) = stream.split_at(stream.len() - 3);
            sc.feed(head.as_bytes(), &mut acc);
            assert!(!sc.complete(), "{op:?}: not before the final event is whole");
            sc.feed(tail.as_bytes(), &mut acc);
            assert!(sc.complete(), "{op:?}");
        }
    }

    #[test]
    fn crlf_framing_and_named_events() {
        let s = "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}\r\n\r\n";
        let mut sc = SseScanner::new(Operation::Messages, false);
        let mut acc = UsageAcc::default();
        assert!(sc.feed(s.as_bytes(), &mut acc).is_none());
        assert_eq!(acc.usage().tokens_out, Some(7));
    }

    #[test]
    fn an_unterminated_last_event_is_still_read() {
        let (out, acc) =
            run("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}", 4, false);
        assert!(out.starts_with("data:"));
        assert!(acc.found());
    }
}
