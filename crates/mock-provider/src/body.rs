//! The response body: a whole buffer, or a stream of events sent one frame each.
//!
//! A stream is not fed by a spawned task: the body itself holds the events and waits between
//! them (chunk delay, gate) inside `poll_frame`, so nothing outlives the response. When the
//! client goes away hyper drops the body and with it any wait in progress.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::watch;

use crate::state::wait_shutdown;

/// The body of every mock response.
pub(crate) enum MockBody {
    /// A complete body, taken on the first poll.
    Full(Option<Bytes>),
    /// Events sent one frame each, paced.
    Events(EventBody),
}

impl MockBody {
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        Self::Full(Some(bytes.into()))
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Events(events) => events.poll_event(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(bytes) => bytes.is_none(),
            Self::Events(events) => events.done,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Events(_) => SizeHint::default(),
        }
    }
}

/// How a stream is paced, from the control headers.
pub(crate) struct Pacing {
    /// Wait this long before every event after the first.
    pub chunk_delay: Option<Duration>,
    /// Wait for this gate to open before the second event.
    pub gate: Option<watch::Receiver<bool>>,
    /// End the body with an error once this many events were sent.
    pub abort_after: Option<usize>,
    /// Stop waiting (and end the body with an error) when the provider shuts down.
    pub shutdown: watch::Receiver<bool>,
}

type Wait = Pin<Box<dyn Future<Output = bool> + Send>>;

impl Pacing {
    /// The wait before event number `index` (0-based), if any; it resolves to `false`
    /// when the provider shut down meanwhile.
    fn wait_before(&mut self, index: usize) -> Option<Wait> {
        let delay = self.chunk_delay.filter(|_| index > 0);
        let gate = if index == 1 { self.gate.take() } else { None };
        if delay.is_none() && gate.is_none() {
            return None;
        }
        let shutdown = self.shutdown.clone();
        Some(Box::pin(async move {
            let paced = async move {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                if let Some(mut gate) = gate {
                    // The gate's sender lives as long as the provider; closed means gone.
                    return gate.wait_for(|open| *open).await.is_ok();
                }
                true
            };
            tokio::select! {
                proceed = paced => proceed,
                () = wait_shutdown(shutdown) => false,
            }
        }))
    }
}

/// A stream of pre-built events.
pub(crate) struct EventBody {
    events: std::vec::IntoIter<Bytes>,
    pacing: Pacing,
    /// Events sent so far.
    sent: usize,
    /// The wait in progress before the next event.
    wait: Option<Wait>,
    /// Whether the wait before the next event was already set up (and possibly finished).
    paced: bool,
    /// Whether the body already yielded once before aborting (see `poll_event`).
    yielded_before_abort: bool,
    /// Set once the body ended, normally or with an error.
    done: bool,
}

impl EventBody {
    pub(crate) fn new(events: Vec<Bytes>, pacing: Pacing) -> Self {
        Self {
            events: events.into_iter(),
            pacing,
            sent: 0,
            wait: None,
            paced: false,
            yielded_before_abort: false,
            done: false,
        }
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if !self.paced {
            self.paced = true;
            self.wait = self.pacing.wait_before(self.sent);
        }
        if let Some(wait) = self.wait.as_mut() {
            let proceed = ready!(wait.as_mut().poll(cx));
            self.wait = None;
            if !proceed {
                return self.fail("mock provider shut down");
            }
        }
        if self.pacing.abort_after == Some(self.sent) && self.events.len() > 0 {
            if !self.yielded_before_abort {
                // hyper drops its write buffer when a body fails. Yield once so it flushes
                // the events already sent, and the client really gets N events first.
                self.yielded_before_abort = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            return self.fail("x-mock-abort-after");
        }
        match self.events.next() {
            Some(event) => {
                self.sent += 1;
                self.paced = false;
                Poll::Ready(Some(Ok(Frame::data(event))))
            }
            None => {
                self.done = true;
                Poll::Ready(None)
            }
        }
    }

    fn fail(&mut self, why: &'static str) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.done = true;
        Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::ConnectionAborted, why))))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// Pacing with a shutdown signal that stays off as long as the returned sender lives.
    fn pacing(gate: Option<watch::Receiver<bool>>, abort_after: Option<usize>) -> (Pacing, watch::Sender<bool>) {
        let (down, shutdown) = watch::channel(false);
        (Pacing { chunk_delay: None, gate, abort_after, shutdown }, down)
    }

    fn events(n: usize) -> Vec<Bytes> {
        (0..n).map(|i| Bytes::from(format!("e{i}"))).collect()
    }

    #[tokio::test]
    async fn sends_each_event_as_a_frame() {
        let (pacing, _down) = pacing(None, None);
        let mut body = MockBody::Events(EventBody::new(events(3), pacing));
        for want in ["e0", "e1", "e2"] {
            let frame = body.frame().await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), want);
        }
        assert!(body.frame().await.is_none());
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn aborts_after_n_events() {
        let (pacing, _down) = pacing(None, Some(2));
        let mut body = MockBody::Events(EventBody::new(events(3), pacing));
        assert!(body.frame().await.unwrap().is_ok());
        assert!(body.frame().await.unwrap().is_ok());
        assert!(body.frame().await.unwrap().is_err());
        assert!(body.frame().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn holds_the_second_event_until_the_gate_opens() {
        let (gate, gate_rx) = watch::channel(false);
        let (pacing, _down) = pacing(Some(gate_rx), None);
        let mut body = MockBody::Events(EventBody::new(events(2), pacing));
        assert_eq!(body.frame().await.unwrap().unwrap().into_data().unwrap(), "e0");
        // With the clock paused, the timeout fires only once nothing else can run.
        let held = tokio::time::timeout(Duration::from_secs(60), body.frame()).await;
        assert!(held.is_err(), "second event sent before the gate opened");
        gate.send_replace(true);
        assert_eq!(body.frame().await.unwrap().unwrap().into_data().unwrap(), "e1");
    }

    #[tokio::test]
    async fn ends_with_an_error_on_shutdown_while_waiting() {
        let (_gate, gate_rx) = watch::channel(false);
        let (pacing, down) = pacing(Some(gate_rx), None);
        let mut body = MockBody::Events(EventBody::new(events(2), pacing));
        assert!(body.frame().await.unwrap().is_ok());
        down.send_replace(true);
        assert!(body.frame().await.unwrap().is_err());
    }
}
