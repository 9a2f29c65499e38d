//! `aigw serve`: wire the store, writer, proxy and admin API together and run until a signal.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aigw_core::gateway::{Gateway, GatewaySpec};
use aigw_core::SystemClock;
use aigw_proxy::{GatewaySettings, Gateways, LogContext, Providers, ProxyState};
use aigw_writer::{Writer, WriterHandle};
use anyhow::Context;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::load;

pub fn run(config_path: Option<&Path>) -> anyhow::Result<()> {
    init_tracing();
    let config = load::config(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(config))
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
}

async fn serve(config: aigw_core::Config) -> anyhow::Result<()> {
    let pricing = load::pricing(&config)?;
    let providers = Providers::from_config(&config.providers, |k| std::env::var(k).ok())?;
    let gateways = Gateways::from_config(&config.accounts, &config.gateways);

    // The admin connection opens first: it creates or migrates the schema.
    let db = aigw_admin::Db::open(&config.storage.path)
        .with_context(|| format!("cannot open the database {}", config.storage.path.display()))?;
    let clock: Arc<dyn aigw_core::Clock> = Arc::new(SystemClock);
    seed(&db, &config, &gateways, clock.clone()).await?;
    let conn = aigw_store::open_write(&config.storage.path)?;
    let writer = Writer::start(aigw_store::LogInserter::new(conn)?, &config.writer)?;
    let sink = writer.handle();

    let log = LogContext::new(Arc::new(sink.clone()), Arc::new(pricing), clock.clone(), config.capture.max_body_bytes);
    let state = Arc::new(ProxyState::new(
        providers,
        gateways,
        log,
        config.proxy.max_request_bytes,
        config.proxy.upstream_timeout_ms,
    ));

    let proxy_listener = bind(config.proxy.listen, "proxy").await?;
    let admin_listener = bind(config.admin.listen, "admin").await?;
    let proxy_addr = proxy_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let grace = Duration::from_millis(config.proxy.shutdown_grace_ms);
    let accounts = config.accounts.iter().map(|a| (a.id.clone(), a.name.clone().unwrap_or_else(|| a.id.clone())));
    let key_version = crate::directory::load(&db, &state.keys, &clock).await?;
    let keys_watch = tokio::spawn(crate::directory::watch(
        db.clone(),
        state.keys.clone(),
        clock.clone(),
        key_version,
        stop_rx.clone(),
    ));
    let ops = Arc::new(GatewayOps {
        sink: sink.clone(),
        gateways: state.gateways.clone(),
        accounts: accounts.collect(),
        access: crate::access::AccessOps::new(&config, db.clone(), state.clone(), clock.clone()),
    });
    let admin_state = aigw_admin::AdminState { db, clock, ops, head_bytes: config.capture.head_bytes };
    let proxy = tokio::spawn(aigw_proxy::serve(proxy_listener, state, stopped(stop_rx.clone()), grace));
    let admin = tokio::spawn(async move {
        let app = aigw_admin::router(admin_state);
        // With connect info: audit records carry the caller's address.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        // No Nagle: a response written in pieces must not wait on the client's delayed ACK.
        let admin_listener = axum::serve::ListenerExt::tap_io(admin_listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(admin_listener, app).with_graceful_shutdown(stopped(stop_rx)).await
    });

    tracing::info!(proxy = %proxy_addr, admin = %admin_addr, db = %config.storage.path.display(), "aigw ready");
    // One machine-readable line on stdout, for scripts and tests that start aigw on port 0.
    println!("aigw ready proxy=http://{proxy_addr} admin=http://{admin_addr}");

    shutdown_signal().await;
    tracing::info!("shutdown requested: no new connections, draining in-flight requests");
    let _ = stop_tx.send(true);
    if let Err(e) = proxy.await {
        tracing::error!(error = %e, "proxy task failed");
    }
    if let Err(e) = keys_watch.await {
        tracing::error!(error = %e, "virtual key watcher failed");
    }
    match admin.await {
        Ok(Err(e)) => tracing::error!(error = %e, "admin server failed"),
        Err(e) => tracing::error!(error = %e, "admin task failed"),
        Ok(Ok(())) => {}
    }
    tokio::task::spawn_blocking(move || writer.shutdown()).await?;
    let stats = sink.stats();
    tracing::info!(
        written = stats.written,
        dropped = stats.dropped,
        rejected = stats.rejected,
        "log writer drained; bye"
    );
    Ok(())
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} ({what})"))
}

/// Resolves when the stop flag is raised.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops aigw");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Puts the config's gateways and `AIGW_ADMIN_TOKEN` into the database, loads every stored
/// gateway into the data plane, and persists gateways the data plane creates on first use.
async fn seed(
    db: &aigw_admin::Db,
    config: &aigw_core::Config,
    gateways: &Gateways,
    clock: Arc<dyn aigw_core::Clock>,
) -> anyhow::Result<()> {
    let audit_config = Arc::new(config.clone());
    let config = config.clone();
    let now = clock.now_ms();
    let stored = db
        .write(move |conn| {
            for g in &config.gateways {
                if aigw_store::gateways::get_gateway(conn, &g.account, &g.id)?.is_none() {
                    let mut spec = GatewaySpec::default_gateway();
                    spec.collect_logs = g.collect_logs;
                    aigw_store::gateways::insert_gateway(conn, &new_gateway(&g.account, &g.id, spec, now))?;
                }
            }
            if let Some(secret) = std::env::var("AIGW_ADMIN_TOKEN").ok().filter(|s| !s.is_empty()) {
                if secret.len() < 16 {
                    return Err(aigw_admin::ApiError::internal("AIGW_ADMIN_TOKEN must be at least 16 characters"));
                }
                crate::tokens::ensure_env_token(conn, &config, &secret).map_err(aigw_admin::ApiError::internal)?;
            }
            let env = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
            if let (Some(email), Some(password)) =
                (env(crate::users::ENV_ADMIN_EMAIL), env(crate::users::ENV_ADMIN_PASSWORD))
            {
                crate::users::ensure_env_admin(conn, &config, &email, &password)
                    .map_err(aigw_admin::ApiError::internal)?;
            }
            Ok(aigw_store::gateways::all_gateways(conn)?)
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare the database: {}", e.message))?;
    for g in stored {
        gateways.upsert(settings(&g.account_id, &g.id, &g.spec));
    }
    let db = db.clone();
    gateways.set_on_create(Arc::new(move |created: &GatewaySettings| {
        let gateway = new_gateway(&created.account_id, &created.id, GatewaySpec::default_gateway(), clock.now_ms());
        let db = db.clone();
        // Audited as aigw's own action, in the transaction of the insert.
        let resource =
            aigw_core::audit::AuditResource::new(aigw_core::audit::product::AI_GATEWAY, "gateway", Some(&gateway.id));
        let mut record = crate::audit::cli_record(
            &audit_config,
            &gateway.account_id,
            aigw_core::audit::ActionType::Create,
            "Create gateway on first use",
            resource,
            "proxy request to a gateway not yet created",
        );
        record.actor = aigw_core::audit::AuditActor::system("aigw");
        tokio::spawn(async move {
            let result = db
                .write(move |conn| {
                    Ok(aigw_store::audit::append_with(conn, record, |c, _| {
                        aigw_store::gateways::insert_gateway(c, &gateway)
                    })?)
                })
                .await;
            if let Err(e) = result {
                if e.code != 7006 {
                    tracing::warn!(error = %e.message, "could not store a gateway created on first use");
                }
            }
        });
    }));
    Ok(())
}

fn new_gateway(account: &str, id: &str, spec: GatewaySpec, now_ms: i64) -> Gateway {
    Gateway {
        account_id: account.to_string(),
        id: id.to_string(),
        internal_id: uuid::Uuid::new_v4().to_string(),
        created_at_ms: now_ms,
        modified_at_ms: now_ms,
        spec,
    }
}

fn settings(account: &str, id: &str, spec: &GatewaySpec) -> GatewaySettings {
    GatewaySettings {
        account_id: account.to_string(),
        id: id.to_string(),
        collect_logs: spec.collect_logs,
        authentication: spec.authentication,
    }
}

/// The admin API's view of the running gateway.
struct GatewayOps {
    sink: WriterHandle,
    gateways: Gateways,
    /// Account id -> name (the id when the configuration gives no name), for audit records.
    accounts: std::collections::HashMap<String, String>,
    /// Virtual keys, providers, sessions and the Playground (see `access`).
    access: crate::access::AccessOps,
}

impl aigw_admin::Ops for GatewayOps {
    fn stats(&self) -> Value {
        let s = self.sink.stats();
        json!({ "queued": s.queued, "written": s.written, "dropped": s.dropped, "rejected": s.rejected, "over_limit": s.over_limit, "gateway_deleted": s.gateway_deleted, "batches": s.batches })
    }

    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.sink.flush())
    }

    fn account_name(&self, account: &str) -> Option<String> {
        self.accounts.get(account).cloned()
    }

    fn default_account(&self) -> Option<String> {
        self.access.default_account.clone()
    }

    fn keys_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.access.keys_changed())
    }

    fn key_activity(&self, id: &str, period: aigw_core::period::BudgetPeriod) -> Option<aigw_admin::keys::KeyActivity> {
        self.access.key_activity(id, period)
    }

    fn providers(&self) -> Vec<aigw_admin::playground::ProviderInfo> {
        self.access.providers.clone()
    }

    fn playground(
        &self,
        call: aigw_admin::playground::PlaygroundCall,
    ) -> Pin<Box<dyn Future<Output = axum::response::Response> + Send + '_>> {
        Box::pin(self.access.chat(call))
    }

    fn auth_settings(&self) -> aigw_admin::session::AuthSettings {
        self.access.auth
    }

    fn gateway_changed(&self, account: &str, id: &str, spec: Option<&GatewaySpec>) {
        match spec {
            Some(spec) => self.gateways.upsert(settings(account, id, spec)),
            None => self.gateways.remove(account, id),
        }
    }
}
