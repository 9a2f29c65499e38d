//! The `x-mock-*` request headers that steer an answer.
//!
//! A header with a value that does not parse is ignored, as if it were absent.

use std::time::Duration;

use http::{HeaderMap, StatusCode};

/// The answer text when `x-mock-text` is absent.
pub(crate) const DEFAULT_TEXT: &str = "Hello from the mock provider.";
/// The number of content pieces in a stream when `x-mock-chunks` is absent.
pub(crate) const DEFAULT_CHUNKS: usize = 5;

/// Token counts reported in usage objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    /// `x-mock-prompt-tokens`, default 10.
    pub prompt: u64,
    /// `x-mock-completion-tokens`, default 5.
    pub completion: u64,
    /// `x-mock-cached-tokens` (OpenAI cached prompt tokens, Gemini cached content), default 0.
    pub cached: u64,
    /// `x-mock-cache-write-tokens` (Anthropic cache creation), default 0.
    pub cache_write: u64,
    /// `x-mock-cache-read-tokens` (Anthropic cache read), default 0.
    pub cache_read: u64,
    /// `x-mock-thoughts-tokens` (Gemini thoughts, OpenAI reasoning), default 0.
    pub thoughts: u64,
}

impl Default for Usage {
    fn default() -> Self {
        Self { prompt: 10, completion: 5, cached: 0, cache_write: 0, cache_read: 0, thoughts: 0 }
    }
}

/// Everything the `x-mock-*` headers of one request asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Controls {
    /// `x-mock-status`: answer with this status (an error body when it is not 2xx).
    pub status: Option<StatusCode>,
    /// `x-mock-delay-ms`: wait before sending response headers.
    pub delay: Option<Duration>,
    /// `x-mock-chunk-delay-ms`: wait between stream events.
    pub chunk_delay: Option<Duration>,
    /// `x-mock-chunks`: number of content pieces in a stream.
    pub chunks: Option<usize>,
    /// `x-mock-gate`: hold a stream after its first event until this gate opens.
    pub gate: Option<String>,
    /// `x-mock-hang: true`: never send response headers.
    pub hang: bool,
    /// `x-mock-abort-after`: end the stream with an error after this many events.
    pub abort_after: Option<usize>,
    /// `x-mock-body-bytes`: pad a non-streaming chat answer to about this many bytes.
    pub body_bytes: Option<usize>,
    /// `x-mock-text`: the answer text.
    pub text: Option<String>,
    /// The `x-mock-*-tokens` headers.
    pub usage: Usage,
}

impl Controls {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut controls = Self::default();
        for (name, value) in headers {
            let Some(control) = name.as_str().strip_prefix("x-mock-") else {
                continue;
            };
            let Ok(raw) = value.to_str() else {
                continue;
            };
            let value = raw.trim();
            let number = || value.parse::<u64>().ok();
            let count = || value.parse::<usize>().ok();
            let millis = || number().map(Duration::from_millis);
            let usage = &mut controls.usage;
            match control {
                "status" => {
                    controls.status = value.parse::<u16>().ok().and_then(|s| StatusCode::from_u16(s).ok());
                }
                "delay-ms" => controls.delay = millis(),
                "chunk-delay-ms" => controls.chunk_delay = millis(),
                "chunks" => controls.chunks = count(),
                "gate" => controls.gate = Some(value.to_owned()),
                "hang" => controls.hang = value.eq_ignore_ascii_case("true") || value == "1",
                "abort-after" => controls.abort_after = count(),
                "body-bytes" => controls.body_bytes = count(),
                // Not trimmed: the text is returned exactly as sent.
                "text" => controls.text = Some(raw.to_owned()),
                "prompt-tokens" => usage.prompt = number().unwrap_or(usage.prompt),
                "completion-tokens" => usage.completion = number().unwrap_or(usage.completion),
                "cached-tokens" => usage.cached = number().unwrap_or(usage.cached),
                "cache-write-tokens" => usage.cache_write = number().unwrap_or(usage.cache_write),
                "cache-read-tokens" => usage.cache_read = number().unwrap_or(usage.cache_read),
                "thoughts-tokens" => usage.thoughts = number().unwrap_or(usage.thoughts),
                _ => {}
            }
        }
        controls
    }

    /// The answer text.
    pub(crate) fn text(&self) -> &str {
        self.text.as_deref().unwrap_or(DEFAULT_TEXT)
    }

    /// The answer text split into the stream's content pieces.
    pub(crate) fn pieces(&self) -> Vec<&str> {
        split_pieces(self.text(), self.chunks.unwrap_or(DEFAULT_CHUNKS))
    }

    /// An error status to answer with instead of the endpoint's normal answer.
    pub(crate) fn error_status(&self) -> Option<StatusCode> {
        self.status.filter(|s| !s.is_success())
    }
}

/// Splits `text` into `n` pieces of near-equal length in characters, never inside a
/// character. Fewer pieces when the text has fewer than `n` characters; none when it is empty.
pub(crate) fn split_pieces(text: &str, n: usize) -> Vec<&str> {
    let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let len = starts.len();
    let n = n.min(len);
    let byte_at = |char_index: usize| starts.get(char_index).copied().unwrap_or(text.len());
    (0..n)
        .map(|i| {
            let (from, to) = (i * len / n, (i + 1) * len / n);
            &text[byte_at(from)..byte_at(to)]
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn defaults_without_headers() {
        let c = Controls::from_headers(&HeaderMap::new());
        assert_eq!(c, Controls::default());
        assert_eq!(c.text(), DEFAULT_TEXT);
        assert_eq!(c.pieces().len(), DEFAULT_CHUNKS);
        assert_eq!(c.usage.prompt, 10);
        assert_eq!(c.usage.completion, 5);
    }

    #[test]
    fn parses_every_header_and_ignores_garbage() {
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("x-mock-status", "429"),
            ("x-mock-delay-ms", "7"),
            ("x-mock-chunk-delay-ms", "3"),
            ("x-mock-chunks", "2"),
            ("x-mock-gate", "g1"),
            ("x-mock-hang", "TRUE"),
            ("x-mock-abort-after", "4"),
            ("x-mock-body-bytes", "1000"),
            ("x-mock-text", "hi there"),
            ("x-mock-prompt-tokens", "100"),
            ("x-mock-completion-tokens", "nope"),
            ("x-mock-cached-tokens", "40"),
            ("x-mock-cache-write-tokens", "8"),
            ("x-mock-cache-read-tokens", "9"),
            ("x-mock-thoughts-tokens", "12"),
        ] {
            h.insert(name, HeaderValue::from_static(value));
        }
        let c = Controls::from_headers(&h);
        assert_eq!(c.error_status(), Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(c.delay, Some(Duration::from_millis(7)));
        assert_eq!(c.chunk_delay, Some(Duration::from_millis(3)));
        assert_eq!(c.gate.as_deref(), Some("g1"));
        assert!(c.hang);
        assert_eq!(c.abort_after, Some(4));
        assert_eq!(c.body_bytes, Some(1000));
        assert_eq!(c.pieces(), vec!["hi t", "here"]);
        let want = Usage { prompt: 100, completion: 5, cached: 40, cache_write: 8, cache_read: 9, thoughts: 12 };
        assert_eq!(c.usage, want);
    }

    #[test]
    fn a_success_status_is_not_an_error() {
        let mut h = HeaderMap::new();
        h.insert("x-mock-status", HeaderValue::from_static("200"));
        assert_eq!(Controls::from_headers(&h).error_status(), None);
    }

    #[test]
    fn splits_on_char_boundaries() {
        assert_eq!(split_pieces("abcde", 2), vec!["ab", "cde"]);
        assert_eq!(split_pieces("héllo", 5), vec!["h", "é", "l", "l", "o"]);
        assert_eq!(split_pieces("ab", 5), vec!["a", "b"]);
        assert_eq!(split_pieces("", 3), Vec::<&str>::new());
        assert_eq!(split_pieces("abc", 0), Vec::<&str>::new());
        assert_eq!(split_pieces(DEFAULT_TEXT, 5).concat(), DEFAULT_TEXT);
    }
}
