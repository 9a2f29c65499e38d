//! `KeyIndex`: every virtual key, in memory, by id, with the live state of its limits. The data
//! plane looks keys up here and never in the database; the binary loads it at start and
//! replaces its contents when keys change. A key's live state (rate buckets, spend) survives
//! such reloads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use aigw_core::keys::{KeySpend, VirtualKey};
use aigw_core::period::BudgetPeriod;

use crate::limits::KeyState;

/// A key and its live state.
#[derive(Clone)]
pub(crate) struct Entry {
    pub key: Arc<VirtualKey>,
    pub state: Arc<Mutex<KeyState>>,
}

/// Every virtual key by id. Cheap to clone; lookups share a read lock and never wait on each
/// other.
#[derive(Clone, Default)]
pub struct KeyIndex(Arc<RwLock<HashMap<String, Entry>>>);

impl std::fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyIndex({} keys)", self.len())
    }
}

/// What the data plane knows of a key right now.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyLive {
    /// USD spent in the current `period` (finished requests).
    pub spent_usd: f64,
    pub period: BudgetPeriod,
    /// When the key was last presented.
    pub last_used_ms: Option<i64>,
}

impl KeyIndex {
    /// Replaces the keys with `keys`. Keys that stay keep their live state; new keys start with
    /// none spent (`now_ms` starts their periods).
    pub fn replace(&self, keys: Vec<VirtualKey>, now_ms: i64) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        let mut next = HashMap::with_capacity(keys.len());
        for key in keys {
            let state = match map.remove(&key.id) {
                Some(old) => old.state,
                None => Arc::new(Mutex::new(KeyState::new(now_ms))),
            };
            next.insert(key.id.clone(), Entry { key: Arc::new(key), state });
        }
        *map = next;
    }

    /// Sets what each key has spent (from the store, at start).
    pub fn seed_spend(&self, spend: &[KeySpend], now_ms: i64) {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        for s in spend {
            if let Some(entry) = map.get(&s.key_id) {
                entry.state.lock().unwrap_or_else(|e| e.into_inner()).seed(s, now_ms);
            }
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<Entry> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    /// The key's spend in `period` as of `now_ms` and its last use; `None` for unknown keys.
    pub fn live(&self, id: &str, period: BudgetPeriod, now_ms: i64) -> Option<KeyLive> {
        let entry = self.get(id)?;
        let mut state = entry.state.lock().unwrap_or_else(|e| e.into_inner());
        Some(KeyLive { spent_usd: state.spent(period, now_ms), period, last_used_ms: state.last_used_ms() })
    }

    pub fn len(&self) -> usize {
        self.0.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use aigw_core::keys::{KeyLimits, KeyOwner};

    use super::*;

    fn key(id: &str, name: &str) -> VirtualKey {
        VirtualKey {
            id: id.into(),
            account_id: "acct".into(),
            name: name.into(),
            owner: KeyOwner::default(),
            secret_hash: vec![0; 32],
            created_at_ms: 0,
            modified_at_ms: 0,
            expires_at_ms: None,
            revoked_at_ms: None,
            limits: KeyLimits::default(),
        }
    }

    #[test]
    fn reloads_keep_the_live_state_of_keys_that_stay() {
        let index = KeyIndex::default();
        index.replace(vec![key("a", "one"), key("b", "two")], 0);
        let spend = KeySpend { key_id: "a".into(), day: 1.0, week: 1.0, month: 2.0, total: 3.0, last_used_ms: Some(7) };
        index.seed_spend(&[spend], 0);
        index.replace(vec![key("a", "renamed")], 0);
        assert_eq!(index.len(), 1);
        assert_eq!(index.get("a").unwrap().key.name, "renamed");
        let live = index.live("a", BudgetPeriod::Month, 0).unwrap();
        assert_eq!((live.spent_usd, live.last_used_ms), (2.0, Some(7)));
        assert!(index.live("b", BudgetPeriod::Day, 0).is_none());
    }
}
