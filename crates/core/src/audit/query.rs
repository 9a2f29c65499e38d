//! The audit list query of `GET /accounts/{account_id}/logs/audit` (seed 004, contract §4.1)
//! and its parser.
//!
//! `since` and `before` are required: a date (`2024-10-30`, midnight UTC) or an RFC 3339
//! instant (a date-time without offset is read as UTC). The window is `since <= time < before`.
//! Every filter has a positive form `name=v` and a negative form `name.not=v`; both repeat, a
//! record must match one of a positive filter's values and none of a negative one's.
//! `product_category` expands to resource products and joins the positive `resource_product`
//! values. `limit` is 1 to 1000 (default 100) and may be written as a float (`25.0`).
//! `direction` is `desc` (default, newest first) or `asc`. `cursor` is the opaque token of a
//! previous page. Unknown parameters are refused, so a misspelt filter never silently matches
//! everything.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::{product_category, ActionResult, ActionType, ActorContext, ActorType, ResourceScope};
use crate::filter::{Direction, InvalidQuery};

/// `limit` when the query gives none.
pub const DEFAULT_LIMIT: u32 = 100;
/// The largest `limit`.
pub const MAX_LIMIT: u32 = 1000;
/// The most filter values one query may carry, over all filters.
pub const MAX_FILTER_VALUES: usize = 500;

/// A field a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditField {
    Id,
    AccountName,
    ActionResult,
    ActionType,
    ActorContext,
    ActorEmail,
    ActorId,
    ActorIpAddress,
    ActorTokenId,
    ActorTokenName,
    ActorType,
    RawCfRayId,
    RawMethod,
    RawStatusCode,
    RawUri,
    ResourceId,
    ResourceProduct,
    ResourceScope,
    ResourceType,
    ZoneId,
    ZoneName,
}

impl AuditField {
    /// The field of a wire name (`audit_log_id` is the deprecated name of `id`; dotted names
    /// such as `action.type` are read as `action_type`).
    pub fn from_wire(name: &str) -> Option<Self> {
        use AuditField::*;
        Some(match name.replace('.', "_").as_str() {
            "id" | "audit_log_id" => Id,
            "account_name" => AccountName,
            "action_result" => ActionResult,
            "action_type" => ActionType,
            "actor_context" => ActorContext,
            "actor_email" => ActorEmail,
            "actor_id" => ActorId,
            "actor_ip_address" => ActorIpAddress,
            "actor_token_id" => ActorTokenId,
            "actor_token_name" => ActorTokenName,
            "actor_type" => ActorType,
            "raw_cf_ray_id" | "raw_cf_rayid" => RawCfRayId,
            "raw_method" => RawMethod,
            "raw_status_code" => RawStatusCode,
            "raw_uri" => RawUri,
            "resource_id" => ResourceId,
            "resource_product" => ResourceProduct,
            "resource_scope" => ResourceScope,
            "resource_type" => ResourceType,
            "zone_id" => ZoneId,
            "zone_name" => ZoneName,
            _ => return None,
        })
    }

    /// The values a field accepts when they are a closed set.
    fn allowed(self) -> Option<&'static [&'static str]> {
        match self {
            AuditField::ActionResult => Some(ActionResult::ALL),
            AuditField::ActionType => Some(ActionType::ALL),
            AuditField::ActorContext => Some(ActorContext::ALL),
            AuditField::ActorType => Some(ActorType::ALL),
            AuditField::ResourceScope => Some(ResourceScope::ALL),
            _ => None,
        }
    }
}

/// One filter value, typed by its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditValue {
    Text(String),
    Int(i64),
}

/// `field IN values` (or `NOT IN` when `negate`); a record without the field passes a negative
/// filter and fails a positive one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    pub field: AuditField,
    pub negate: bool,
    pub values: Vec<AuditValue>,
}

/// A position in the trail: the `(time, seq)` of the last record of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub time_ms: i64,
    pub seq: i64,
    /// The direction of the pages it continues.
    pub direction: Direction,
}

impl AuditCursor {
    /// The opaque token: 34 hex digits (a version, the direction, time and seq).
    pub fn encode(&self) -> String {
        let dir = match self.direction {
            Direction::Asc => 'a',
            Direction::Desc => 'd',
        };
        format!("1{dir}{:016x}{:016x}", self.time_ms as u64, self.seq as u64)
    }

    pub fn decode(token: &str) -> Option<Self> {
        let rest = token.strip_prefix('1')?;
        let direction = match rest.as_bytes().first()? {
            b'a' => Direction::Asc,
            b'd' => Direction::Desc,
            _ => return None,
        };
        let hex = &rest[1..];
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let time_ms = u64::from_str_radix(&hex[..16], 16).ok()? as i64;
        let seq = u64::from_str_radix(&hex[16..], 16).ok()? as i64;
        Some(Self { time_ms, seq, direction })
    }
}

/// A parsed audit list query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Inclusive lower bound, ms since the Unix epoch.
    pub since_ms: i64,
    /// Exclusive upper bound.
    pub before_ms: i64,
    pub direction: Direction,
    pub limit: u32,
    pub cursor: Option<AuditCursor>,
    pub filters: Vec<AuditFilter>,
}

/// Parses the decoded query pairs (in wire order) of the audit list.
pub fn parse_audit_query(pairs: &[(String, String)]) -> Result<AuditQuery, InvalidQuery> {
    let last = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let since_ms = required_time(last("since"), "since")?;
    let before_ms = required_time(last("before"), "before")?;
    if since_ms > before_ms {
        return Err(param("since", "since must not be later than before"));
    }
    let direction = match last("direction") {
        None => Direction::Desc,
        Some(v) => Direction::from_wire(v.trim())
            .ok_or_else(|| param("direction", format!("direction must be asc or desc, got {v:?}")))?,
    };
    let limit = match last("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => parse_limit(v)?,
    };
    let cursor = match last("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            let cursor = AuditCursor::decode(c).ok_or_else(|| param("cursor", "cursor is not a valid cursor"))?;
            if cursor.direction != direction {
                return Err(param("cursor", "cursor belongs to pages in the other direction"));
            }
            Some(cursor)
        }
    };

    let mut filters: Vec<AuditFilter> = Vec::new();
    let mut categories: Vec<&str> = Vec::new();
    let mut total = 0usize;
    for (name, value) in pairs {
        if matches!(name.as_str(), "since" | "before" | "direction" | "limit" | "cursor") {
            continue;
        }
        if name == "product_category" {
            let category = product_category(value)
                .ok_or_else(|| param("product_category", format!("unknown product_category {value:?}")))?;
            categories.extend(category.products.iter().map(|(p, _)| *p));
            continue;
        }
        let (base, negate) = match name.strip_suffix(".not") {
            Some(base) => (base, true),
            None => (name.as_str(), false),
        };
        let field = AuditField::from_wire(base).ok_or_else(|| param(name, format!("unknown parameter {name:?}")))?;
        total += 1;
        if total > MAX_FILTER_VALUES {
            return Err(param(name, format!("at most {MAX_FILTER_VALUES} filter values are allowed")));
        }
        let value = filter_value(field, name, value)?;
        match filters.iter_mut().find(|f| f.field == field && f.negate == negate) {
            Some(f) => f.values.push(value),
            None => filters.push(AuditFilter { field, negate, values: vec![value] }),
        }
    }
    if !categories.is_empty() {
        let products = categories.into_iter().map(|p| AuditValue::Text(p.to_string()));
        match filters.iter_mut().find(|f| f.field == AuditField::ResourceProduct && !f.negate) {
            Some(f) => f.values.extend(products),
            None => filters.push(AuditFilter {
                field: AuditField::ResourceProduct,
                negate: false,
                values: products.collect(),
            }),
        }
    }
    Ok(AuditQuery { since_ms, before_ms, direction, limit, cursor, filters })
}

fn filter_value(field: AuditField, name: &str, value: &str) -> Result<AuditValue, InvalidQuery> {
    if field == AuditField::RawStatusCode {
        return value
            .trim()
            .parse::<i64>()
            .map(AuditValue::Int)
            .map_err(|_| param(name, format!("{name} must be an integer, got {value:?}")));
    }
    if let Some(allowed) = field.allowed() {
        if !allowed.contains(&value) {
            return Err(param(name, format!("{name} must be one of {}, got {value:?}", allowed.join(", "))));
        }
    }
    if field == AuditField::RawMethod {
        return Ok(AuditValue::Text(value.trim().to_ascii_uppercase()));
    }
    Ok(AuditValue::Text(value.to_string()))
}

fn parse_limit(v: &str) -> Result<u32, InvalidQuery> {
    let t = v.trim();
    let ok = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    match t.parse::<f64>() {
        Ok(f) if ok && f.fract() == 0.0 && (1.0..=f64::from(MAX_LIMIT)).contains(&f) => Ok(f as u32),
        _ => Err(param("limit", format!("limit must be an integer from 1 to {MAX_LIMIT}, got {v:?}"))),
    }
}

fn required_time(v: Option<&str>, name: &str) -> Result<i64, InvalidQuery> {
    let v = v.ok_or_else(|| param(name, format!("{name} is required (a date like 2024-10-30 or an RFC 3339 time)")))?;
    parse_time(v)
        .ok_or_else(|| param(name, format!("{name} must be a date like 2024-10-30 or an RFC 3339 time, got {v:?}")))
}

/// A date or an RFC 3339 instant as ms since the Unix epoch. An unencoded `+` in an offset
/// arrives as a space (`...00:00:00 01:00`) and is read as the `+` it was.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    parse_time_exact(s).or_else(|| {
        let at = s.rfind(' ')?;
        parse_time_exact(&format!("{}+{}", &s[..at], &s[at + 1..]))
    })
}

fn parse_time_exact(s: &str) -> Option<i64> {
    let at = if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        t
    } else if let Ok(t) = PrimitiveDateTime::parse(
        s,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"),
    ) {
        t.assume_utc()
    } else if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        d.midnight().assume_utc()
    } else {
        return None;
    };
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

fn param(name: &str, message: impl Into<String>) -> InvalidQuery {
    InvalidQuery { path: vec!["query".into(), name.into()], message: message.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<AuditQuery, InvalidQuery> {
        parse_audit_query(&crate::filter::parse_query_string(s))
    }

    #[test]
    fn since_and_before_are_required_and_parsed() {
        assert_eq!(q("before=2024-01-02").map_err(|e| e.path), Err(vec!["query".into(), "since".into()]));
        assert_eq!(q("since=2024-01-01").map_err(|e| e.path), Err(vec!["query".into(), "before".into()]));
        assert!(q("since=yesterday&before=2024-01-02").is_err());
        let ok = q("since=2024-01-01&before=2024-01-02T00:00:00%2B01:00").unwrap();
        assert_eq!(ok.since_ms, 1_704_067_200_000);
        assert_eq!(ok.before_ms, 1_704_067_200_000 + 23 * 3_600_000);
        assert_eq!((ok.limit, ok.direction, ok.cursor), (DEFAULT_LIMIT, Direction::Desc, None));
        assert!(q("since=2024-01-02&before=2024-01-01").is_err());
    }

    #[test]
    fn limit_accepts_integral_floats_only() {
        let base = "since=2024-01-01&before=2024-01-02";
        assert_eq!(q(&format!("{base}&limit=25.0")).unwrap().limit, 25);
        assert_eq!(q(&format!("{base}&limit=1000")).unwrap().limit, 1000);
        for bad in ["0", "1001", "2.5", "abc", "-1", "inf", ""] {
            assert!(q(&format!("{base}&limit={bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_collect_their_values_by_form() {
        let r = q("since=2024-01-01&before=2024-01-02&account_name.not=x&account_name.not=y&action_type=create\
                   &raw_status_code.not=404&raw_cf_ray_id.not=r1&raw_method=post&audit_log_id.not=a")
        .unwrap();
        let find = |field, negate| r.filters.iter().find(|f| f.field == field && f.negate == negate).cloned();
        assert_eq!(
            find(AuditField::AccountName, true).unwrap().values,
            vec![AuditValue::Text("x".into()), AuditValue::Text("y".into())]
        );
        assert_eq!(find(AuditField::ActionType, false).unwrap().values, vec![AuditValue::Text("create".into())]);
        assert_eq!(find(AuditField::RawStatusCode, true).unwrap().values, vec![AuditValue::Int(404)]);
        assert_eq!(find(AuditField::RawMethod, false).unwrap().values, vec![AuditValue::Text("POST".into())]);
        assert!(find(AuditField::Id, true).is_some());
        assert!(find(AuditField::RawCfRayId, true).is_some());
    }

    #[test]
    fn bad_filters_are_refused() {
        let base = "since=2024-01-01&before=2024-01-02";
        for bad in
            ["action_type=explode", "raw_status_code=abc", "actor_emial=x", "product_category=dns", "direction=up"]
        {
            assert!(q(&format!("{base}&{bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn product_category_joins_resource_product() {
        let r = q("since=2024-01-01&before=2024-01-02&resource_product=x&product_category=AI_GATEWAY").unwrap();
        assert_eq!(r.filters.len(), 1);
        assert_eq!(r.filters[0].values, vec![AuditValue::Text("x".into()), AuditValue::Text("ai_gateway".into())]);
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = AuditCursor { time_ms: 1_700_000_000_000, seq: 42, direction: Direction::Asc };
        assert_eq!(AuditCursor::decode(&c.encode()), Some(c));
        assert_eq!(AuditCursor::decode("garbage"), None);
        let desc = AuditCursor { direction: Direction::Desc, ..c }.encode();
        assert!(q(&format!("since=2024-01-01&before=2024-01-02&direction=asc&cursor={desc}")).is_err());
        assert!(q(&format!("since=2024-01-01&before=2024-01-02&cursor={desc}")).is_ok());
    }
}
