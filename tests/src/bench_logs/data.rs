//! The synthetic logs: what a busy team's gateway holds after a month.
//!
//! - 6 providers, 25 models with their list prices, popularity skewed (a few models carry most
//!   traffic); 4 paths (`chat/completions`, `responses`, `v1/messages`, `embeddings`).
//! - Senders: 40% direct (10% of direct chat through `compat`), 45% from 50 virtual keys, 15% from
//!   20 Playground users; each key and user mostly uses its own 3-4 models.
//! - 95% success; failures 429 (2%), 400 (1%), 500 (1%), 503 (1%) without usage or cost; 4% of
//!   successful chats answered from cache.
//! - Tokens log-uniform (chat 30..6,000 in, 5..1,500 out; embeddings 5..800 in), cost from the
//!   model's price; durations that follow the output size; 30% of chats streamed.
//! - Metadata on half of the logs: `{"team": one of 10, "user": "u0".."u4999", "run": n}`.
//! - Bodies (unless `--no-bodies`): a 200-400 B request and a 150-500 B response, the text drawn
//!   from a small vocabulary so that they compress as real ones do.
//!
//! Every record is a pure function of its index and the run's seed, so `--keep` databases and
//! fresh ones hold the same data (except the random part of the ULIDs).

use aigw_core::ids::new_ulid;
use aigw_core::{LogRecord, Payload, Source, SourceKind, Usage};
use bytes::Bytes;

use super::rng::Rng;

pub const ACCOUNT: &str = "bench";
pub const GATEWAY: &str = "logs";
const SEED: u64 = 0xA163_2025;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Chat,
    Responses,
    Messages,
    Embedding,
}

impl Api {
    pub fn path(self) -> &'static str {
        match self {
            Api::Chat => "chat/completions",
            Api::Responses => "responses",
            Api::Messages => "v1/messages",
            Api::Embedding => "embeddings",
        }
    }
    fn model_type(self) -> &'static str {
        match self {
            Api::Chat => "chat",
            Api::Responses => "responses",
            Api::Messages => "messages",
            Api::Embedding => "embedding",
        }
    }
}

/// (provider, model, API, $ per 1M input tokens, $ per 1M output tokens, popularity weight).
pub const MODELS: [(&str, &str, Api, f64, f64, u32); 25] = [
    ("openai", "gpt-4o-mini", Api::Chat, 0.15, 0.6, 200),
    ("openai", "gpt-4o", Api::Chat, 2.5, 10.0, 90),
    ("openai", "gpt-4.1", Api::Chat, 2.0, 8.0, 50),
    ("openai", "gpt-4.1-mini", Api::Chat, 0.4, 1.6, 60),
    ("openai", "gpt-5", Api::Responses, 1.25, 10.0, 40),
    ("openai", "gpt-5-mini", Api::Responses, 0.25, 2.0, 45),
    ("openai", "o3-mini", Api::Chat, 1.1, 4.4, 15),
    ("openai", "text-embedding-3-small", Api::Embedding, 0.02, 0.0, 110),
    ("anthropic", "claude-sonnet-4-5", Api::Messages, 3.0, 15.0, 120),
    ("anthropic", "claude-haiku-4-5", Api::Messages, 1.0, 5.0, 60),
    ("anthropic", "claude-opus-4-1", Api::Messages, 15.0, 75.0, 10),
    ("anthropic", "claude-3-5-haiku-latest", Api::Messages, 0.8, 4.0, 20),
    ("google-ai-studio", "gemini-2.5-flash", Api::Chat, 0.3, 2.5, 70),
    ("google-ai-studio", "gemini-2.5-pro", Api::Chat, 1.25, 10.0, 25),
    ("google-ai-studio", "gemini-2.0-flash", Api::Chat, 0.1, 0.4, 30),
    ("google-ai-studio", "text-embedding-004", Api::Embedding, 0.01, 0.0, 15),
    ("groq", "llama-3.3-70b-versatile", Api::Chat, 0.59, 0.79, 35),
    ("groq", "llama-3.1-8b-instant", Api::Chat, 0.05, 0.08, 25),
    ("groq", "qwen/qwen3-32b", Api::Chat, 0.29, 0.59, 8),
    ("mistral", "mistral-large-latest", Api::Chat, 2.0, 6.0, 12),
    ("mistral", "mistral-small-latest", Api::Chat, 0.1, 0.3, 14),
    ("mistral", "codestral-latest", Api::Chat, 0.3, 0.9, 10),
    ("mistral", "mistral-embed", Api::Embedding, 0.1, 0.0, 6),
    ("deepseek", "deepseek-chat", Api::Chat, 0.27, 1.1, 20),
    ("deepseek", "deepseek-reasoner", Api::Chat, 0.55, 2.19, 8),
];

pub const PROVIDERS: [&str; 6] = ["openai", "anthropic", "google-ai-studio", "groq", "mistral", "deepseek"];

const APPS: [&str; 25] = [
    "search-backend",
    "billing-worker",
    "support-bot",
    "ci-evals",
    "mobile-app",
    "web-chat",
    "docs-indexer",
    "sales-assistant",
    "code-review",
    "data-pipeline",
    "onboarding-flow",
    "email-drafts",
    "fraud-scoring",
    "translation",
    "summarizer",
    "legal-review",
    "hr-helpdesk",
    "analytics-agent",
    "qa-bot",
    "recsys-embeddings",
    "ticket-triage",
    "voice-agent",
    "marketing-copy",
    "notebook-copilot",
    "incident-bot",
];

pub const USERS: [&str; 20] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
    "Dennis Ritchie",
    "Frances Allen",
    "Ken Thompson",
    "Radia Perlman",
    "John McCarthy",
    "Hedy Lamarr",
    "Linus Torvalds",
    "Shafi Goldwasser",
    "Tim Berners-Lee",
    "Leslie Lamport",
    "Sophie Wilson",
    "Claude Shannon",
];

const TEAMS: [&str; 10] =
    ["search", "billing", "support", "research", "platform", "mobile", "data", "sales", "legal", "growth"];

/// Distinct metadata user ids: `u0` .. `u4999`.
pub const METADATA_USERS: u64 = 5_000;

const WORDS: [&str; 48] = [
    "the",
    "customer",
    "invoice",
    "summary",
    "please",
    "explain",
    "why",
    "order",
    "shipping",
    "delayed",
    "refund",
    "account",
    "password",
    "reset",
    "error",
    "timeout",
    "deploy",
    "service",
    "latency",
    "report",
    "quarterly",
    "revenue",
    "draft",
    "email",
    "translate",
    "french",
    "german",
    "code",
    "function",
    "bug",
    "test",
    "review",
    "policy",
    "contract",
    "clause",
    "risk",
    "ticket",
    "priority",
    "incident",
    "database",
    "query",
    "index",
    "cache",
    "token",
    "model",
    "answer",
    "question",
    "context",
];

const USER_AGENTS: [&str; 5] =
    ["OpenAI/Python 1.54.3", "Anthropic/Python 0.40.0", "node-fetch/1.0", "curl/8.5.0", "aigw-playground/1.0"];

/// The 50 virtual key names: each app in prod and staging.
pub fn key_names() -> Vec<String> {
    APPS.iter().flat_map(|a| [format!("{a}-prod"), format!("{a}-staging")]).collect()
}

/// A sender with its preferred models.
struct Sender {
    source: Source,
    models: Vec<usize>,
    weight: u32,
}

/// Everything a record is drawn from.
pub struct Catalog {
    keys: Vec<Sender>,
    users: Vec<Sender>,
    key_weights: Vec<u32>,
    user_weights: Vec<u32>,
    model_weights: Vec<u32>,
    with_bodies: bool,
}

impl Catalog {
    pub fn new(with_bodies: bool) -> Self {
        let users: Vec<Sender> = USERS
            .iter()
            .enumerate()
            .map(|(i, name)| Sender {
                source: Source {
                    kind: SourceKind::Playground,
                    id: Some(format!("usr_{:04}", 1000 + i)),
                    name: Some((*name).to_string()),
                    owner: None,
                },
                models: vec![(i * 3) % 25, (i * 3 + 8) % 25, (i * 5 + 12) % 25, 0],
                weight: 20 - (i as u32 % 15),
            })
            .collect();
        let keys: Vec<Sender> = key_names()
            .into_iter()
            .enumerate()
            .map(|(i, name)| Sender {
                source: Source {
                    kind: SourceKind::VirtualKey,
                    id: Some(format!("vk_{:08x}", (i as u64 + 1).wrapping_mul(0x9E37_79B9) & 0xFFFF_FFFF)),
                    name: Some(name),
                    owner: Some(format!("usr_{:04}", 1000 + i % USERS.len())),
                },
                models: vec![(i * 7) % 25, (i * 7 + 3) % 25, (i * 11 + 5) % 25],
                // A few busy keys, a long tail of quiet ones.
                weight: 1 + 400 / (i as u32 + 1),
            })
            .collect();
        Catalog {
            key_weights: keys.iter().map(|k| k.weight).collect(),
            user_weights: users.iter().map(|u| u.weight).collect(),
            model_weights: MODELS.iter().map(|m| m.5).collect(),
            keys,
            users,
            with_bodies,
        }
    }

    /// Record `i` of the run, created at `created_at_ms`.
    pub fn record(&self, i: u64, created_at_ms: i64) -> LogRecord {
        let mut rng = Rng::new(SEED ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        // Who sent it, and so which models it may use.
        let roll = rng.unit();
        let (source, model_index) = if roll < 0.40 {
            (Source::default(), rng.weighted(&self.model_weights))
        } else {
            let sender = if roll < 0.85 {
                &self.keys[rng.weighted(&self.key_weights)]
            } else {
                &self.users[rng.weighted(&self.user_weights)]
            };
            let model = if rng.chance(0.9) { *rng.pick(&sender.models) } else { rng.weighted(&self.model_weights) };
            (sender.source.clone(), model)
        };
        let (provider, model, api, price_in, price_out, _) = MODELS[model_index];
        let api = if api == Api::Responses && rng.chance(0.3) { Api::Chat } else { api };
        let request_type = if source.kind == SourceKind::Direct && api == Api::Chat && rng.chance(0.1) {
            "compat"
        } else {
            "provider"
        };

        let outcome = rng.unit();
        let status_code: u16 = match outcome {
            x if x < 0.95 => 200,
            x if x < 0.97 => 429,
            x if x < 0.98 => 400,
            x if x < 0.99 => 500,
            _ => 503,
        };
        let success = status_code == 200;
        let cached = success && api != Api::Embedding && rng.chance(0.04);
        let stream = matches!(api, Api::Chat | Api::Messages | Api::Responses) && rng.chance(0.3);

        let (tokens_in, tokens_out) = if api == Api::Embedding {
            (rng.log_uniform(5.0, 800.0) as u64, 0)
        } else {
            (rng.log_uniform(30.0, 6000.0) as u64, rng.log_uniform(5.0, 1500.0) as u64)
        };
        let usage = if success { Usage::from_provider(tokens_in, tokens_out, 0, 0) } else { Usage::missing() };
        let cost = success.then(|| {
            if cached {
                0.0
            } else {
                (tokens_in as f64 * price_in + tokens_out as f64 * price_out) / 1_000_000.0
            }
        });
        let duration_ms = if cached {
            1 + rng.below(12)
        } else if !success {
            20 + rng.below(3000)
        } else if api == Api::Embedding {
            40 + rng.below(400)
        } else {
            150 + tokens_out * (8 + rng.below(20)) + rng.below(400)
        };

        let metadata = rng.chance(0.5).then(|| {
            format!(
                r#"{{"team":"{}","user":"u{}","run":{}}}"#,
                rng.pick(&TEAMS),
                rng.below(METADATA_USERS),
                rng.below(1_000_000)
            )
        });
        let user_agent = if source.kind == SourceKind::Playground {
            USER_AGENTS[4]
        } else if provider == "anthropic" {
            USER_AGENTS[1]
        } else {
            *rng.pick(&[USER_AGENTS[0], USER_AGENTS[0], USER_AGENTS[2], USER_AGENTS[3]])
        };
        let error = (!success).then(|| match status_code {
            429 => "upstream rate limit (429)".to_string(),
            400 => "upstream rejected the request (400)".to_string(),
            _ => format!("upstream error ({status_code})"),
        });
        let (request, response) = if self.with_bodies {
            bodies(&mut rng, model, api, status_code, tokens_in, tokens_out)
        } else {
            let (req, resp) = (200 + rng.below(200), 150 + rng.below(350));
            (Payload { body: None, size: req, truncated: false }, Payload { body: None, size: resp, truncated: false })
        };
        LogRecord {
            id: new_ulid(created_at_ms),
            account_id: ACCOUNT.into(),
            gateway_id: GATEWAY.into(),
            created_at_ms,
            duration_ms,
            provider: provider.into(),
            model: model.into(),
            model_type: Some(api.model_type().into()),
            path: api.path().into(),
            request_type: request_type.into(),
            method: "POST".into(),
            stream,
            request_content_type: Some("application/json".into()),
            response_content_type: Some(
                if stream && success { "text/event-stream" } else { "application/json" }.into(),
            ),
            status_code,
            success,
            cached,
            usage,
            cost,
            custom_cost: false,
            metadata,
            event_id: None,
            step: 0,
            user_agent: Some(user_agent.into()),
            error,
            source,
            request,
            response,
        }
    }
}

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s
}

fn payload(text: String) -> Payload {
    Payload { size: text.len() as u64, body: Some(Bytes::from(text)), truncated: false }
}

fn bodies(rng: &mut Rng, model: &str, api: Api, status: u16, tokens_in: u64, tokens_out: u64) -> (Payload, Payload) {
    let words = 8 + rng.below(30) as usize;
    let question = sentence(rng, words);
    let request = match api {
        Api::Embedding => format!(r#"{{"model":"{model}","input":"{question}"}}"#),
        Api::Messages => format!(
            r#"{{"model":"{model}","max_tokens":1024,"system":"You are a helpful assistant.","messages":[{{"role":"user","content":"{question}"}}]}}"#
        ),
        _ => format!(
            r#"{{"model":"{model}","messages":[{{"role":"system","content":"You are a helpful assistant."}},{{"role":"user","content":"{question}"}}],"temperature":0.2}}"#
        ),
    };
    let response = if status != 200 {
        format!(r#"{{"error":{{"message":"upstream answered {status}","type":"upstream_error","code":{status}}}}}"#)
    } else if api == Api::Embedding {
        let v: Vec<String> = (0..8).map(|_| format!("{:.6}", rng.unit() * 2.0 - 1.0)).collect();
        format!(
            r#"{{"object":"list","data":[{{"object":"embedding","index":0,"embedding":[{}]}}],"model":"{model}","usage":{{"prompt_tokens":{tokens_in},"total_tokens":{tokens_in}}}}}"#,
            v.join(",")
        )
    } else {
        let words = 10 + rng.below(40) as usize;
        let answer = sentence(rng, words);
        format!(
            r#"{{"id":"chatcmpl-{:x}","object":"chat.completion","model":"{model}","choices":[{{"index":0,"message":{{"role":"assistant","content":"{answer}"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{tokens_in},"completion_tokens":{tokens_out}}}}}"#,
            rng.next_u64()
        )
    };
    (payload(request), payload(response))
}
