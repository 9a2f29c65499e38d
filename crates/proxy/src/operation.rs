//! What a request asks the provider to do, read from its path. Decides where usage lives and
//! what `model_type` the log records.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// OpenAI chat completions (and every OpenAI-compatible API's).
    ChatCompletions,
    /// OpenAI legacy text completions.
    Completions,
    Embeddings,
    /// OpenAI Responses API.
    Responses,
    /// Anthropic Messages API.
    Messages,
    /// Gemini `generateContent` / `streamGenerateContent`.
    GeminiGenerate {
        stream: bool,
    },
    Models,
    Other,
}

impl Operation {
    pub(crate) fn classify(rest: &str) -> Self {
        let path = rest.split('?').next().unwrap_or(rest).trim_end_matches('/');
        if path.ends_with(":streamGenerateContent") {
            Operation::GeminiGenerate { stream: true }
        } else if path.ends_with(":generateContent") {
            Operation::GeminiGenerate { stream: false }
        } else if path.ends_with("chat/completions") {
            Operation::ChatCompletions
        } else if path.ends_with("completions") {
            Operation::Completions
        } else if path.ends_with("embeddings") {
            Operation::Embeddings
        } else if path.ends_with("responses") {
            Operation::Responses
        } else if path.ends_with("messages") {
            Operation::Messages
        } else if path.ends_with("models") || path.contains("models/") && !path.contains(':') {
            Operation::Models
        } else {
            Operation::Other
        }
    }

    /// The task recorded as `model_type`.
    pub(crate) fn model_type(self, rest: &str) -> Option<&'static str> {
        Some(match self {
            Operation::ChatCompletions
            | Operation::Messages
            | Operation::GeminiGenerate { .. }
            | Operation::Responses => "chat",
            Operation::Completions => "completion",
            Operation::Embeddings => "embedding",
            Operation::Models => "models",
            Operation::Other if rest.contains("images") => "image",
            Operation::Other if rest.contains("audio") => "audio",
            Operation::Other if rest.contains("moderations") => "moderation",
            Operation::Other if rest.contains("embed") => "embedding",
            Operation::Other => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_path() {
        assert_eq!(Operation::classify("chat/completions"), Operation::ChatCompletions);
        assert_eq!(Operation::classify("v1/chat/completions"), Operation::ChatCompletions);
        assert_eq!(Operation::classify("completions"), Operation::Completions);
        assert_eq!(Operation::classify("v1/messages"), Operation::Messages);
        assert_eq!(Operation::classify("responses"), Operation::Responses);
        assert_eq!(Operation::classify("embeddings"), Operation::Embeddings);
        assert_eq!(Operation::classify("models"), Operation::Models);
        assert_eq!(
            Operation::classify("v1beta/models/gemini-2.0-flash:streamGenerateContent"),
            Operation::GeminiGenerate { stream: true }
        );
        assert_eq!(
            Operation::classify("v1beta/models/gemini-2.0-flash:generateContent"),
            Operation::GeminiGenerate { stream: false }
        );
        assert_eq!(Operation::classify("audio/speech"), Operation::Other);
        assert_eq!(Operation::Other.model_type("audio/speech"), Some("audio"));
    }
}
