//! Everything a request needs, shared by all requests.

use std::sync::Arc;

use crate::client::{upstream_client, UpstreamClient};
use crate::exchange::LogContext;
use crate::gateways::Gateways;
use crate::keyring::KeyIndex;
use crate::providers::Providers;

pub struct ProxyState {
    pub providers: Providers,
    pub gateways: Gateways,
    /// Virtual keys, in memory; the binary fills it and replaces it when keys change.
    pub keys: KeyIndex,
    pub log: Arc<LogContext>,
    pub(crate) client: UpstreamClient,
    pub max_request_bytes: usize,
    pub upstream_timeout_ms: u64,
}

impl ProxyState {
    pub fn new(
        providers: Providers,
        gateways: Gateways,
        log: LogContext,
        max_request_bytes: usize,
        upstream_timeout_ms: u64,
    ) -> Self {
        Self {
            providers,
            gateways,
            keys: KeyIndex::default(),
            log: Arc::new(log),
            client: upstream_client(),
            max_request_bytes,
            upstream_timeout_ms,
        }
    }
}
