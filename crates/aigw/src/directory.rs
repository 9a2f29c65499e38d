//! The data plane's virtual keys: loaded from the database into the proxy's in-memory
//! `KeyIndex` at start (with what each key has spent, recounted from the logs), reloaded when the
//! admin API changes keys or users, and when another process (the `aigw keys` command) does:
//! a watcher reads the directory version every [`WATCH_INTERVAL`] and reloads when it moved.

use std::sync::Arc;
use std::time::Duration;

use aigw_admin::Db;
use aigw_core::Clock;
use aigw_proxy::KeyIndex;
use tokio::sync::watch;

/// How often the watcher looks for changes made by other processes.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Loads every key and its spend in the current periods (before the proxy serves).
pub async fn load(db: &Db, keys: &KeyIndex, clock: &Arc<dyn Clock>) -> anyhow::Result<i64> {
    let now = clock.now_ms();
    let (all, spend, version) = db
        .read(move |c| {
            let all = aigw_store::keys::all_keys(c)?;
            let spend = aigw_store::usage::all_key_spend(c, now)?;
            Ok((all, spend, aigw_store::users::directory_version(c)?))
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the virtual keys: {}", e.message))?;
    let count = all.len();
    keys.replace(all, now);
    keys.seed_spend(&spend, now);
    tracing::info!(keys = count, "virtual keys loaded");
    Ok(version)
}

/// Reloads the keys (their live state is kept); returns the directory version read with them.
pub async fn reload(db: &Db, keys: &KeyIndex, clock: &Arc<dyn Clock>) -> Option<i64> {
    let result = db.read(|c| Ok((aigw_store::keys::all_keys(c)?, aigw_store::users::directory_version(c)?))).await;
    match result {
        Ok((all, version)) => {
            keys.replace(all, clock.now_ms());
            Some(version)
        }
        Err(e) => {
            tracing::warn!(error = %e.message, "cannot reload the virtual keys; keeping the ones loaded");
            None
        }
    }
}

/// Reloads the keys whenever the directory version moves, until `stop` turns true.
pub async fn watch(db: Db, keys: KeyIndex, clock: Arc<dyn Clock>, mut version: i64, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let current = db.read(|c| Ok(aigw_store::users::directory_version(c)?)).await;
        match current {
            Ok(v) if v != version => {
                if let Some(loaded) = reload(&db, &keys, &clock).await {
                    tracing::info!(keys = keys.len(), "virtual keys reloaded");
                    version = loaded;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.message, "cannot read the directory version"),
        }
    }
}
