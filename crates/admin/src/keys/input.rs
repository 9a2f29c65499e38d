//! The body of a key's create (POST) or update (PATCH):
//!
//! ```json
//! {"name": "ci", "owner_id": "...", "owner_email": "...", "expires_at": "2026-01-01T00:00:00Z",
//!  "gateways": ["prod"], "providers": ["openai"], "models": ["gpt-4o-mini", "anthropic/claude-*"],
//!  "rate_limit": {"requests_per_minute": 60, "tokens_per_minute": 100000},
//!  "budget": {"usd": 10, "period": "month"}}
//! ```
//!
//! Every field is optional but `name` on create. On update, a field given replaces the stored
//! one (`rate_limit` as a whole: a limit it leaves out is lifted); `null` clears `expires_at`,
//! `rate_limit` and `budget`. Unknown fields are refused.

use aigw_core::keys::{Budget, KeyOwner, RateLimit, VirtualKey, MAX_NAME_CHARS};
use aigw_core::period::BudgetPeriod;
use serde_json::{Map, Value};

use super::Reach;
use crate::auth::Caller;
use crate::body::{at, email, object, string};
use crate::envelope::ApiError;
use crate::AdminState;

const FIELDS: &[&str] =
    &["name", "owner_id", "owner_email", "expires_at", "gateways", "providers", "models", "rate_limit", "budget"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Create,
    Update,
}

/// A parsed body: `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub mode: Mode,
    /// The body as sent, for the audit trail.
    pub request: Value,
    name: Option<String>,
    owner_id: Option<String>,
    owner_email: Option<String>,
    expires_at: Option<Option<i64>>,
    gateways: Option<Vec<String>>,
    providers: Option<Vec<String>>,
    models: Option<Vec<String>>,
    rate_limit: Option<RateLimit>,
    budget: Option<Option<Budget>>,
}

pub(crate) fn parse(body: &[u8], mode: Mode, now_ms: i64) -> Result<Parsed, ApiError> {
    let o = object(body, FIELDS)?;
    let name = string(&o, "name", MAX_NAME_CHARS)?;
    if mode == Mode::Create && name.is_none() {
        return Err(ApiError::invalid(at(&["name"]), "name is required"));
    }
    Ok(Parsed {
        mode,
        request: Value::Object(o.clone()),
        name,
        owner_id: string(&o, "owner_id", 64)?,
        owner_email: email(&o, "owner_email")?,
        expires_at: expires_at(&o, now_ms)?,
        gateways: list(&o, "gateways")?,
        providers: list(&o, "providers")?,
        models: list(&o, "models")?,
        rate_limit: rate_limit(&o)?,
        budget: budget(&o)?,
    })
}

impl Parsed {
    /// Sets the given fields on `key` and checks the result.
    pub(crate) fn apply(&self, key: &mut VirtualKey) -> Result<(), ApiError> {
        if let Some(n) = &self.name {
            key.name.clone_from(n);
        }
        if let Some(e) = self.expires_at {
            key.expires_at_ms = e;
        }
        let l = &mut key.limits;
        if let Some(g) = &self.gateways {
            l.gateways.clone_from(g);
        }
        if let Some(p) = &self.providers {
            l.providers.clone_from(p);
        }
        if let Some(m) = &self.models {
            l.models.clone_from(m);
        }
        if let Some(r) = self.rate_limit {
            l.rate_limit = r;
        }
        if let Some(b) = self.budget {
            l.budget = b;
        }
        l.validate().map_err(|message| {
            let field = message.split([' ', '.']).next().unwrap_or("body").to_string();
            ApiError::invalid(at(&[&field]), message)
        })
    }
}

/// The owner the body names (or, on create, the caller when it is a user), checked against
/// the caller's reach: a member may only name themself.
pub(crate) async fn owner(
    state: &AdminState,
    account: &str,
    caller: &Caller,
    reach: &Reach,
    parsed: &Parsed,
) -> Result<Option<KeyOwner>, ApiError> {
    let named = parsed.owner_id.is_some() || parsed.owner_email.is_some();
    if let Reach::Own(me) = reach {
        let user = caller.user.as_ref().ok_or_else(ApiError::forbidden)?;
        let other_id = parsed.owner_id.as_ref().is_some_and(|id| id != me);
        let other_email = parsed.owner_email.as_ref().is_some_and(|e| !e.eq_ignore_ascii_case(&user.email));
        if other_id || other_email {
            return Err(ApiError::forbidden());
        }
        let me = KeyOwner { id: user.id.clone(), email: user.email.clone(), name: user.name.clone() };
        return Ok((parsed.mode == Mode::Create || named).then_some(me));
    }
    if !named {
        return Ok(match (&caller.user, parsed.mode) {
            (Some(u), Mode::Create) => {
                Some(KeyOwner { id: u.id.clone(), email: u.email.clone(), name: u.name.clone() })
            }
            _ => None,
        });
    }
    let (account, id, email) = (account.to_string(), parsed.owner_id.clone(), parsed.owner_email.clone());
    let found = state
        .db
        .read(move |c| {
            let found = match (&id, &email) {
                (Some(id), _) => aigw_store::users::get_user(c, &account, id)?,
                (None, Some(email)) => aigw_store::users::find_by_email(c, &account, email)?,
                (None, None) => None,
            };
            Ok(found.filter(|u| email.as_ref().is_none_or(|e| u.email.eq_ignore_ascii_case(e))))
        })
        .await?;
    let field = if parsed.owner_id.is_some() { "owner_id" } else { "owner_email" };
    let user =
        found.ok_or_else(|| ApiError::invalid(at(&[field]), format!("{field} names no user of this account")))?;
    Ok(Some(KeyOwner { id: user.id, email: user.email, name: user.name }))
}

fn expires_at(o: &Map<String, Value>, now_ms: i64) -> Result<Option<Option<i64>>, ApiError> {
    match o.get("expires_at") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => {
            let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).map_err(
                |_| {
                    ApiError::invalid(
                        at(&["expires_at"]),
                        "expires_at must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z",
                    )
                },
            )?;
            let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| ApiError::invalid(at(&["expires_at"]), "expires_at is out of range"))?;
            if ms <= now_ms {
                return Err(ApiError::invalid(at(&["expires_at"]), "expires_at must be in the future"));
            }
            Ok(Some(Some(ms)))
        }
        Some(_) => Err(ApiError::invalid(at(&["expires_at"]), "expires_at must be an RFC 3339 time or null")),
    }
}

fn list(o: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    let bad = || ApiError::invalid(at(&[field]), format!("{field} must be an array of strings (empty for all)"));
    match o.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(Vec::new())),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let s = item.as_str().ok_or_else(bad)?.trim().to_string();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            Ok(Some(out))
        }
        Some(_) => Err(bad()),
    }
}

/// A positive integer member of `o`, `None` when absent or null.
fn positive(o: &Map<String, Value>, path: &[&str]) -> Result<Option<u64>, ApiError> {
    let field = path.last().copied().unwrap_or_default();
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            match v.as_u64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 1.0).map(|f| f as u64)) {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(ApiError::invalid(at(path), format!("{} must be a positive integer or null", path.join(".")))),
            }
        }
    }
}

fn rate_limit(o: &Map<String, Value>) -> Result<Option<RateLimit>, ApiError> {
    match o.get("rate_limit") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(RateLimit::default())),
        Some(Value::Object(r)) => {
            if let Some(unknown) = r.keys().find(|k| !matches!(k.as_str(), "requests_per_minute" | "tokens_per_minute"))
            {
                return Err(ApiError::invalid(
                    at(&["rate_limit", unknown]),
                    format!("unknown field rate_limit.{unknown}"),
                ));
            }
            let rpm = positive(r, &["rate_limit", "requests_per_minute"])?;
            let requests_per_minute = rpm.map(u32::try_from).transpose().map_err(|_| {
                ApiError::invalid(
                    at(&["rate_limit", "requests_per_minute"]),
                    "rate_limit.requests_per_minute is too large",
                )
            })?;
            Ok(Some(RateLimit {
                requests_per_minute,
                tokens_per_minute: positive(r, &["rate_limit", "tokens_per_minute"])?,
            }))
        }
        Some(_) => Err(ApiError::invalid(at(&["rate_limit"]), "rate_limit must be an object or null")),
    }
}

fn budget(o: &Map<String, Value>) -> Result<Option<Option<Budget>>, ApiError> {
    match o.get("budget") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Object(b)) => {
            if let Some(unknown) = b.keys().find(|k| !matches!(k.as_str(), "usd" | "period")) {
                return Err(ApiError::invalid(at(&["budget", unknown]), format!("unknown field budget.{unknown}")));
            }
            let usd = b.get("usd").and_then(Value::as_f64).ok_or_else(|| {
                ApiError::invalid(at(&["budget", "usd"]), "budget.usd must be a number of US dollars")
            })?;
            let period = match b.get("period") {
                None | Some(Value::Null) => BudgetPeriod::Month,
                Some(p) => p.as_str().and_then(BudgetPeriod::parse).ok_or_else(|| {
                    ApiError::invalid(
                        at(&["budget", "period"]),
                        format!("budget.period must be {}", BudgetPeriod::NAMES),
                    )
                })?,
            };
            Ok(Some(Some(Budget { usd, period })))
        }
        Some(_) => Err(ApiError::invalid(at(&["budget"]), "budget must be an object {usd, period} or null")),
    }
}
