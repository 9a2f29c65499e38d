//! Copying the write-ahead log into the database file on a thread of its own.
//!
//! SQLite's default checkpoints run inside the commit that crosses 1,000 WAL pages, on the
//! writer's thread: a fifth of its time at full load goes to copying pages it already wrote.
//! Instead, the writer's commit hook only looks at the WAL's size and signals a [`Checkpointer`]
//! (a connection of its own, on another thread), which copies the pages without blocking the
//! writer or any reader (`PASSIVE`).
//!
//! The WAL file starts over only when a write begins after every page was copied, which a
//! checkpoint running beside a busy writer never sees: the writer has already begun its next
//! batch. So once the WAL reaches [`RESTART_PAGES`], the commit copies the few pages the
//! checkpointer has not reached yet itself, and the next batch starts the WAL over. The WAL
//! stays bounded even if the checkpointer stalls.

use std::path::Path;
use std::sync::mpsc::SyncSender;

use rusqlite::wal::CheckpointMode;
use rusqlite::Connection;

use crate::error::StoreError;

/// WAL pages at which a commit signals the checkpointer (SQLite's own default threshold).
const CHECKPOINT_PAGES: i32 = 1_000;
/// WAL pages (32 MiB) at which the commit finishes the copy itself, so the WAL starts over.
const RESTART_PAGES: i32 = 8_000;

/// A connection that checkpoints the database's WAL when asked.
pub struct Checkpointer {
    conn: Connection,
}

impl Checkpointer {
    /// Opens its own connection to the database at `path` (which must already exist); `None`
    /// when the database is not in WAL mode.
    pub(crate) fn open(path: &Path) -> Result<Option<Self>, StoreError> {
        let conn = Connection::open(path)?;
        // A connection opens the WAL on its first read; before that a checkpoint does nothing.
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        Ok(mode.eq_ignore_ascii_case("wal").then_some(Self { conn }))
    }

    /// Copies every committed page no reader still needs into the database file, waiting for
    /// nobody. Returns the WAL's pages and how many of them are now in the database file.
    pub fn run(&self) -> Result<(i32, i32), StoreError> {
        Ok(self.conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE)?)
    }
}

/// Makes `conn`'s commits signal `nudge` once the WAL holds [`CHECKPOINT_PAGES`] instead of
/// checkpointing themselves, which they do only from [`RESTART_PAGES`].
pub(crate) fn hand_off(conn: &mut Connection, nudge: SyncSender<()>) -> Result<(), StoreError> {
    conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
        if pages >= RESTART_PAGES {
            // Never an error from here: SQLite would report the commit, which happened, as
            // failed. A busy checkpointer just means the next commit tries again.
            let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
        } else if pages >= CHECKPOINT_PAGES {
            // A full channel means a signal is pending already: that checkpoint sees these pages.
            let _ = nudge.try_send(());
        }
        Ok(())
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh WAL database with a table of page-sized rows, its commits handed off.
    fn setup(dir: &tempfile::TempDir) -> (Connection, Checkpointer, std::sync::mpsc::Receiver<()>, std::path::PathBuf) {
        let path = dir.path().join("c.db");
        let mut conn = crate::open_write(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let (nudge, nudged) = std::sync::mpsc::sync_channel(1);
        let checkpointer = Checkpointer::open(&path).unwrap().unwrap();
        hand_off(&mut conn, nudge).unwrap();
        (conn, checkpointer, nudged, path)
    }

    /// Commits `pages` rows of about a page each.
    fn commit(conn: &Connection, pages: usize) {
        let tx = conn.unchecked_transaction().unwrap();
        for _ in 0..pages {
            tx.execute("INSERT INTO t (x) VALUES (randomblob(4000))", []).unwrap();
        }
        tx.commit().unwrap();
    }

    fn wal_pages(path: &Path) -> u64 {
        let wal = std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
        wal / 4096
    }

    #[test]
    fn commits_signal_the_checkpointer_which_copies_every_page() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, checkpointer, nudged, path) = setup(&dir);
        commit(&conn, 300);
        assert!(nudged.try_recv().is_err(), "no signal below {CHECKPOINT_PAGES} pages");
        commit(&conn, 800);
        assert!(nudged.try_recv().is_ok(), "a signal past {CHECKPOINT_PAGES} pages");
        let (pages, copied) = checkpointer.run().unwrap();
        assert!(pages >= CHECKPOINT_PAGES && copied == pages, "{copied} of {pages} copied");
        // Checkpointed between commits, the WAL starts over and stays near the threshold.
        for _ in 0..40 {
            commit(&conn, 100);
            if nudged.try_recv().is_ok() {
                checkpointer.run().unwrap();
            }
        }
        assert!(wal_pages(&path) < (CHECKPOINT_PAGES + 250) as u64, "WAL of {} pages", wal_pages(&path));
        let rows: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 300 + 800 + 40 * 100);
    }

    #[test]
    fn without_the_checkpointer_the_writer_bounds_the_wal_itself() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, _checkpointer, _nudged, path) = setup(&dir);
        for _ in 0..120 {
            commit(&conn, 100);
        }
        // 12,000 pages committed, none copied by the checkpointer.
        assert!(wal_pages(&path) < (RESTART_PAGES + 250) as u64, "WAL of {} pages", wal_pages(&path));
        let rows: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 12_000);
    }
}
