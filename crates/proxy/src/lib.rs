//! aigw-proxy: the data plane. Apps point their SDK's base URL here; each request is forwarded
//! to its provider, the answer streams back untouched, and a `LogRecord` of the exchange goes to
//! the `LogSink` the binary provides.
//!
//! # Layout
//! - [`server`]: the listener (HTTP/1.1 + h2c) and graceful shutdown.
//! - [`handler`]: the request flow, top to bottom.
//! - `route`, `gateways`: which account, gateway and provider a path names.
//! - [`providers`]: one adapter per provider wire style.
//! - `headers`: the `cf-aig-*` headers and which headers cross the gateway.
//! - `tap`, `exchange`: the response body wrapper that captures and finishes the record.
//! - `usage`, `operation`: where each API reports usage, in bodies and SSE streams.
//! - `vkey`, `keyring`, `limits`: virtual keys: who sent a request, the in-memory key index,
//!   rate limits and budgets.
//! - [`error`]: errors and their provider-shaped responses.

mod body;
mod client;
pub mod error;
mod exchange;
mod gateways;
mod handler;
mod headers;
mod keyring;
mod limits;
mod operation;
pub mod providers;
mod route;
mod server;
mod state;
mod tap;
mod usage;
mod vkey;

pub use body::ProxyBody;
pub use error::ProxyError;
pub use exchange::LogContext;
pub use gateways::{GatewaySettings, Gateways, OnCreate, DEFAULT_GATEWAY};
pub use handler::handle;
pub use keyring::{KeyIndex, KeyLive};
pub use providers::Providers;
pub use server::serve;
pub use state::ProxyState;
pub use vkey::PlaygroundUser;
