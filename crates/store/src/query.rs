//! The one query builder: a log filter model in, parameterised SQL out. Nothing the client sent
//! is ever spliced into SQL text; columns come from a fixed table, values are parameters.

use aigw_core::filter::{Direction, Filter, FilterKey, FilterValue, Op, OrderBy};
use rusqlite::types::Value as SqlValue;

use crate::gateways::escape_like;

/// A WHERE clause under construction, with its parameters.
#[derive(Debug, Default, Clone)]
pub(crate) struct Where {
    pub(crate) sql: String,
    pub(crate) params: Vec<SqlValue>,
}

impl Where {
    /// Every log of one gateway.
    pub(crate) fn gateway(account: &str, gateway: &str) -> Self {
        let mut w = Where::default();
        w.sql.push_str("l.account_id = ? AND l.gateway_id = ?");
        w.params.push(SqlValue::Text(account.to_string()));
        w.params.push(SqlValue::Text(gateway.to_string()));
        w
    }

    fn and(&mut self, clause: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
    }

    fn param(&mut self, v: SqlValue) -> &'static str {
        self.params.push(v);
        "?"
    }

    /// ANDs one filter: `eq` is IN, `neq` is NOT IN (nulls included), `contains` is a
    /// case-insensitive substring, `lt`/`gt`/`ge`/`le` compare with any of the values (OR).
    pub(crate) fn filter(&mut self, f: &Filter) {
        match f.key {
            FilterKey::MetadataKey | FilterKey::MetadataValue => return self.metadata(f),
            FilterKey::Wholesale | FilterKey::DlpAction | FilterKey::PromptId | FilterKey::PromptVersionId => {
                // aigw has no such thing: every log has them null/false.
                let matches_null = f.values.iter().any(|v| matches!(v, FilterValue::Null | FilterValue::Bool(false)));
                let holds = match f.op {
                    Op::Eq => matches_null,
                    Op::Neq => !matches_null,
                    _ => false,
                };
                return self.and(if holds { "1" } else { "0" });
            }
            _ => {}
        }
        let column = column(f.key);
        let non_null: Vec<SqlValue> = f.values.iter().filter_map(sql_value).collect();
        let has_null = f.values.iter().any(|v| matches!(v, FilterValue::Null));
        let clause = match f.op {
            Op::Eq => {
                let mut parts = Vec::new();
                if !non_null.is_empty() {
                    parts.push(format!("{column} IN ({})", self.list(non_null)));
                }
                if has_null {
                    parts.push(format!("{column} IS NULL"));
                }
                format!("({})", parts.join(" OR "))
            }
            Op::Neq => {
                let mut parts = Vec::new();
                if !non_null.is_empty() {
                    let list = self.list(non_null);
                    parts.push(if has_null {
                        format!("{column} NOT IN ({list})")
                    } else {
                        format!("({column} IS NULL OR {column} NOT IN ({list}))")
                    });
                }
                if has_null {
                    parts.push(format!("{column} IS NOT NULL"));
                }
                format!("({})", parts.join(" AND "))
            }
            Op::Contains => {
                let parts: Vec<String> = non_null
                    .into_iter()
                    .map(|v| {
                        let text = match v {
                            SqlValue::Text(t) => t,
                            other => format!("{other:?}"),
                        };
                        let p = self.param(contains_pattern(&text));
                        format!("{FOLD}({column}) LIKE {p} ESCAPE '\\'")
                    })
                    .collect();
                format!("({})", if parts.is_empty() { "0".to_string() } else { parts.join(" OR ") })
            }
            Op::Lt | Op::Gt | Op::Ge | Op::Le => {
                let sign = match f.op {
                    Op::Lt => "<",
                    Op::Gt => ">",
                    Op::Ge => ">=",
                    _ => "<=",
                };
                let parts: Vec<String> =
                    non_null.into_iter().map(|v| format!("{column} {sign} {}", self.param(v))).collect();
                format!("({})", if parts.is_empty() { "0".to_string() } else { parts.join(" OR ") })
            }
        };
        self.and(&clause);
    }

    fn list(&mut self, values: Vec<SqlValue>) -> String {
        let n = values.len();
        self.params.extend(values);
        vec!["?"; n].join(", ")
    }

    /// `metadata.key` / `metadata.value` over the metadata object's entries.
    fn metadata(&mut self, f: &Filter) {
        // json_each gives booleans as 1/0; compare them by their JSON spelling.
        let field = if f.key == FilterKey::MetadataKey {
            "m.key"
        } else {
            "(CASE m.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(m.value AS TEXT) END)"
        };
        let mut parts = Vec::new();
        for v in &f.values {
            let text = match v {
                FilterValue::Text(t) => t.clone(),
                FilterValue::Number(n) => format_number(*n),
                FilterValue::Bool(b) => b.to_string(),
                FilterValue::Time(t) => t.to_string(),
                FilterValue::Null => continue,
            };
            let cond = match f.op {
                Op::Contains => format!("{FOLD}({field}) LIKE {} ESCAPE '\\'", self.param(contains_pattern(&text))),
                _ => format!("{field} = {}", self.param(SqlValue::Text(text))),
            };
            parts.push(cond);
        }
        let any = if parts.is_empty() { "0".to_string() } else { parts.join(" OR ") };
        let exists = format!("EXISTS (SELECT 1 FROM json_each(l.metadata) m WHERE {any})");
        match f.op {
            Op::Neq => self.and(&format!("NOT {exists}")),
            _ => self.and(&exists),
        }
    }

    /// The part of [`Where::search`] over the columns `log_dims` holds too.
    pub(crate) fn search_dims(&mut self, term: &str) {
        let pattern = contains_pattern(term);
        let mut parts = Vec::new();
        for column in SEARCH_DIMS_COLUMNS {
            let p = self.param(pattern.clone());
            parts.push(format!("{FOLD}({column}) LIKE {p} ESCAPE '\\'"));
        }
        self.and(&format!("({})", parts.join(" OR ")));
    }

    /// Free-text search: a case-insensitive substring of the endpoint, model, provider, sender
    /// name or metadata, or the exact log id.
    pub(crate) fn search(&mut self, term: &str) {
        let pattern = contains_pattern(term);
        let mut parts = Vec::new();
        for column in SEARCH_DIMS_COLUMNS.iter().chain(["l.metadata"].iter()) {
            let p = self.param(pattern.clone());
            parts.push(format!("{FOLD}({column}) LIKE {p} ESCAPE '\\'"));
        }
        let p = self.param(SqlValue::Text(term.to_string()));
        parts.push(format!("l.id = {p}"));
        self.and(&format!("({})", parts.join(" OR ")));
    }
}

/// What a search looks in, besides the metadata and the id.
const SEARCH_DIMS_COLUMNS: [&str; 4] = ["l.path", "l.model", "l.provider", "l.source_name"];

/// The SQL function that folds text to lower case, Unicode-wide (SQLite's LIKE folds ASCII only).
pub(crate) const FOLD: &str = "aigw_fold";

/// The LIKE pattern of a case-insensitive substring: folded, wildcards escaped.
fn contains_pattern(term: &str) -> SqlValue {
    SqlValue::Text(format!("%{}%", escape_like(&term.to_lowercase())))
}

/// The SQL expression of a filter key.
fn column(key: FilterKey) -> &'static str {
    match key {
        FilterKey::Id => "l.id",
        FilterKey::CreatedAt => "l.created_at",
        FilterKey::RequestContentType => "l.request_content_type",
        FilterKey::ResponseContentType => "l.response_content_type",
        FilterKey::RequestType => "l.request_type",
        FilterKey::Success => "l.success",
        FilterKey::Cached => "l.cached",
        FilterKey::Provider => "l.provider",
        FilterKey::Model => "l.model",
        FilterKey::ModelType => "l.model_type",
        FilterKey::Cost => "l.cost",
        FilterKey::Tokens => "(coalesce(l.tokens_in, 0) + coalesce(l.tokens_out, 0))",
        FilterKey::TokensIn => "l.tokens_in",
        FilterKey::TokensOut => "l.tokens_out",
        FilterKey::Duration => "l.duration",
        FilterKey::Feedback => "l.feedback",
        FilterKey::EventId => "l.event_id",
        FilterKey::UserAgent => "l.user_agent",
        FilterKey::StatusCode => "l.status_code",
        FilterKey::SourceKind => "l.source_kind",
        FilterKey::SourceName => "l.source_name",
        FilterKey::UserName => "(CASE WHEN l.source_kind = 'playground' THEN l.source_name END)",
        FilterKey::VirtualKeyName => "(CASE WHEN l.source_kind = 'virtual_key' THEN l.source_name END)",
        FilterKey::VirtualKeyId => "(CASE WHEN l.source_kind = 'virtual_key' THEN l.source_id END)",
        FilterKey::Path => "l.path",
        FilterKey::Score => "l.score",
        FilterKey::Authentication => "(l.source_kind <> 'direct')",
        FilterKey::CompatibilityMode => "(l.request_type = 'compat')",
        // Handled before `column` is asked.
        FilterKey::MetadataKey
        | FilterKey::MetadataValue
        | FilterKey::Wholesale
        | FilterKey::DlpAction
        | FilterKey::PromptId
        | FilterKey::PromptVersionId => "NULL",
    }
}

fn sql_value(v: &FilterValue) -> Option<SqlValue> {
    Some(match v {
        FilterValue::Null => return None,
        FilterValue::Bool(b) => SqlValue::Integer(i64::from(*b)),
        FilterValue::Number(n) => SqlValue::Real(*n),
        FilterValue::Text(t) => SqlValue::Text(t.clone()),
        FilterValue::Time(ms) => SqlValue::Integer(*ms),
    })
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// `ORDER BY` for a sort column and direction; ties break on time, then insertion order.
pub(crate) fn order_by(order: OrderBy, direction: Direction) -> String {
    let dir = match direction {
        Direction::Asc => "ASC",
        Direction::Desc => "DESC",
    };
    let col = match order {
        OrderBy::CreatedAt => return format!("l.created_at {dir}, l.seq {dir}"),
        OrderBy::Provider => "l.provider",
        OrderBy::Model => "l.model",
        OrderBy::ModelType => "l.model_type",
        OrderBy::Success => "l.success",
        OrderBy::Cached => "l.cached",
        OrderBy::Cost => "l.cost",
        OrderBy::TokensIn => "l.tokens_in",
        OrderBy::TokensOut => "l.tokens_out",
        OrderBy::Duration => "l.duration",
        OrderBy::Feedback => "l.feedback",
    };
    format!("{col} {dir}, l.created_at {dir}, l.seq {dir}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(filters: &[Filter]) -> Where {
        let mut w = Where::gateway("a", "g");
        for f in filters {
            w.filter(f);
        }
        w
    }

    #[test]
    fn values_are_parameters_never_sql() {
        let w = build(&[Filter {
            key: FilterKey::Model,
            op: Op::Eq,
            values: vec![FilterValue::Text("x' OR 1=1 --".into())],
        }]);
        assert_eq!(w.sql, "l.account_id = ? AND l.gateway_id = ? AND (l.model IN (?))");
        assert_eq!(w.params[2], SqlValue::Text("x' OR 1=1 --".into()));
    }

    #[test]
    fn operators_compile_as_documented() {
        let w = build(&[
            Filter { key: FilterKey::Provider, op: Op::Neq, values: vec![FilterValue::Text("openai".into())] },
            Filter { key: FilterKey::Cost, op: Op::Gt, values: vec![FilterValue::Number(0.5)] },
            Filter { key: FilterKey::Model, op: Op::Contains, values: vec![FilterValue::Text("4o_".into())] },
            Filter { key: FilterKey::EventId, op: Op::Eq, values: vec![FilterValue::Null] },
        ]);
        assert!(w.sql.contains("(l.provider IS NULL OR l.provider NOT IN (?))"), "{}", w.sql);
        assert!(w.sql.contains("(l.cost > ?)"));
        assert!(w.sql.contains("(aigw_fold(l.model) LIKE ? ESCAPE '\\')"));
        assert!(w.sql.contains("(l.event_id IS NULL)"));
        assert_eq!(w.params[4], SqlValue::Text("%4o\\_%".into()), "LIKE wildcards in values are escaped");
    }

    #[test]
    fn metadata_filters_look_inside_the_object() {
        let w =
            build(&[Filter { key: FilterKey::MetadataValue, op: Op::Eq, values: vec![FilterValue::Number(12345.0)] }]);
        assert!(
            w.sql.contains(
                "EXISTS (SELECT 1 FROM json_each(l.metadata) m WHERE (CASE m.type WHEN 'true' THEN 'true' \
                 WHEN 'false' THEN 'false' ELSE CAST(m.value AS TEXT) END) = ?)"
            ),
            "{}",
            w.sql
        );
        assert_eq!(w.params[2], SqlValue::Text("12345".into()));
    }
}
