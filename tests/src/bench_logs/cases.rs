//! The queries measured. Each sample gets its own parameters (provider, page, search term, time
//! window, ...) drawn from a seeded generator, so a run does not time one answer over and over,
//! and two runs time the same requests.
//!
//! Filters are written as the official Python SDK sends them (dotted keys, repeated and grouped:
//! every `filters.key`, then every `filters.operator`, then every `filters.value`; see
//! CLOUDFLARE-CONTRACT.md 0.3).

use aigw_core::clock::rfc3339_ms;
use http::Method;

use super::data::{key_names, METADATA_USERS, MODELS, PROVIDERS, USERS};
use super::rng::Rng;

const DAY_MS: i64 = 86_400_000;

/// What the issue asks of a query at 10M logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// p99 at most this many ms.
    P99Ms(f64),
    /// Measured and reported; the issue sets no target.
    None,
}

pub struct Case {
    pub name: &'static str,
    pub target: Target,
    pub method: Method,
    /// Query strings: the warm-up ones first, then the timed ones.
    pub queries: Vec<String>,
    pub warmup: usize,
}

/// What the cases need to know about the loaded data.
pub struct Context {
    pub first_ms: i64,
    pub last_ms: i64,
}

/// A query string under construction.
#[derive(Default)]
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.pairs.push((key.to_string(), value.to_string()));
        self
    }

    /// `(key, operator, value)` filters, one value each, in the Python SDK's grouped form.
    fn filters(mut self, filters: &[(&str, &str, String)]) -> Self {
        for (k, _, _) in filters {
            self.pairs.push(("filters.key".into(), (*k).into()));
        }
        for (_, op, _) in filters {
            self.pairs.push(("filters.operator".into(), (*op).into()));
        }
        for (_, _, v) in filters {
            self.pairs.push(("filters.value".into(), v.clone()));
        }
        self
    }

    fn build(&self) -> String {
        self.pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
    }
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn case(
    name: &'static str,
    target: Target,
    seed: u64,
    warmup: usize,
    samples: usize,
    mut make: impl FnMut(&mut Rng, usize) -> Query,
) -> Case {
    let mut rng = Rng::new(seed);
    let queries = (0..warmup + samples).map(|i| make(&mut rng, i).build()).collect();
    Case { name, target, method: Method::GET, queries, warmup }
}

/// The list queries, in the order they run.
pub fn read_cases(ctx: &Context, warmup: usize, samples: usize) -> Vec<Case> {
    let keys = key_names();
    let span = (ctx.last_ms - ctx.first_ms).max(DAY_MS + 1);
    let provider = |i: usize| PROVIDERS[i % PROVIDERS.len()].to_string();
    let deep_page = |rng: &mut Rng| 9_900 + rng.below(201);
    let (fast, slower) = (Target::P99Ms(10.0), Target::P99Ms(50.0));
    vec![
        case("first page, unfiltered (per_page 50)", fast, 1, warmup, samples, |_, _| {
            Query::default().with("per_page", 50)
        }),
        case("page 9,900-10,100, per_page 20", slower, 2, warmup, samples, |rng, _| {
            Query::default().with("page", deep_page(rng)).with("per_page", 20)
        }),
        case("page 9,900-10,100, per_page 50", slower, 3, warmup, samples, |rng, _| {
            Query::default().with("page", deep_page(rng)).with("per_page", 50)
        }),
        case("provider eq X (6 providers, pages 1-10)", fast, 4, warmup, samples, |rng, i| {
            Query::default()
                .filters(&[("provider", "eq", provider(i))])
                .with("page", 1 + rng.below(10))
                .with("per_page", 50)
        }),
        case("model eq X (25 models, pages 1-10)", fast, 5, warmup, samples, |rng, i| {
            Query::default()
                .filters(&[("model", "eq", MODELS[i % MODELS.len()].1.to_string())])
                .with("page", 1 + rng.below(10))
                .with("per_page", 50)
        }),
        case("provider eq X + success eq false", slower, 6, warmup, samples, |rng, i| {
            Query::default()
                .filters(&[("provider", "eq", provider(i)), ("success", "eq", "false".into())])
                .with("page", 1 + rng.below(3))
                .with("per_page", 50)
        }),
        case("search: virtual key / user name", slower, 7, warmup, samples, |_, i| {
            let term =
                if i % 2 == 0 { keys[(i / 2) % keys.len()].clone() } else { USERS[(i / 2) % USERS.len()].into() };
            Query::default().with("search", term).with("per_page", 50)
        }),
        case("search: metadata user id (u100-u4999)", slower, 8, warmup, samples, |rng, _| {
            let user = 100 + rng.below(METADATA_USERS - 100);
            Query::default().with("search", format!("u{user}")).with("per_page", 50)
        }),
        case("meta_info=true, provider eq X", slower, 9, warmup, samples, |_, i| {
            Query::default().filters(&[("provider", "eq", provider(i))]).with("meta_info", "true").with("per_page", 50)
        }),
        case("total_count, success eq true (pages 1-10)", fast, 10, warmup, samples, |rng, _| {
            Query::default()
                .filters(&[("success", "eq", "true".into())])
                .with("page", 1 + rng.below(10))
                .with("per_page", 50)
        }),
        case("created_at one-day window (pages 1-5)", Target::None, 11, warmup, samples, |rng, _| {
            let lo = ctx.first_ms + rng.below((span - DAY_MS) as u64) as i64;
            Query::default()
                .filters(&[("created_at", "gt", rfc3339_ms(lo)), ("created_at", "lt", rfc3339_ms(lo + DAY_MS))])
                .with("page", 1 + rng.below(5))
                .with("per_page", 50)
        }),
        case("cost gt 0.01 (plain scan)", Target::None, 12, warmup.min(3), samples, |rng, _| {
            let threshold = 0.01 + rng.below(20) as f64 * 0.0005;
            Query::default().filters(&[("cost", "gt", format!("{threshold:.4}"))]).with("per_page", 50)
        }),
    ]
}

/// Bulk deletes: `provider eq X` with a limit, newest or oldest first by turns.
pub fn delete_case(warmup: usize, samples: usize, limit: u32) -> Case {
    let mut c = case("DELETE provider eq X, limit N", Target::None, 13, warmup, samples, |_, i| {
        Query::default()
            .filters(&[("provider", "eq", PROVIDERS[i % PROVIDERS.len()].to_string())])
            .with("limit", limit)
            .with("order_by_direction", if (i / PROVIDERS.len()) % 2 == 0 { "desc" } else { "asc" })
    });
    c.method = Method::DELETE;
    c
}
