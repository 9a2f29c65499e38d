//! aigw-store: the only code in aigw that knows SQL.
//!
//! SQLite in WAL mode. One writer connection (owned by the writer thread) inserts log records in
//! batches, one transaction per batch; readers use their own read-only connections and never
//! block it.
//!
//! # Layout
//! - [`schema`]: the schema and its migrations (`PRAGMA user_version`).
//! - [`insert`]: batch insert of `LogRecord`s; bodies compressed into their own table.
//! - [`read`]: typed read queries.
//! - `dims`, `rollup`: combinations of low-cardinality columns and their per-hour and all-time
//!   stats, maintained by the writer, which answer counts, stats and page seeks at scale.
//! - `checkpoint`: copying the WAL into the database file off the writer's thread.
//! - [`retention`]: a gateway's `log_management` cap.
//! - `delete`: deleting logs with everything that refers to them.
//! - [`audit`]: the append-only, hash-chained audit trail: `append`, `list`, `verify`.
//! - [`users`], [`sessions`], [`keys`]: dashboard users, their sessions, virtual keys.
//! - [`usage`]: spend and per-day usage per virtual key or Playground user.
//! - [`error`]: the crate's error type.

pub mod audit;
mod checkpoint;
mod codec;
mod delete;
mod dims;
mod error;
pub mod gateways;
mod insert;
pub mod keys;
pub mod logs;
mod matched;
mod open;
mod plan;
mod query;
mod read;
pub mod retention;
mod rollup;
mod schema;
mod search;
pub mod sessions;
pub mod tokens;
pub mod usage;
pub mod users;

pub use checkpoint::Checkpointer;
pub use error::StoreError;
pub use insert::{BatchOutcome, LogInserter};
pub use open::{open_read, open_write};
pub use read::{count_logs, get_log, StoredLog};
