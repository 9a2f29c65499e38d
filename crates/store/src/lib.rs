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
//! - [`error`]: the crate's error type.

mod codec;
mod error;
pub mod gateways;
mod insert;
pub mod logs;
mod open;
mod query;
mod read;
mod schema;
pub mod tokens;

pub use error::StoreError;
pub use insert::{BatchOutcome, LogInserter};
pub use open::{open_read, open_write};
pub use read::{count_logs, get_log, StoredLog};
