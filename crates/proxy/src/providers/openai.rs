//! OpenAI and every OpenAI-compatible API (Groq, Mistral, DeepSeek, OpenRouter, Workers AI,
//! vLLM, Ollama, ...): `Authorization: Bearer`, usage in `usage`.

use aigw_core::config::ProviderFormat;

use super::Adapter;

pub(crate) struct OpenAi;

impl Adapter for OpenAi {
    fn format(&self) -> ProviderFormat {
        ProviderFormat::Openai
    }
}
