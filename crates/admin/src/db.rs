//! Database access for the admin API: read-only connections for reads (they never block the
//! log writer), one write connection for the few admin writes, all run off the async workers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::envelope::ApiError;

/// Read connections kept for reuse.
const READ_POOL: usize = 4;

#[derive(Clone)]
pub struct Db(Arc<Inner>);

struct Inner {
    path: PathBuf,
    write: Mutex<Connection>,
    reads: Mutex<Vec<Connection>>,
}

impl Db {
    /// Opens the write connection (migrating the schema) for `path`.
    pub fn open(path: &Path) -> Result<Self, aigw_store::StoreError> {
        let write = aigw_store::open_write(path)?;
        Ok(Self(Arc::new(Inner { path: path.to_path_buf(), write: Mutex::new(write), reads: Mutex::new(Vec::new()) })))
    }

    /// Runs `f` on a read-only connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let inner = self.0.clone();
        run_blocking(move || {
            let pooled = inner.reads.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let conn = match pooled {
                Some(c) => c,
                None => aigw_store::open_read(&inner.path)?,
            };
            let result = f(&conn);
            let mut reads = inner.reads.lock().unwrap_or_else(|e| e.into_inner());
            if reads.len() < READ_POOL {
                reads.push(conn);
            }
            result
        })
        .await
    }

    /// Runs `f` on the write connection on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let inner = self.0.clone();
        run_blocking(move || {
            let mut conn = inner.write.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)?
}
