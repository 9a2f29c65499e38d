//! The parsed log query: operators, typed values, filters, ordering and paging.

use super::key::FilterKey;

/// How a filter compares. Only the first five come from the wire (`filters.operator`);
/// [`Op::Ge`] and [`Op::Le`] exist for the deprecated bounds (`min_*`/`max_*`,
/// `start_date`/`end_date`), which are inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Neq,
    /// Case-insensitive substring match, text keys only.
    Contains,
    Lt,
    Gt,
    /// `>=`, from `min_*` and `start_date` only.
    Ge,
    /// `<=`, from `max_*` and `end_date` only.
    Le,
}

impl Op {
    /// The wire name; `ge`/`le` are aigw's names for the internal bounds.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Neq => "neq",
            Op::Contains => "contains",
            Op::Lt => "lt",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Le => "le",
        }
    }

    /// A wire operator: `eq`, `neq`, `contains`, `lt` or `gt`.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "eq" => Some(Op::Eq),
            "neq" => Some(Op::Neq),
            "contains" => Some(Op::Contains),
            "lt" => Some(Op::Lt),
            "gt" => Some(Op::Gt),
            _ => None,
        }
    }
}

/// One typed filter value.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    /// The field is absent (SQL `NULL`). Only with `eq` (is null) and `neq` (is not null).
    Null,
    Bool(bool),
    /// Always finite.
    Number(f64),
    Text(String),
    /// Milliseconds since the Unix epoch, UTC.
    Time(i64),
}

/// One condition: `key op value` for any of `values` (OR). A query's filters are ANDed.
/// For `neq` the OR reads as "differs from any"; stores should apply `neq` as "none of the
/// values" (`NOT IN`), which is what a user means by `model neq [a, b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub key: FilterKey,
    pub op: Op,
    /// Never empty.
    pub values: Vec<FilterValue>,
}

/// The sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderBy {
    #[default]
    CreatedAt,
    Provider,
    Model,
    ModelType,
    Success,
    Cached,
    Cost,
    TokensIn,
    TokensOut,
    Duration,
    Feedback,
}

impl OrderBy {
    pub const ALL: [OrderBy; 11] = [
        OrderBy::CreatedAt,
        OrderBy::Provider,
        OrderBy::Model,
        OrderBy::ModelType,
        OrderBy::Success,
        OrderBy::Cached,
        OrderBy::Cost,
        OrderBy::TokensIn,
        OrderBy::TokensOut,
        OrderBy::Duration,
        OrderBy::Feedback,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderBy::CreatedAt => "created_at",
            OrderBy::Provider => "provider",
            OrderBy::Model => "model",
            OrderBy::ModelType => "model_type",
            OrderBy::Success => "success",
            OrderBy::Cached => "cached",
            OrderBy::Cost => "cost",
            OrderBy::TokensIn => "tokens_in",
            OrderBy::TokensOut => "tokens_out",
            OrderBy::Duration => "duration",
            OrderBy::Feedback => "feedback",
        }
    }

    pub fn from_wire(s: &str) -> Option<Self> {
        OrderBy::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// True for the six columns the list endpoint sorts by; DELETE takes all eleven.
    pub fn on_list(self) -> bool {
        matches!(
            self,
            OrderBy::CreatedAt
                | OrderBy::Provider
                | OrderBy::Model
                | OrderBy::ModelType
                | OrderBy::Success
                | OrderBy::Cached
        )
    }
}

/// Sort direction. The default is [`Direction::Desc`]: newest first, as the dashboard shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    Asc,
    #[default]
    Desc,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        }
    }

    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "asc" => Some(Direction::Asc),
            "desc" => Some(Direction::Desc),
            _ => None,
        }
    }
}

/// `GET .../logs`: which logs, in which order, which page.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    /// ANDed. Wire filters first, in wire order, then the deprecated flat parameters.
    pub filters: Vec<Filter>,
    /// Trimmed, non-empty, at most [`super::MAX_SEARCH_CHARS`] characters.
    pub search: Option<String>,
    pub order_by: OrderBy,
    pub direction: Direction,
    /// 1-based.
    pub page: u32,
    /// 1..=50.
    pub per_page: u32,
    /// When true the response's `result_info` carries the min/max stats.
    pub meta_info: bool,
}

impl Default for LogQuery {
    fn default() -> Self {
        LogQuery {
            filters: Vec::new(),
            search: None,
            order_by: OrderBy::CreatedAt,
            direction: Direction::Desc,
            page: 1,
            per_page: super::DEFAULT_PER_PAGE,
            meta_info: false,
        }
    }
}

impl LogQuery {
    /// Rows to skip: `(page - 1) * per_page`.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }
}

/// `DELETE .../logs`: delete the first `limit` logs matching `filters` in this order.
#[derive(Debug, Clone, PartialEq)]
pub struct LogDeleteQuery {
    pub filters: Vec<Filter>,
    pub order_by: OrderBy,
    pub direction: Direction,
    /// 1..=10000.
    pub limit: u32,
}

impl Default for LogDeleteQuery {
    fn default() -> Self {
        LogDeleteQuery {
            filters: Vec::new(),
            order_by: OrderBy::CreatedAt,
            direction: Direction::Desc,
            limit: super::MAX_DELETE_LIMIT,
        }
    }
}
