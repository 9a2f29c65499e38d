//! Filter keys: their wire names, value types and operators.

use super::model::Op;

/// What a filter tests. The wire name of each key is in [`FilterKey::as_str`].
///
/// The first group is Cloudflare's list (Python SDK 5.9.0 plus the spec's `prompts.*`); the
/// second group is aigw's own, for the web Logs page. Cloudflare's SDKs never send those, and
/// Cloudflare itself would refuse them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterKey {
    /// `id`: the log id (a ULID).
    Id,
    /// `created_at`: when the request arrived.
    CreatedAt,
    /// `request_content_type`.
    RequestContentType,
    /// `response_content_type`.
    ResponseContentType,
    /// `request_type`: the route that carried the request.
    RequestType,
    /// `success`.
    Success,
    /// `cached`.
    Cached,
    /// `provider`.
    Provider,
    /// `model`.
    Model,
    /// `model_type`.
    ModelType,
    /// `cost`, in USD.
    Cost,
    /// `tokens`: `tokens_in + tokens_out`.
    Tokens,
    /// `tokens_in`.
    TokensIn,
    /// `tokens_out`.
    TokensOut,
    /// `duration`, in milliseconds.
    Duration,
    /// `feedback`: -1 (thumbs down), 0 or 1 (thumbs up).
    Feedback,
    /// `event_id`.
    EventId,
    /// `metadata.key`: a key of the log's metadata object.
    MetadataKey,
    /// `metadata.value`: a value of the log's metadata object.
    MetadataValue,
    /// `authentication`: whether the request was authenticated to the gateway.
    Authentication,
    /// `wholesale`.
    Wholesale,
    /// `compatibilityMode`: whether the request came through the OpenAI-compatible route.
    CompatibilityMode,
    /// `dlp_action`.
    DlpAction,
    /// `user_agent`.
    UserAgent,
    /// `prompts.prompt_id`.
    PromptId,
    /// `prompts.version_id`.
    PromptVersionId,
    /// aigw extension `status_code`: the HTTP status the caller received.
    StatusCode,
    /// aigw extension `source_kind`: `direct`, `virtual_key` or `playground`.
    SourceKind,
    /// aigw extension `source_name`: the user or virtual key name the Logs page shows.
    SourceName,
    /// aigw extension `user_name`: the dashboard user (Playground) or the key's owner.
    UserName,
    /// aigw extension `virtual_key_name`.
    VirtualKeyName,
    /// aigw extension `virtual_key_id`.
    VirtualKeyId,
    /// aigw extension `path`: the provider path, e.g. `chat/completions`.
    Path,
    /// aigw extension `score`: the 0..=100 score set by PATCH.
    Score,
}

/// The type a filter key's values have, which also decides the operators it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `true`/`false` (also `1`/`0`); operators `eq`, `neq`.
    Bool,
    /// A finite number; operators `eq`, `neq`, `lt`, `gt`.
    Number,
    /// An instant (RFC 3339 or a bare date); operators `eq`, `neq`, `lt`, `gt`.
    Time,
    /// Free text; operators `eq`, `neq`, `contains`.
    Text,
}

impl FilterKey {
    /// Every key, Cloudflare's first, then aigw's extensions.
    pub const ALL: [FilterKey; 34] = [
        FilterKey::Id,
        FilterKey::CreatedAt,
        FilterKey::RequestContentType,
        FilterKey::ResponseContentType,
        FilterKey::RequestType,
        FilterKey::Success,
        FilterKey::Cached,
        FilterKey::Provider,
        FilterKey::Model,
        FilterKey::ModelType,
        FilterKey::Cost,
        FilterKey::Tokens,
        FilterKey::TokensIn,
        FilterKey::TokensOut,
        FilterKey::Duration,
        FilterKey::Feedback,
        FilterKey::EventId,
        FilterKey::MetadataKey,
        FilterKey::MetadataValue,
        FilterKey::Authentication,
        FilterKey::Wholesale,
        FilterKey::CompatibilityMode,
        FilterKey::DlpAction,
        FilterKey::UserAgent,
        FilterKey::PromptId,
        FilterKey::PromptVersionId,
        FilterKey::StatusCode,
        FilterKey::SourceKind,
        FilterKey::SourceName,
        FilterKey::UserName,
        FilterKey::VirtualKeyName,
        FilterKey::VirtualKeyId,
        FilterKey::Path,
        FilterKey::Score,
    ];

    /// The wire name, as in `filters.key=...`.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterKey::Id => "id",
            FilterKey::CreatedAt => "created_at",
            FilterKey::RequestContentType => "request_content_type",
            FilterKey::ResponseContentType => "response_content_type",
            FilterKey::RequestType => "request_type",
            FilterKey::Success => "success",
            FilterKey::Cached => "cached",
            FilterKey::Provider => "provider",
            FilterKey::Model => "model",
            FilterKey::ModelType => "model_type",
            FilterKey::Cost => "cost",
            FilterKey::Tokens => "tokens",
            FilterKey::TokensIn => "tokens_in",
            FilterKey::TokensOut => "tokens_out",
            FilterKey::Duration => "duration",
            FilterKey::Feedback => "feedback",
            FilterKey::EventId => "event_id",
            FilterKey::MetadataKey => "metadata.key",
            FilterKey::MetadataValue => "metadata.value",
            FilterKey::Authentication => "authentication",
            FilterKey::Wholesale => "wholesale",
            FilterKey::CompatibilityMode => "compatibilityMode",
            FilterKey::DlpAction => "dlp_action",
            FilterKey::UserAgent => "user_agent",
            FilterKey::PromptId => "prompts.prompt_id",
            FilterKey::PromptVersionId => "prompts.version_id",
            FilterKey::StatusCode => "status_code",
            FilterKey::SourceKind => "source_kind",
            FilterKey::SourceName => "source_name",
            FilterKey::UserName => "user_name",
            FilterKey::VirtualKeyName => "virtual_key_name",
            FilterKey::VirtualKeyId => "virtual_key_id",
            FilterKey::Path => "path",
            FilterKey::Score => "score",
        }
    }

    /// The key with this exact wire name.
    pub fn from_wire(s: &str) -> Option<Self> {
        FilterKey::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for aigw's own keys, which Cloudflare does not have.
    pub fn is_extension(self) -> bool {
        matches!(
            self,
            FilterKey::StatusCode
                | FilterKey::SourceKind
                | FilterKey::SourceName
                | FilterKey::UserName
                | FilterKey::VirtualKeyName
                | FilterKey::VirtualKeyId
                | FilterKey::Path
                | FilterKey::Score
        )
    }

    /// The type of this key's values.
    pub fn value_kind(self) -> ValueKind {
        match self {
            FilterKey::Success
            | FilterKey::Cached
            | FilterKey::Authentication
            | FilterKey::Wholesale
            | FilterKey::CompatibilityMode => ValueKind::Bool,
            FilterKey::Cost
            | FilterKey::Tokens
            | FilterKey::TokensIn
            | FilterKey::TokensOut
            | FilterKey::Duration
            | FilterKey::Feedback
            | FilterKey::StatusCode
            | FilterKey::Score => ValueKind::Number,
            FilterKey::CreatedAt => ValueKind::Time,
            _ => ValueKind::Text,
        }
    }

    /// The only text values this key takes, for keys with a closed set.
    pub fn allowed_values(self) -> Option<&'static [&'static str]> {
        match self {
            FilterKey::SourceKind => Some(&["direct", "virtual_key", "playground"]),
            _ => None,
        }
    }

    /// The wire operators this key takes.
    pub fn operators(self) -> &'static [Op] {
        if self.allowed_values().is_some() {
            return &[Op::Eq, Op::Neq];
        }
        match self.value_kind() {
            ValueKind::Bool => &[Op::Eq, Op::Neq],
            ValueKind::Number | ValueKind::Time => &[Op::Eq, Op::Neq, Op::Lt, Op::Gt],
            ValueKind::Text => &[Op::Eq, Op::Neq, Op::Contains],
        }
    }
}
