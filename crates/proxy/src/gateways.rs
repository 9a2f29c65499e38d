//! Accounts and gateways the data plane serves. Gateway `default` is created on first use in
//! any known account, as Cloudflare does; other unknown gateways and accounts are refused.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aigw_core::config::{AccountConfig, GatewayConfig};

use crate::error::ProxyError;

/// The settings of one gateway that the data plane acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    pub account_id: String,
    pub id: String,
    pub collect_logs: bool,
    /// Requests must carry a valid virtual key.
    pub authentication: bool,
}

/// The id of the gateway created on first use.
pub const DEFAULT_GATEWAY: &str = "default";

/// Called when the data plane creates a gateway on first use (the binary persists it).
pub type OnCreate = Arc<dyn Fn(&GatewaySettings) + Send + Sync>;

#[derive(Default)]
struct Inner {
    accounts: HashMap<String, Option<String>>,
    /// account -> gateway id -> settings; looked up by `&str` without allocating.
    gateways: HashMap<String, HashMap<String, Arc<GatewaySettings>>>,
    on_create: Option<OnCreate>,
}

/// Known accounts and gateways. Cheap to clone; readers never wait on each other.
#[derive(Clone, Default)]
pub struct Gateways(Arc<RwLock<Inner>>);

impl std::fmt::Debug for Gateways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gateways")
    }
}

impl Gateways {
    pub fn from_config(accounts: &[AccountConfig], gateways: &[GatewayConfig]) -> Self {
        let mut inner = Inner::default();
        for a in accounts {
            inner.accounts.insert(a.id.clone(), a.name.clone());
        }
        for g in gateways {
            let settings = GatewaySettings {
                account_id: g.account.clone(),
                id: g.id.clone(),
                collect_logs: g.collect_logs,
                authentication: false,
            };
            inner.gateways.entry(g.account.clone()).or_default().insert(g.id.clone(), Arc::new(settings));
        }
        Self(Arc::new(RwLock::new(inner)))
    }

    /// The gateway's settings, creating `default` on first use in a known account.
    pub fn resolve(&self, account: &str, gateway: &str) -> Result<Arc<GatewaySettings>, ProxyError> {
        {
            let inner = self.0.read().unwrap_or_else(|e| e.into_inner());
            if let Some(g) = inner.gateways.get(account).and_then(|gws| gws.get(gateway)) {
                return Ok(g.clone());
            }
            if !inner.accounts.contains_key(account) {
                return Err(ProxyError::UnknownAccount(account.to_string()));
            }
            if gateway != DEFAULT_GATEWAY {
                return Err(ProxyError::UnknownGateway(gateway.to_string()));
            }
        }
        let (created, hook) = {
            let mut inner = self.0.write().unwrap_or_else(|e| e.into_inner());
            let hook = inner.on_create.clone();
            let gateways = inner.gateways.entry(account.to_string()).or_default();
            if let Some(existing) = gateways.get(gateway) {
                return Ok(existing.clone());
            }
            tracing::info!(account, gateway, "gateway created on first use");
            let created = Arc::new(GatewaySettings {
                account_id: account.to_string(),
                id: gateway.to_string(),
                collect_logs: true,
                authentication: false,
            });
            gateways.insert(gateway.to_string(), created.clone());
            (created, hook)
        };
        if let Some(hook) = hook {
            hook(&created);
        }
        Ok(created)
    }

    /// Sets the function told about gateways created on first use.
    pub fn set_on_create(&self, hook: OnCreate) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).on_create = Some(hook);
    }

    /// Adds or replaces a gateway (the admin API calls this when gateways change).
    pub fn upsert(&self, settings: GatewaySettings) {
        let mut inner = self.0.write().unwrap_or_else(|e| e.into_inner());
        inner.gateways.entry(settings.account_id.clone()).or_default().insert(settings.id.clone(), Arc::new(settings));
    }

    pub fn remove(&self, account: &str, gateway: &str) {
        let mut inner = self.0.write().unwrap_or_else(|e| e.into_inner());
        if let Some(gws) = inner.gateways.get_mut(account) {
            gws.remove(gateway);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_created_on_first_use_in_known_accounts_only() {
        let g = Gateways::from_config(&[AccountConfig { id: "acc".into(), name: None }], &[]);
        assert!(g.resolve("acc", "default").unwrap().collect_logs);
        assert!(matches!(g.resolve("acc", "other"), Err(ProxyError::UnknownGateway(_))));
        assert!(matches!(g.resolve("nope", "default"), Err(ProxyError::UnknownAccount(_))));
    }
}
