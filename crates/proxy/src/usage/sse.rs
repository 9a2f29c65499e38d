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
}

impl SseScanner {
    pub(crate) fn new(op: Operation, strip_usage: bool) -> Self {
        Self {
            op,
            buf: BytesMut::new(),
            strip_usage,
            gave_up: false,
        }
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

    /// Reads one event; returns what to forward in its place (strip mode).
    fn on_event(&mut self, event: &[u8], acc: &mut UsageAcc) -> Option<Bytes> {
        let data = event_data(event);
        if data.is_empty()
            || data.as_slice() == b"[DONE]"
            || memmem::find(&data, b"\"usage").is_none()
        {
            return Some(Bytes::copy_from_slice(event));
        }
        let Ok(v) = serde_json::from_slice::<Value>(&data) else {
            return Some(Bytes::copy_from_slice(event));
        };
        acc.observe(self.op, &v);
        if !self.strip_usage {
            return None;
        }
        let usage_only = v.get("usage").is_some_and(Value::is_object)
            && v.get("choices")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty);
        if usage_only {
            return None;
        }
        Some(remove_null_usage(event))
    }
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
    fn crlf_framing_and_named_events() {
        let s = "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}\r\n\r\n";
        let mut sc = SseScanner::new(Operation::Messages, false);
        let mut acc = UsageAcc::default();
        assert!(sc.feed(s.as_bytes(), &mut acc).is_none());
        assert_eq!(acc.usage().tokens_out, Some(7));
    }

    #[test]
    fn an_unterminated_last_event_is_still_read() {
        let (out, acc) = run(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}",
            4,
            false,
        );
        assert!(out.starts_with("data:"));
        assert!(acc.found());
    }
}
