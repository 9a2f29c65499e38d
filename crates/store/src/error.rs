//! The store's one error type.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir { path: String, source: std::io::Error },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema version {found} is newer than this aigw understands ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("cannot compress or decompress a body: {0}")]
    Codec(std::io::Error),
    #[error("{0}")]
    Conflict(String),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// SQLite did something the store relies on it not doing (see where it is raised).
    #[error("unexpected database behaviour: {0}")]
    Invariant(String),
}

impl StoreError {
    /// A uniqueness violation becomes `Conflict(message)`; anything else stays itself.
    pub(crate) fn from_constraint(e: rusqlite::Error, message: String) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::Conflict(message)
            }
            _ => StoreError::Sqlite(e),
        }
    }
}
