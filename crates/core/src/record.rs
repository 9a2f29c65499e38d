//! `LogRecord`: everything aigw keeps about one proxied exchange.

use bytes::Bytes;

use crate::usage::Usage;

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceKind {
    /// No virtual key: the caller brought its own provider key, or none.
    #[default]
    Direct,
    /// A developer's virtual key.
    VirtualKey,
    /// A logged-in user of the dashboard's Playground.
    Playground,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Direct => "direct",
            SourceKind::VirtualKey => "virtual_key",
            SourceKind::Playground => "playground",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "direct" => Some(SourceKind::Direct),
            "virtual_key" => Some(SourceKind::VirtualKey),
            "playground" => Some(SourceKind::Playground),
            _ => None,
        }
    }
}

/// The sender of a request, as the Logs page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub kind: SourceKind,
    /// Virtual key id or user id.
    pub id: Option<String>,
    /// Virtual key name or user name.
    pub name: Option<String>,
    /// The user that owns the virtual key.
    pub owner: Option<String>,
}

/// A captured body: the bytes kept (at most the configured cap) and the size that flowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    /// The bytes kept, `None` when payload collection is off for this request.
    pub body: Option<Bytes>,
    /// Total bytes that passed through, kept or not.
    pub size: u64,
    /// True when `body` holds fewer bytes than `size`.
    pub truncated: bool,
}

impl Payload {
    /// The first `head_bytes` of the kept body, cut at a character boundary, and whether that is
    /// the whole body.
    pub fn head(&self, head_bytes: usize) -> Option<(String, bool)> {
        let body = self.body.as_ref()?;
        let cut = floor_char_boundary(body, head_bytes.min(body.len()));
        let text = String::from_utf8_lossy(&body[..cut]).into_owned();
        let complete = cut == body.len() && !self.truncated;
        Some((text, complete))
    }
}

/// The largest index `<= at` that does not split a UTF-8 sequence.
fn floor_char_boundary(bytes: &[u8], at: usize) -> usize {
    let mut i = at;
    while i > 0 && i < bytes.len() && (bytes[i] & 0b1100_0000) == 0b1000_0000 {
        i -= 1;
    }
    i
}

/// One proxied exchange. Fields follow Cloudflare's log (seeds 000 and 001) plus what the Logs
/// page needs. Built by the proxy's body tap when the response ends, then handed to a `LogSink`.
#[derive(Debug, Clone, Default)]
pub struct LogRecord {
    /// ULID, also returned to the caller as `cf-aig-log-id`.
    pub id: String,
    pub account_id: String,
    pub gateway_id: String,
    /// Milliseconds since the Unix epoch when the request arrived.
    pub created_at_ms: i64,
    /// Milliseconds from arrival to the end of the response (or the abort).
    pub duration_ms: u64,
    pub provider: String,
    pub model: String,
    /// The task: chat, completion, embedding, responses, messages, image, audio, models, other.
    pub model_type: Option<String>,
    /// The provider path after the provider segment, e.g. `chat/completions`.
    pub path: String,
    /// The route that carried the request: `provider`, `compat` or `universal`.
    pub request_type: String,
    pub method: String,
    pub stream: bool,
    pub request_content_type: Option<String>,
    pub response_content_type: Option<String>,
    /// HTTP status the caller received.
    pub status_code: u16,
    pub success: bool,
    pub cached: bool,
    pub usage: Usage,
    /// USD, `None` when usage is missing or the model has no price.
    pub cost: Option<f64>,
    /// True when `cf-aig-custom-cost` set the cost.
    pub custom_cost: bool,
    /// JSON text of the `cf-aig-metadata` object.
    pub metadata: Option<String>,
    pub event_id: Option<String>,
    /// Index of the universal-endpoint step that answered; 0 for direct routes.
    pub step: u32,
    pub user_agent: Option<String>,
    /// Why the request failed, for failures.
    pub error: Option<String>,
    pub source: Source,
    pub request: Payload,
    pub response: Payload,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_cut_at_a_char_boundary_and_flags_completeness() {
        let p = Payload { body: Some(Bytes::from("héllo")), size: 6, truncated: false };
        assert_eq!(p.head(2), Some(("h".to_string(), false)));
        assert_eq!(p.head(100), Some(("héllo".to_string(), true)));
        let t = Payload { body: Some(Bytes::from("abc")), size: 10, truncated: true };
        assert_eq!(t.head(100), Some(("abc".to_string(), false)));
        assert_eq!(Payload::default().head(10), None);
    }
}
