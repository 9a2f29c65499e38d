//! The request flow of the data plane, top to bottom:
//!
//! 1. route     `/v1/{account}/{gateway}/{provider|compat}/{rest}` and the gateway it names
//! 2. options   the `cf-aig-*` headers; admission (shed mode refuses when the log backlog is full)
//! 3. body      read up to the size limit; the model, the stream flag; usage asked of streams
//! 4. upstream  URL, headers and key for the provider; sent through the pooled client under a
//!    time-to-headers limit
//! 5. response  the provider's status and headers plus `cf-aig-*`; the body is wrapped in a
//!    `TapBody` that finishes the log record when it ends
//!
//! Any error becomes a response in the provider's error shape and, once a gateway is known, a
//! log record with `success = false`.

use std::sync::Arc;
use std::time::Duration;

use aigw_core::config::ProviderFormat;
use aigw_core::ids::new_ulid;
use aigw_core::{LogRecord, Payload};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Body as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use tokio::time::Instant;

use crate::body::ProxyBody;
use crate::error::ProxyError;
use crate::exchange::Exchange;
use crate::headers::{forward_request_header, forward_response_header, parse_aig, AigOptions};
use crate::operation::Operation;
use crate::providers::{bearer, Provider};
use crate::route::{self, Target};
use crate::state::ProxyState;
use crate::tap::TapBody;
use crate::usage::sse::SseScanner;
use crate::vkey;

/// Longest a caller may take to send its request body.
const REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves one data-plane request. Never fails: errors become responses. The binary also calls it
/// in-process for the dashboard's Playground (with a [`PlaygroundUser`](crate::PlaygroundUser)
/// in the request's extensions).
pub async fn handle<B>(state: Arc<ProxyState>, req: Request<B>) -> Response<ProxyBody>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path();
    let route = match route::parse(path) {
        Ok(r) => r,
        Err(e) => return error_response(&e, ProviderFormat::Openai, None),
    };
    let format = match route.target {
        Target::Provider { provider, .. } => {
            state.providers.get(provider).map_or(ProviderFormat::Openai, |p| p.format())
        }
        Target::Compat { .. } => ProviderFormat::Openai,
    };
    let gateway = match state.gateways.resolve(route.account, route.gateway) {
        Ok(g) => g,
        Err(e) => return error_response(&e, format, None),
    };
    if !state.log.sink.admit() {
        return error_response(&ProxyError::Shed, format, None);
    }

    let created_at_ms = state.log.clock.now_ms();
    let id = new_ulid(created_at_ms);
    let (provider_name, rest) = match route.target {
        Target::Provider { provider, rest } => (provider, rest),
        Target::Compat { rest } => ("compat", rest),
    };
    let op = Operation::classify(rest);
    let record = LogRecord {
        id,
        account_id: gateway.account_id.clone(),
        gateway_id: gateway.id.clone(),
        created_at_ms,
        provider: provider_name.to_string(),
        model_type: op.model_type(rest).map(str::to_string),
        path: rest.to_string(),
        request_type: route.request_type().to_string(),
        method: parts.method.as_str().to_string(),
        request_content_type: header_text(&parts.headers, CONTENT_TYPE),
        user_agent: header_text(&parts.headers, USER_AGENT),
        ..LogRecord::default()
    };
    let mut exchange = Exchange::begin(record, started, op, gateway.collect_logs, state.log.clone());

    let options = match parse_aig(&parts.headers) {
        Ok(o) => o,
        Err(e) => return fail(exchange, &e, format),
    };
    apply_options(&mut exchange, &options);
    let query = parts.uri.query();
    let sender = match vkey::authenticate(&state, &mut parts.headers, query, &parts.extensions, &gateway, &mut exchange)
    {
        Ok(s) => s,
        Err(e) => return fail(exchange, &e, format),
    };

    let limit = state.max_request_bytes;
    let read = tokio::time::timeout(REQUEST_BODY_TIMEOUT, Limited::new(body, limit).collect());
    let Ok(read) = read.await else {
        let error = ProxyError::RequestBody("the request body did not arrive in time".into());
        return fail(exchange, &error, format);
    };
    let body = match read {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return fail(exchange, &ProxyError::BodyTooLarge { limit }, format);
        }
        Err(e) => return fail(exchange, &ProxyError::RequestBody(e.to_string()), format),
    };

    let prepared = match prepare(&state, &route.target, &parts, body.clone(), &mut exchange) {
        Ok(p) => p,
        Err(e) => return fail(exchange, &e, format),
    };
    let format = prepared.provider.format_for(&route.target);
    if let Err(e) = vkey::admit(&state, &sender, &parts.method, &parts.headers, query, &body, &mut exchange) {
        return fail(exchange, &e, format);
    }

    let timeout_ms = options.request_timeout_ms.unwrap_or(state.upstream_timeout_ms);
    let upstream = state.client.request(prepared.request);
    let response = match tokio::time::timeout(Duration::from_millis(timeout_ms), upstream).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            let error = ProxyError::UpstreamConnect(connect_error_text(&e));
            tracing::warn!(provider = provider_name, error = %error, "upstream request failed");
            return fail(exchange, &error, format);
        }
        Err(_) => return fail(exchange, &ProxyError::UpstreamTimeout { ms: timeout_ms }, format),
    };
    respond(exchange, response, prepared.strip_usage, &options, Duration::from_millis(state.upstream_timeout_ms))
}

/// The request for the provider, and what the response handling needs to know.
struct Prepared {
    request: Request<Full<Bytes>>,
    provider: Arc<Provider>,
    strip_usage: bool,
}

impl Provider {
    /// The error shape callers of this route expect.
    fn format_for(&self, target: &Target<'_>) -> ProviderFormat {
        match target {
            Target::Compat { .. } => ProviderFormat::Openai,
            Target::Provider { .. } => self.format(),
        }
    }
}

fn apply_options(exchange: &mut Exchange, options: &AigOptions) {
    if let Some(collect) = options.collect_log {
        exchange.collect_log = collect;
    }
    if let Some(collect) = options.collect_payload {
        exchange.collect_payload = collect;
    }
    exchange.custom_cost = options.custom_cost;
    exchange.record.metadata = options.metadata.clone();
    exchange.record.event_id = options.event_id.clone();
}

fn prepare(
    state: &ProxyState,
    target: &Target<'_>,
    parts: &http::request::Parts,
    body: Bytes,
    exchange: &mut Exchange,
) -> Result<Prepared, ProxyError> {
    let mut json = parse_json_body(&parts.headers, &body);
    let (provider, url) = match *target {
        Target::Provider { provider, rest } => {
            let p = state.providers.get(provider).ok_or_else(|| ProxyError::UnknownProvider(provider.to_string()))?;
            let url = p.adapter.upstream_url(&p.base_url, rest)?;
            (p.clone(), url)
        }
        Target::Compat { rest } => {
            if exchange.op != Operation::ChatCompletions || rest != "chat/completions" {
                return Err(ProxyError::BadPath("the compat endpoint serves chat/completions only".into()));
            }
            let model = json.as_ref().and_then(|v| v.get("model")).and_then(Value::as_str).unwrap_or("");
            let Some((provider, model)) = model.split_once('/').filter(|(p, m)| !p.is_empty() && !m.is_empty()) else {
                return Err(ProxyError::BadBody(format!(
                    "compat requests name the model as \"provider/model\", for example \"openai/gpt-4o-mini\"; got {model:?}"
                )));
            };
            let p =
                state.providers.get(provider).ok_or_else(|| ProxyError::UnknownProvider(provider.to_string()))?.clone();
            let model = model.to_string();
            if let Some(v) = json.as_mut() {
                v["model"] = Value::String(model);
            }
            exchange.record.provider = p.name.clone();
            let url = format!("{}{}", p.base_url, p.adapter.compat_chat_path());
            (p, url)
        }
    };
    let rest = exchange.record.path.clone();
    exchange.record.model = json
        .as_ref()
        .and_then(|v| v.get("model"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| provider.adapter.model_from_path(&rest))
        .unwrap_or_default();
    let wants_stream = json.as_ref().and_then(|v| v.get("stream")).and_then(Value::as_bool).unwrap_or(false);
    exchange.record.stream = wants_stream || exchange.op == (Operation::GeminiGenerate { stream: true });

    // OpenAI-style streams report usage only when asked; ask, and hide it from the caller again.
    // Only when a record will be kept, and only of providers that accept the option.
    let mut changed = matches!(target, Target::Compat { .. });
    let mut strip_usage = false;
    let asks_usage = wants_stream
        && exchange.collect_log
        && matches!(exchange.op, Operation::ChatCompletions | Operation::Completions)
        && provider.inject_stream_usage
        && provider.adapter.accepts_stream_usage(parts.uri.query());
    if asks_usage {
        if let Some(Value::Object(body)) = json.as_mut() {
            if !include_usage_requested(body) {
                let options = body.entry("stream_options").or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(o) = options {
                    o.insert("include_usage".into(), Value::Bool(true));
                } else {
                    *options = serde_json::json!({"include_usage": true});
                }
                changed = true;
                strip_usage = true;
            }
        }
    }
    let upstream_body = match (&json, changed) {
        (Some(v), true) => Bytes::from(serde_json::to_vec(v).map_err(|e| ProxyError::BadBody(e.to_string()))?),
        _ => body.clone(),
    };
    exchange.record.request = capture(&body, state.log.max_body_bytes);

    let url = match parts.uri.query() {
        Some(q) => format!("{url}?{q}"),
        None => url,
    };
    let mut builder = Request::builder().method(parts.method.clone()).uri(url);
    let headers = builder.headers_mut().ok_or_else(|| ProxyError::BadPath("invalid upstream URL".into()))?;
    for (name, value) in &parts.headers {
        if forward_request_header(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if !provider.adapter.caller_has_key(&parts.headers, parts.uri.query()) {
        let compat = matches!(target, Target::Compat { .. });
        // OpenAI-compatible endpoints take the key as a bearer token, whatever the provider.
        let header =
            provider.api_key.as_deref().and_then(|k| if compat { bearer(k) } else { provider.adapter.key_header(k) });
        if let Some((name, value)) = header {
            headers.insert(name, value);
        }
    }
    if !upstream_body.is_empty() || parts.headers.contains_key(CONTENT_LENGTH) {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(upstream_body.len()));
    }
    let request = builder
        .body(Full::new(upstream_body))
        .map_err(|e| ProxyError::BadPath(format!("cannot build the upstream request: {e}")))?;
    Ok(Prepared { request, provider, strip_usage })
}

/// The JSON body, when the request has one.
fn parse_json_body(headers: &HeaderMap, body: &Bytes) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    let declared_json = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.contains("json"));
    let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !(declared_json || looks_json) {
        return None;
    }
    serde_json::from_slice(body).ok()
}

fn include_usage_requested(v: &serde_json::Map<String, Value>) -> bool {
    v.get("stream_options").and_then(|o| o.get("include_usage")).and_then(Value::as_bool).unwrap_or(false)
}

fn capture(body: &Bytes, cap: usize) -> Payload {
    let kept = body.slice(..body.len().min(cap));
    Payload { truncated: kept.len() < body.len(), size: body.len() as u64, body: Some(kept) }
}

fn respond(
    mut exchange: Exchange,
    response: Response<Incoming>,
    strip_usage: bool,
    options: &AigOptions,
    idle_timeout: Duration,
) -> Response<ProxyBody> {
    let (parts, body) = response.into_parts();
    exchange.record.status_code = parts.status.as_u16();
    exchange.record.response_content_type = header_text(&parts.headers, CONTENT_TYPE);
    let is_sse = exchange.record.response_content_type.as_deref().is_some_and(|ct| ct.starts_with("text/event-stream"));
    let rewrites = is_sse && strip_usage;

    let mut builder = Response::builder().status(parts.status);
    if let Some(headers) = builder.headers_mut() {
        for (name, value) in &parts.headers {
            if forward_response_header(name) && !(rewrites && name == CONTENT_LENGTH) {
                headers.append(name.clone(), value.clone());
            }
        }
        add_gateway_headers(headers, &exchange, options);
    }
    let body = if exchange.collect_log && !body.is_end_stream() {
        let sse = is_sse.then(|| SseScanner::new(exchange.op, strip_usage));
        ProxyBody::Tap(TapBody::new(body, exchange, sse, idle_timeout))
    } else {
        // No log, or nothing to stream (HEAD, 204, 304): the record is complete now.
        let empty = Payload { body: Some(Bytes::new()), size: 0, truncated: false };
        exchange.finish(empty, Default::default(), None);
        ProxyBody::Plain(body)
    };
    builder.body(body).unwrap_or_else(|_| Response::new(ProxyBody::full(Bytes::new())))
}

fn add_gateway_headers(headers: &mut HeaderMap, exchange: &Exchange, options: &AigOptions) {
    if exchange.collect_log {
        if let Ok(v) = HeaderValue::from_str(&exchange.record.id) {
            headers.insert("cf-aig-log-id", v);
        }
    }
    headers.insert("cf-aig-step", HeaderValue::from(exchange.record.step));
    if let Some(v) = options.event_id.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert("cf-aig-event-id", v);
    }
}

/// Answers with `error` and records the failed exchange.
fn fail(exchange: Exchange, error: &ProxyError, format: ProviderFormat) -> Response<ProxyBody> {
    let body = error.body(format);
    let mut headers = HeaderMap::new();
    add_gateway_headers(
        &mut headers,
        &exchange,
        &AigOptions { event_id: exchange.record.event_id.clone(), ..Default::default() },
    );
    if let Some(secs) = error.retry_after_secs() {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(retry) = error.should_retry() {
        headers.insert("x-should-retry", HeaderValue::from_static(if retry { "true" } else { "false" }));
    }
    let status = error.status();
    exchange.fail(status.as_u16(), error.to_string(), body.clone());
    build_error(status, body, headers)
}

/// Answers with `error` when no gateway (and so no log) is known.
fn error_response(error: &ProxyError, format: ProviderFormat, headers: Option<HeaderMap>) -> Response<ProxyBody> {
    build_error(error.status(), error.body(format), headers.unwrap_or_default())
}

fn build_error(status: http::StatusCode, body: Bytes, headers: HeaderMap) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::full(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn header_text(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// A connect error's text without anything of the request (URLs may carry keys in queries).
fn connect_error_text(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut text = if e.is_connect() { "connection failed".to_string() } else { "request failed".to_string() };
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
