//! `TapBody`: wraps the provider's response body. Chunks pass to the caller the moment they
//! arrive; a bounded copy is kept for the log and SSE events are scanned for usage. When the body
//! ends, fails, or the caller goes away (the body is dropped), the exchange's record is finished.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use aigw_core::Payload;
use bytes::{Bytes, BytesMut};

/// Errors a response body can end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
use http_body::{Body, Frame, SizeHint};

use crate::exchange::Exchange;
use crate::usage::json::{observe_body, observe_tail, TAIL_BYTES};
use crate::usage::sse::SseScanner;
use crate::usage::UsageAcc;

/// The response body handed to the caller.
pub struct TapBody<B> {
    inner: B,
    /// Armed while the provider keeps us waiting; fires after `idle_timeout` of silence.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    idle_timeout: Duration,
    tap: Option<Box<Tap>>,
}

struct Tap {
    exchange: Exchange,
    kept: BytesMut,
    size: u64,
    truncated: bool,
    /// The last bytes of a JSON body too large to keep, to find its usage.
    tail: Vec<u8>,
    sse: Option<SseScanner>,
    usage: UsageAcc,
    cap: usize,
}

impl<B> TapBody<B> {
    pub(crate) fn new(inner: B, exchange: Exchange, sse: Option<SseScanner>, idle_timeout: Duration) -> Self {
        // Without payload collection nothing is kept but the tail, for usage.
        let cap = if exchange.collect_payload { exchange.ctx.max_body_bytes } else { 0 };
        let tap = Tap {
            exchange,
            kept: BytesMut::new(),
            size: 0,
            truncated: false,
            tail: Vec::new(),
            sse,
            usage: UsageAcc::default(),
            cap,
        };
        Self { inner, idle: None, idle_timeout, tap: Some(Box::new(tap)) }
    }

    fn finish(&mut self, error: Option<String>) {
        if let Some(tap) = self.tap.take() {
            tap.finish(error);
        }
    }
}

impl Tap {
    /// Observes a chunk; returns what to send to the caller in its place.
    fn on_data(&mut self, data: Bytes) -> Bytes {
        self.size += data.len() as u64;
        let room = self.cap.saturating_sub(self.kept.len());
        if data.len() <= room {
            self.kept.extend_from_slice(&data);
        } else {
            self.kept.extend_from_slice(&data[..room]);
            self.truncated = true;
        }
        match self.sse.as_mut() {
            Some(sse) => match sse.feed(&data, &mut self.usage) {
                Some(replacement) => replacement,
                None => data,
            },
            None => {
                if self.truncated {
                    self.tail.extend_from_slice(&data);
                    if self.tail.len() > 2 * TAIL_BYTES {
                        self.tail.drain(..self.tail.len() - TAIL_BYTES);
                    }
                }
                data
            }
        }
    }

    /// The stream ended cleanly; returns the scanner's leftover bytes (strip mode).
    fn on_end(&mut self) -> Option<Bytes> {
        self.sse.as_mut().and_then(|sse| sse.finish(&mut self.usage)).filter(|b| !b.is_empty())
    }

    fn finish(mut self: Box<Self>, error: Option<String>) {
        let error = error.or_else(|| self.sse.as_mut().and_then(SseScanner::stream_error));
        if self.sse.is_none() && !self.usage.found() {
            let op = self.exchange.op;
            if self.truncated {
                observe_tail(op, &self.tail, &mut self.usage);
            } else if !self.kept.is_empty() {
                observe_body(op, &self.kept, &mut self.usage);
            }
        }
        let response = Payload { body: Some(self.kept.split().freeze()), size: self.size, truncated: self.truncated };
        self.exchange.finish(response, self.usage, error);
    }
}

/// The provider sent nothing for longer than the gateway waits.
#[derive(Debug, thiserror::Error)]
#[error("the provider sent nothing for {0} ms")]
pub struct StreamStalled(u64);

impl<B> Body for TapBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display + Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            let Some(tap) = this.tap.as_mut() else {
                // Finished: pass through whatever the inner body still says (normally the end).
                return Pin::new(&mut this.inner).poll_frame(cx).map_err(Into::into);
            };
            let polled = Pin::new(&mut this.inner).poll_frame(cx);
            let Poll::Ready(polled) = polled else {
                // Waiting on the provider: bounded by the idle timeout, armed only while waiting.
                let timeout = this.idle_timeout;
                let idle = this.idle.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(idle.as_mut().poll(cx));
                let ms = timeout.as_millis() as u64;
                this.finish(Some(format!("the provider sent nothing for {ms} ms")));
                return Poll::Ready(Some(Err(Box::new(StreamStalled(ms)))));
            };
            this.idle = None;
            match polled {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let mut out = tap.on_data(data);
                        // hyper stops polling a body that says it has ended (known length), so
                        // the record is finished with the last frame, not on a later poll.
                        if this.inner.is_end_stream() {
                            if let Some(rest) = tap.on_end() {
                                out = [out, rest].concat().into();
                            }
                            this.finish(None);
                        }
                        if out.is_empty() {
                            if this.tap.is_none() {
                                return Poll::Ready(None);
                            }
                            continue;
                        }
                        return Poll::Ready(Some(Ok(Frame::data(out))));
                    }
                    Err(frame) => {
                        // Trailers end the body: hyper polls no further.
                        tap.on_end();
                        this.finish(None);
                        return Poll::Ready(Some(Ok(frame)));
                    }
                },
                Some(Err(e)) => {
                    let message = format!("provider stream failed: {e}");
                    this.finish(Some(message));
                    return Poll::Ready(Some(Err(e.into())));
                }
                None => {
                    let rest = tap.on_end();
                    this.finish(None);
                    return Poll::Ready(rest.map(|b| Ok(Frame::data(b))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.tap.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.tap.as_ref().and_then(|t| t.sse.as_ref()) {
            Some(sse) if sse.rewrites() => SizeHint::default(),
            _ => self.inner.size_hint(),
        }
    }
}

impl<B> Drop for TapBody<B> {
    fn drop(&mut self) {
        // The body was dropped before it ended. After a stream's final event that is a caller
        // done reading (SDKs stop at `[DONE]`); before it, a caller (or a shutdown) cutting the
        // answer short.
        let complete = self.tap.as_ref().and_then(|t| t.sse.as_ref()).is_some_and(|s| s.complete());
        let error = (!complete).then(|| "client disconnected before the response completed".to_string());
        self.finish(error);
    }
}
