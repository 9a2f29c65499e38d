//! aigw-core: the domain types every other crate of aigw shares.
//!
//! Nothing here does I/O. The proxy builds [`LogRecord`]s and hands them to a [`LogSink`]; the
//! writer implements the sink and the store persists the records; the admin API reads them back.
//!
//! # Layout
//! - [`audit`]: `AuditRecord`, one entry of the audit trail, its list query and redaction.
//! - [`record`]: `LogRecord`, the capture of one proxied exchange, and its parts.
//! - [`usage`]: token usage as the provider reported it, and where it came from.
//! - [`pricing`]: the price table and the cost of a usage.
//! - [`sink`]: the `LogSink` trait between the data plane and the write path.
//! - [`filter`]: the log query (filters, search, order, paging) and its query-string parser.
//! - [`config`]: the TOML configuration and its environment overrides.
//! - [`clock`]: wall-clock time behind a trait, so tests can fix it.
//! - [`ids`]: ULID log ids.
//! - [`keys`]: virtual keys: their format, hash, allow-lists and limits.
//! - [`period`]: budget periods and their UTC boundaries.

pub mod audit;
pub mod clock;
pub mod config;
pub mod filter;
pub mod gateway;
pub mod ids;
pub mod keys;
pub mod period;
pub mod pricing;
pub mod record;
pub mod sink;
pub mod usage;

pub use audit::AuditRecord;
pub use clock::{Clock, FixedClock, SystemClock};
pub use config::{Config, ConfigError};
pub use filter::{InvalidQuery, LogDeleteQuery, LogQuery};
pub use pricing::{CustomCost, ModelPrice, PriceTable};
pub use record::{LogRecord, Payload, Source, SourceKind};
pub use sink::{LogSink, NullSink, SinkError};
pub use usage::{Usage, UsageSource};
