//! What the admin API needs of the running gateway for keys, users and the Playground: reloads
//! of the data plane's key index, a key's live spend, the providers and their models, the
//! Playground's chat sent through the real data plane in-process, and the session settings.

use std::sync::Arc;

use aigw_admin::keys::KeyActivity;
use aigw_admin::playground::{PlaygroundCall, ProviderInfo};
use aigw_admin::session::AuthSettings;
use aigw_admin::Db;
use aigw_core::config::ProviderFormat;
use aigw_core::period::BudgetPeriod;
use aigw_core::{Clock, Config};
use aigw_proxy::{PlaygroundUser, ProxyState};
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};

pub struct AccessOps {
    db: Db,
    proxy: Arc<ProxyState>,
    clock: Arc<dyn Clock>,
    pub providers: Vec<ProviderInfo>,
    pub auth: AuthSettings,
    pub default_account: Option<String>,
}

impl AccessOps {
    pub fn new(config: &Config, db: Db, proxy: Arc<ProxyState>, clock: Arc<dyn Clock>) -> Self {
        let providers = providers(config, &proxy);
        let auth = AuthSettings {
            session_ttl_ms: i64::try_from(config.admin.session_ttl_hours).unwrap_or(12) * 3_600_000,
            secure_cookies: config.admin.secure_cookies,
        };
        Self { db, proxy, clock, providers, auth, default_account: config.accounts.first().map(|a| a.id.clone()) }
    }

    pub async fn keys_changed(&self) {
        crate::directory::reload(&self.db, &self.proxy.keys, &self.clock).await;
    }

    pub fn key_activity(&self, id: &str, period: BudgetPeriod) -> Option<KeyActivity> {
        let live = self.proxy.keys.live(id, period, self.clock.now_ms())?;
        Some(KeyActivity { spent_usd: live.spent_usd, last_used_ms: live.last_used_ms })
    }

    /// Sends the chat through the data plane's compat route as the user.
    pub async fn chat(&self, call: PlaygroundCall) -> Response {
        let uri = format!("/v1/{}/{}/compat/chat/completions", call.account_id, call.gateway_id);
        let request = Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(header::USER_AGENT, HeaderValue::from_static("aigw-playground"))
            .extension(PlaygroundUser { id: call.user_id, name: call.user_name })
            .body(axum::body::Body::from(call.body));
        let Ok(request) = request else {
            return (StatusCode::BAD_REQUEST, "invalid account or gateway id").into_response();
        };
        aigw_proxy::handle(self.proxy.clone(), request).await.map(axum::body::Body::new)
    }
}

/// Providers the configuration names or aigw holds a key for, with their priced models.
fn providers(config: &Config, proxy: &ProxyState) -> Vec<ProviderInfo> {
    proxy
        .providers
        .names()
        .into_iter()
        .filter_map(|name| {
            let p = proxy.providers.get(&name)?;
            if !(p.has_key() || config.providers.contains_key(&name)) {
                return None;
            }
            let format = match p.format() {
                ProviderFormat::Openai => "openai",
                ProviderFormat::Anthropic => "anthropic",
                ProviderFormat::Gemini => "gemini",
            };
            let models = proxy.log.pricing.models_of(&name);
            Some(ProviderInfo { id: name, format: format.to_string(), has_key: p.has_key(), models })
        })
        .collect()
}
