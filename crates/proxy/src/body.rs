//! The body type of every response the proxy sends.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::tap::{BoxError, TapBody};

/// A gateway-made body (errors), a provider body observed for the log, or a provider body
/// passed through untouched (no log kept).
pub enum ProxyBody {
    Full(Full<Bytes>),
    Tap(TapBody<Incoming>),
    Plain(Incoming),
}

impl ProxyBody {
    pub fn full(bytes: Bytes) -> Self {
        ProxyBody::Full(Full::new(bytes))
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            ProxyBody::Full(b) => Pin::new(b).poll_frame(cx).map(|f| f.map(|r| r.map_err(|never| match never {}))),
            ProxyBody::Tap(b) => Pin::new(b).poll_frame(cx),
            ProxyBody::Plain(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Full(b) => b.is_end_stream(),
            ProxyBody::Tap(b) => b.is_end_stream(),
            ProxyBody::Plain(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Full(b) => b.size_hint(),
            ProxyBody::Tap(b) => b.size_hint(),
            ProxyBody::Plain(b) => b.size_hint(),
        }
    }
}
