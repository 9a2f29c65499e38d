//! The log query: what `GET .../logs` and `DELETE .../logs` select, parsed from the query string
//! exactly as Cloudflare's SDKs send it. Pure code, no I/O: the admin API hands in the decoded
//! pairs, the store compiles the result to parameterized SQL.
//!
//! # Parameters
//!
//! | parameter | list | delete | rule |
//! |---|---|---|---|
//! | `filters` | yes | yes | see *Filters* below |
//! | `search` | yes | **400** | trimmed; empty means none; at most 256 characters |
//! | `page` | yes | ignored | integer ≥ 1, default 1 |
//! | `per_page` | yes | ignored | integer 1..=50, default 20 |
//! | `order_by` | 6 columns | 11 columns | list: `created_at provider model model_type success cached`; delete adds `cost tokens_in tokens_out duration feedback`; default `created_at` |
//! | `order_by_direction` | yes | yes | `asc` or `desc`; the legacy `direction` is read when `order_by_direction` is absent; default **`desc`** (newest first, as the dashboard shows; DELETE with the same filters and order deletes the rows GET lists first) |
//! | `meta_info` | yes | ignored | `true`/`false` (also `1`/`0`), default false |
//! | `limit` | ignored | yes | integer 1..=10000, default 10000 |
//! | deprecated flat filters | yes | yes | below; each becomes one more filter |
//!
//! Integers may arrive as integral floats (`per_page=25.0`, as Python's `str(25.0)` gives). An
//! empty value (`page=`) counts as absent; when a parameter is repeated the last non-empty value
//! wins. Unknown top-level parameters are ignored, as Cloudflare does; an unknown `filters.*`
//! sub-key is an error. DELETE refuses `search` rather than ignore it, since ignoring it would
//! delete more than was asked; the deprecated flat filters only ever narrow, so DELETE applies
//! them too.
//!
//! Deprecated flat parameters, appended after the wire filters in this order:
//! `success`, `cached` (bool `eq`); `provider`, `model`, `model_type`, `request_content_type`,
//! `response_content_type` (text `eq`, taken literally); `start_date` / `end_date`
//! (`created_at` ≥ / ≤); `min_cost` / `max_cost`, `min_tokens_in` / `max_tokens_in`,
//! `min_tokens_out` / `max_tokens_out`, `min_total_tokens` / `max_total_tokens` (key `tokens`),
//! `min_duration` / `max_duration` (≥ / ≤: the bounds are inclusive, so they use the internal
//! operators [`Op::Ge`] / [`Op::Le`], which the wire cannot name); `feedback`: `1` is
//! `feedback eq 1` (thumbs up), `0` is `feedback eq -1` (thumbs down; Cloudflare's flag has no
//! third state), `-1` is also read as thumbs down.
//!
//! # Filters
//!
//! A filter is `{key, operator, value: [...]}`; the values of one filter are ORed, filters are
//! ANDed. Four wire forms are read, one per request (mixing them is an error):
//!
//! 1. **Interleaved** (TS SDK, `qs` with `allowDots` and `arrayFormat: 'repeat'`):
//!    `filters.key=model&filters.operator=eq&filters.value=a&filters.value=b&filters.key=cost&...`.
//!    Read in order; a new filter starts when a field repeats: a `filters.key` or
//!    `filters.operator` when the current filter already has one, or a `filters.value` when the
//!    current filter already has values and the pair before was not a value. (So the fields of
//!    each object may come in any order, as long as every object uses the same one.)
//! 2. **Grouped** (Python SDK: httpx groups repeated keys): all `filters.key`, then all
//!    `filters.operator`, then all `filters.value`. The form is grouped when each field's pairs
//!    are contiguous; otherwise it is interleaved. The i-th key goes with the i-th operator
//!    (their counts must match). The values are split as described under *Grouped values*.
//! 3. **JSON**: `filters=[{"key":"model","operator":"eq","value":["a","b"]}]` (an array, or
//!    one object). JSON `null`, booleans and numbers are accepted as values; a scalar `value`
//!    counts as a one-value array.
//! 4. **Bracket**: `filters[0][key]=model&filters[0][operator]=eq&filters[0][value][0]=a`, also
//!    `filters[0][value]=a` repeated, `filters[0][value][]=a`, and dots in place of brackets
//!    (`filters[0].key`, as `qs` writes with `allowDots` and indices). Filters are taken in
//!    index order, values in wire order. `filters[key]=...` without an index is form 1/2.
//!
//! ## Grouped values
//!
//! The Python SDK sends the values of all filters as one flat list, so "which filter owns which
//! value" is lost on the wire. aigw reassigns them with one deterministic rule:
//!
//! > The values are cut, in order, into one non-empty run per filter. Of all cuts in which
//! > every value fits its filter's type (see *Keys, operators and values*), aigw takes the one
//! > that gives the first filter the longest run, then the second filter the longest run, and
//! > so on. If no cut fits, each filter takes one value plus, while its type fits, the
//! > following values that the later filters can spare (the last filter takes the rest), and
//! > the first value that does not fit is reported. Fewer values than filters is an error
//! > naming `filters.value`.
//!
//! This gives the obvious answer when there is one filter (it takes every value) or as many
//! values as filters (one each), and it resolves the common case where a text filter with
//! several values sits before a boolean, number or date filter:
//! `[model eq [gpt-4, gpt-4o], success eq [true], cost gt [0.5]]` arrives as keys
//! `model success cost` and values `gpt-4 gpt-4o true 0.5`, and comes back exactly as sent.
//! What the rule cannot know is where one text filter's values end and the next text filter's
//! begin: there the earlier filter takes the surplus. With the Python SDK, put the one filter
//! that has several values first, or send one value per filter; the TS SDK, the JSON form and
//! the bracket form are never ambiguous.
//!
//! ## Keys, operators and values
//!
//! | type | keys | operators | values |
//! |---|---|---|---|
//! | bool | `success cached authentication wholesale compatibilityMode` | `eq neq` | `true`/`false` (any case), `1`/`0` |
//! | number | `cost tokens tokens_in tokens_out duration feedback` + `status_code score` | `eq neq lt gt` | finite decimal |
//! | time | `created_at` | `eq neq lt gt` | RFC 3339 with `Z` or offset, fractions allowed; no offset reads as UTC; a bare date `2025-01-01` is midnight UTC |
//! | text | `id request_content_type response_content_type request_type provider model model_type event_id metadata.key metadata.value dlp_action user_agent prompts.prompt_id prompts.version_id` + `source_name user_name virtual_key_name virtual_key_id path` | `eq neq contains` | any string |
//! | enum | `source_kind` | `eq neq` | `direct`, `virtual_key`, `playground` |
//!
//! `tokens` is `tokens_in + tokens_out`. Keys after the `+` are aigw extensions for the web
//! Logs page, which Cloudflare does not have. For every key, the value `null` (any case), an
//! empty value (how the TS SDK's `qs` writes a `null` array item) and JSON `null` mean "no
//! value": `eq null` is *is null*, `neq null` is *is not null*, and null takes no other
//! operator. A request has at most 50 filters and 500 filter values.
//!
//! # Errors
//!
//! Every refusal is an [`InvalidQuery`] carrying a chanfana-style path (`["query","per_page"]`,
//! `["query","filters","0","operator"]`) and a message that names the parameter and the value.

mod json;
mod key;
mod model;
mod parse;
mod split;
mod value;
mod wire;

#[cfg(test)]
mod tests;

pub use key::{FilterKey, ValueKind};
pub use model::{Direction, Filter, FilterValue, LogDeleteQuery, LogQuery, Op, OrderBy};
pub use parse::{parse_delete, parse_list, parse_query_string};

/// `per_page` when the query gives none.
pub const DEFAULT_PER_PAGE: u32 = 20;
/// The largest `per_page`.
pub const MAX_PER_PAGE: u32 = 50;
/// The largest DELETE `limit`, also its default.
pub const MAX_DELETE_LIMIT: u32 = 10_000;
/// The longest `search`, in characters.
pub const MAX_SEARCH_CHARS: usize = 256;
/// The most filters one query may carry (wire filters, not counting deprecated parameters).
pub const MAX_FILTERS: usize = 50;
/// The most filter values one query may carry, over all filters.
pub const MAX_FILTER_VALUES: usize = 500;

/// A query the logs API refuses: HTTP 400, code 7001 "Input Validation Error".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidQuery {
    /// Where the problem is, e.g. `["query","per_page"]` or `["query","filters","0","value"]`;
    /// array indices are decimal strings.
    pub path: Vec<String>,
    /// A sentence naming the parameter and the offending value.
    pub message: String,
}

impl InvalidQuery {
    /// An error about the top-level parameter `name`.
    pub(crate) fn param(name: &str, message: impl Into<String>) -> Self {
        InvalidQuery { path: vec!["query".into(), name.into()], message: message.into() }
    }

    /// An error about field `field` (`key`, `operator`, `value`) of the `index`-th filter.
    pub(crate) fn filter(index: usize, field: &str, message: impl Into<String>) -> Self {
        InvalidQuery {
            path: vec!["query".into(), "filters".into(), index.to_string(), field.into()],
            message: message.into(),
        }
    }

    /// An error about `filters` as a whole, or a sub-path of it given as segments.
    pub(crate) fn filters(rest: &[&str], message: impl Into<String>) -> Self {
        let mut path = vec!["query".to_string(), "filters".to_string()];
        path.extend(rest.iter().map(|s| s.to_string()));
        InvalidQuery { path, message: message.into() }
    }

    /// The path as JSON, with all-digit segments as numbers: `["query","filters",0,"key"]`.
    pub fn path_json(&self) -> serde_json::Value {
        self.path
            .iter()
            .map(|s| match s.parse::<u64>() {
                Ok(n) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => n.into(),
                _ => serde_json::Value::String(s.clone()),
            })
            .collect()
    }
}
