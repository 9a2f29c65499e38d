//! Where each API reports usage, mapped onto one shape.
//!
//! `tokens_in` counts every input token billed: OpenAI and Gemini include cached tokens in their
//! prompt count; Anthropic reports cache reads and writes beside `input_tokens`, so they are
//! added. Cached and cache-write tokens are kept apart for pricing.

use aigw_core::Usage;
use serde_json::Value;

use crate::operation::Operation;

/// Usage found so far in one response; streams report it in pieces.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UsageAcc {
    input: Option<u64>,
    output: Option<u64>,
    cached: Option<u64>,
    cache_write: Option<u64>,
    /// Anthropic's `input_tokens` alone (without cache reads and writes).
    plain_input: Option<u64>,
}

impl UsageAcc {
    pub(crate) fn usage(&self) -> Usage {
        match (self.input, self.output) {
            (None, None) => Usage::missing(),
            (input, output) => {
                let cached = self.cached.unwrap_or(0);
                let cache_write = self.cache_write.unwrap_or(0);
                Usage::from_provider(input.unwrap_or(0), output.unwrap_or(0), cached, cache_write)
            }
        }
    }

    pub(crate) fn found(&self) -> bool {
        self.input.is_some() || self.output.is_some()
    }

    /// Reads the usage in one JSON document (a whole body or one SSE event's data).
    pub(crate) fn observe(&mut self, op: Operation, v: &Value) {
        match op {
            Operation::Messages => self.anthropic(v),
            Operation::GeminiGenerate { .. } => self.gemini(v),
            _ => self.openai(v),
        }
    }

    /// OpenAI family: chat/completions/embeddings (`prompt_tokens`) and the Responses API
    /// (`input_tokens`, at the top or inside `response` of `response.completed` events).
    fn openai(&mut self, v: &Value) {
        let usage = match v.get("usage") {
            Some(u) if u.is_object() => u,
            _ => match v.get("response").and_then(|r| r.get("usage")) {
                Some(u) if u.is_object() => u,
                _ => return,
            },
        };
        if let Some(prompt) = num(usage, "prompt_tokens") {
            self.input = Some(prompt);
            self.output = Some(num(usage, "completion_tokens").unwrap_or(0));
            self.cached = usage.pointer("/prompt_tokens_details/cached_tokens").and_then(Value::as_u64);
        } else if let Some(input) = num(usage, "input_tokens") {
            self.input = Some(input);
            self.output = Some(num(usage, "output_tokens").unwrap_or(0));
            self.cached = usage.pointer("/input_tokens_details/cached_tokens").and_then(Value::as_u64);
        }
    }

    /// Anthropic: `usage` of a message, `message.usage` of `message_start`, and `usage` of
    /// `message_delta` (cumulative output; newer API versions repeat the input counts there).
    fn anthropic(&mut self, v: &Value) {
        let usage = match v.get("usage").or_else(|| v.get("message").and_then(|m| m.get("usage"))) {
            Some(u) if u.is_object() => u,
            _ => return,
        };
        let base = num(usage, "input_tokens");
        let write = num(usage, "cache_creation_input_tokens");
        let read = num(usage, "cache_read_input_tokens");
        if base.is_some() || write.is_some() || read.is_some() {
            let write = write.or(self.cache_write).unwrap_or(0);
            let read = read.or(self.cached).unwrap_or(0);
            let plain = base.or(self.plain_input).unwrap_or(0);
            self.plain_input = Some(plain);
            self.input = Some(plain.saturating_add(write).saturating_add(read));
            self.cache_write = Some(write);
            self.cached = Some(read);
        }
        if let Some(out) = num(usage, "output_tokens") {
            self.output = Some(out);
        }
    }

    /// Gemini: `usageMetadata`; every stream chunk repeats it, the last one is final. Thinking
    /// tokens are billed as output; tool-use prompt tokens as input.
    fn gemini(&mut self, v: &Value) {
        if let Some(items) = v.as_array() {
            for item in items {
                self.gemini(item);
            }
            return;
        }
        let Some(meta) = v.get("usageMetadata").filter(|m| m.is_object()) else {
            return;
        };
        let prompt = num(meta, "promptTokenCount");
        let tool = num(meta, "toolUsePromptTokenCount").unwrap_or(0);
        if let Some(prompt) = prompt {
            self.input = Some(prompt.saturating_add(tool));
        }
        let out =
            num(meta, "candidatesTokenCount").unwrap_or(0).saturating_add(num(meta, "thoughtsTokenCount").unwrap_or(0));
        if prompt.is_some() || out > 0 {
            self.output = Some(out);
        }
        self.cached = num(meta, "cachedContentTokenCount").or(self.cached);
    }
}

fn num(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usage_of(op: Operation, docs: &[Value]) -> Usage {
        let mut acc = UsageAcc::default();
        for d in docs {
            acc.observe(op, d);
        }
        acc.usage()
    }

    #[test]
    fn openai_chat_counts_cached_inside_prompt() {
        let u = usage_of(
            Operation::ChatCompletions,
            &[
                json!({"usage": {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 40}}}),
            ],
        );
        assert_eq!((u.tokens_in, u.tokens_out, u.cached_in, u.cache_write_in), (Some(100), Some(7), 40, 0));
        assert_eq!(u.source, aigw_core::UsageSource::Provider);
        // Stream chunks with "usage": null change nothing.
        let u = usage_of(Operation::ChatCompletions, &[json!({"usage": null}), json!({"choices": []})]);
        assert_eq!(u, Usage::missing());
    }

    #[test]
    fn embeddings_and_responses_api() {
        let u = usage_of(Operation::Embeddings, &[json!({"usage": {"prompt_tokens": 8, "total_tokens": 8}})]);
        assert_eq!((u.tokens_in, u.tokens_out), (Some(8), Some(0)));
        let u = usage_of(
            Operation::Responses,
            &[
                json!({"type": "response.completed", "response": {"usage": {"input_tokens": 30, "input_tokens_details": {"cached_tokens": 10}, "output_tokens": 4}}}),
            ],
        );
        assert_eq!((u.tokens_in, u.tokens_out, u.cached_in), (Some(30), Some(4), 10));
    }

    #[test]
    fn anthropic_adds_cache_reads_and_writes_to_input() {
        let u = usage_of(
            Operation::Messages,
            &[
                json!({"usage": {"input_tokens": 10, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 1000, "output_tokens": 5}}),
            ],
        );
        assert_eq!((u.tokens_in, u.tokens_out, u.cached_in, u.cache_write_in), (Some(1210), Some(5), 1000, 200));
        let stream = [
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 50, "output_tokens": 1}}}),
            json!({"type": "message_delta", "usage": {"output_tokens": 42}}),
        ];
        let u = usage_of(Operation::Messages, &stream);
        assert_eq!((u.tokens_in, u.tokens_out, u.cached_in), (Some(60), Some(42), 50));
    }

    #[test]
    fn gemini_counts_thoughts_as_output_and_takes_the_last_chunk() {
        let stream = [
            json!({"usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1}}),
            json!({"usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 9, "thoughtsTokenCount": 3, "cachedContentTokenCount": 4}}),
        ];
        let u = usage_of(Operation::GeminiGenerate { stream: true }, &stream);
        assert_eq!((u.tokens_in, u.tokens_out, u.cached_in), (Some(12), Some(12), 4));
        let array = json!([{"usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 1}}, {"usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 6}}]);
        let u = usage_of(Operation::GeminiGenerate { stream: true }, &[array]);
        assert_eq!((u.tokens_in, u.tokens_out), (Some(2), Some(6)));
    }
}
