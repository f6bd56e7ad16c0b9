//! Turns a session stream into a `text/event-stream` response ([`event_stream`]): a `retry`
//! hint first, the 2025-11-25 priming event when the session negotiated it, one `message` event
//! per JSON-RPC message with its `<stream>-<seq>` id, keep-alive comments, and
//! `X-Accel-Buffering: no` so proxies such as nginx do not buffer the stream.
//!
//! The head of a POST's stream (and of a 2026-07-28 stateless reply streamed as SSE) waits (at
//! most [`HEAD_HOLD`]) for the stream's first message, so
//! that a reply ready within that time leaves in the same socket write as the head: actix-web
//! sends the head as soon as the body is pending, and with the Redis store the reply is one
//! round trip away, which made every quick SSE reply two writes on the connection (and two
//! wake-ups of the client) instead of one. Before arming the hold's timer the head looks again
//! after a turn of its thread's queue ([`QUICK_LOOKS`]): a reply computed on the same thread is
//! usually ready by then, and the timer cost a system call per request. With a shared store it
//! does not look: the reply is a store round trip away, which a turn of the queue never sees.
//!
//! The same wait makes the head the point where a POST whose session is unconfirmed
//! ([`crate::session::Found::unconfirmed`]: a request that changes nothing, on a live actor,
//! with the per-request session check riding on the store's write of its reply) learns whether
//! its session still exists: a stored message in the head vouches for it (the store refuses to
//! append to a deleted session); without one (a reply slower than the hold, a stream ended
//! without a message) the session is confirmed with the store before the head is sent, and a
//! deleted session gets 404 like any request sent after its DELETE.

use crate::http::McpState;
use crate::http::error::HttpError;
use crate::http::event_stream;
use crate::http::headers::SESSION_ID_NAME;
use crate::session::Connection;
use crate::session::stream::{Frame, ReaderOptions, ReaderSource, StopOn, reader_stream};
use actix_web::HttpResponse;
use actix_web::http::header::HeaderValue;
use futures_util::stream::Fuse;
use futures_util::{FutureExt as _, Stream, StreamExt as _};
use std::sync::Arc;
use std::time::Duration;

/// How long the head of a POST stream opened by this replica waits for the stream's first
/// message (a reply, a notification, a request to the client) before it is sent alone. Past
/// it, a long-running request's client gets the head (and the priming event) at once and
/// the messages as they come; within it, head and message leave in one write.
pub const HEAD_HOLD: Duration = Duration::from_millis(20);

/// What to stream.
pub struct StreamRequest {
    /// Session id.
    pub session: String,
    /// Stream id.
    pub stream: String,
    /// Cursor: `None` = from the current end (fresh standalone stream).
    pub after: Option<u64>,
    /// Send the priming event.
    pub prime: bool,
    /// The connection attached to the session.
    pub connection: Connection,
    /// A POST stream opened by this request on this replica (see `ReaderOptions::fresh`).
    pub fresh: bool,
    /// The session still has to be confirmed to exist before the head is sent (a fresh stream
    /// only; see the module docs).
    pub unconfirmed: bool,
    /// Time left on the caller's token: the connection (not the stream) closes then, so the
    /// client reconnects with `Last-Event-ID` and a fresh token.
    pub token_lifetime: Option<Duration>,
}

/// Builds the SSE response, whose body reads the stream; for a fresh POST stream, after its
/// first message or [`HEAD_HOLD`], whichever comes first (see the module docs). 404 when an
/// unconfirmed session turns out to be gone; 503 when the store cannot say.
pub async fn respond(state: &McpState, s: StreamRequest) -> Result<HttpResponse, HttpError> {
    let settings = &state.settings;
    let options = ReaderOptions {
        prime: s.prime,
        max_connection: [
            (settings.sse.max_connection_secs > 0)
                .then(|| Duration::from_secs(settings.sse.max_connection_secs)),
            s.token_lifetime,
        ]
        .into_iter()
        .flatten()
        .min(),
        batch: 256,
        keep_alive: settings.keep_alive(),
        fresh: s.fresh,
    };
    // A POST stream answers a request running on this replica: it stays open during the drain
    // until its response is written (or the drain deadline), other streams close at once.
    let stop = StopOn {
        connection: s.connection.ticket,
        shutdown: if s.fresh {
            state.drain_deadline.clone()
        } else {
            state.shutdown.clone()
        },
    };
    let guard = s.connection.guard;
    let source = ReaderSource {
        events: Arc::clone(state.sessions.events()),
        session: Arc::from(s.session.as_str()),
        stream: s.stream,
        after: s.after,
    };
    let mut frames = reader_stream(source, options, stop, guard).fuse();
    let head = if s.fresh {
        // With a shared store the first message is a store round trip away, which no turn of
        // this thread's queue can see (its reply is read by the I/O driver): no quick looks.
        let looks = if state.sessions.shared_store() {
            0
        } else {
            QUICK_LOOKS
        };
        let head = until_first(&mut frames, HEAD_HOLD, looks, is_message).await;
        if s.unconfirmed
            && !head.iter().any(carries_message)
            && !state.sessions.confirm(&s.session).await?
        {
            return Err(HttpError::SessionNotFound);
        }
        head
    } else {
        Vec::new()
    };
    let retry = Some(Duration::from_millis(settings.sse.retry_ms));
    let head = head.into_iter().map(to_event).collect();
    let mut res = event_stream::respond(retry, head, frames.map(to_event));
    // The id was checked as visible ASCII (or generated here): it is always a valid value.
    if let Ok(id) = HeaderValue::from_str(&s.session) {
        res.headers_mut().insert(SESSION_ID_NAME, id);
    }
    Ok(res)
}

/// A session stream's frame as an SSE event: `id` and `data` (no event name), or the
/// keep-alive comment.
fn to_event(frame: Frame) -> russe::Event {
    match frame {
        Frame::Event { id, data } => event_stream::message(Some(id), &data),
        Frame::KeepAlive => event_stream::keep_alive(),
    }
}

/// Whether a frame ends the wait for the head: any frame but the priming event (an event
/// without data), so a message, a keep-alive (or the stream's end, see [`until_first`]).
fn is_message(frame: &Frame) -> bool {
    !matches!(frame, Frame::Event { data, .. } if data.is_empty())
}

/// Whether a frame is a stored message (not the priming event, not a keep-alive): proof that
/// the session existed when it was appended.
fn carries_message(frame: &Frame) -> bool {
    matches!(frame, Frame::Event { data, .. } if !data.is_empty())
}

/// What [`until_first`] gathers of `items` within `hold` (sent with the response's head), and
/// the rest of `items`.
pub(crate) async fn held_head<S, T>(
    items: S,
    hold: Duration,
    ends_wait: impl Fn(&T) -> bool,
) -> (Vec<T>, Fuse<S>)
where
    S: Stream<Item = T> + Unpin,
{
    let mut items = items.fuse();
    let head = until_first(&mut items, hold, QUICK_LOOKS, ends_wait).await;
    (head, items)
}

/// The items `items` yields up to and including the first one `ends_wait` accepts, or up to
/// its end or `hold`, whichever comes first: what an SSE response sends with its head (see the
/// module docs). `items` keeps what comes later (polling it is cancel-safe). Before arming the
/// hold's timer it looks again after a turn of the thread's queue, `looks` times.
async fn until_first<S, T>(
    items: &mut S,
    hold: Duration,
    mut looks: u32,
    ends_wait: impl Fn(&T) -> bool,
) -> Vec<T>
where
    S: Stream<Item = T> + Unpin,
{
    let until = tokio::time::Instant::now() + hold;
    let mut head = Vec::new();
    loop {
        let next = match items.next().now_or_never() {
            Some(next) => next,
            None if looks > 0 => {
                looks -= 1;
                requeue().await;
                continue;
            }
            None => match tokio::time::timeout_at(until, items.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
        };
        let Some(item) = next else { break };
        let done = ends_wait(&item);
        head.push(item);
        if done {
            break;
        }
    }
    head
}

/// How many times [`until_first`] puts itself back in its thread's queue before it arms the
/// hold's timer. A quick reply is computed by a task on the same thread (the session actor
/// moves to the worker its requests arrive on), already queued when the head starts to wait,
/// so it is usually ready after one turn. Arming the timer instead cost a system call per
/// request: registering a timer earlier than any the runtime has pending wakes its driver
/// (an `eventfd` write), 0.9 per embedded SSE call before this. With a shared store the looks
/// are skipped: the reply is stored by a round trip whose answer only the runtime's I/O driver
/// reads, which a turn of the queue does not run, so each look was a wasted poll of the whole
/// connection (its request decoder, the middleware and the handler).
const QUICK_LOOKS: u32 = 2;

/// Yields once by waking itself: the task goes to the back of its thread's local queue, behind
/// the tasks already there, without the driver round `tokio::task::yield_now` waits for.
async fn requeue() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream::{self, BoxStream};
    use std::time::Instant;

    fn event(data: &str) -> Frame {
        Frame::Event {
            id: "0000000000000001-0".into(),
            data: Arc::from(data),
        }
    }

    /// The priming event at once, then `message` after `delay`, then the end.
    fn primed(delay: Duration, message: &'static str) -> BoxStream<'static, Frame> {
        let later = async move {
            tokio::time::sleep(delay).await;
            event(message)
        };
        stream::iter([event("")]).chain(stream::once(later)).boxed()
    }

    fn data(frames: &[Frame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| match f {
                Frame::Event { data, .. } => data.to_string(),
                Frame::KeepAlive => "keep-alive".into(),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_reply_ready_within_the_hold_goes_out_with_the_head() {
        let mut frames = primed(Duration::from_millis(5), "reply").fuse();
        let head = until_first(&mut frames, Duration::from_secs(5), QUICK_LOOKS, is_message).await;
        assert_eq!(data(&head), ["", "reply"]);
        assert!(frames.next().await.is_none(), "nothing left but the end");
    }

    #[test]
    fn a_reply_computed_by_a_task_queued_on_this_thread_needs_no_timer() {
        // A runtime without timers: arming the hold's timer would panic, so the reply must be
        // gathered by the quick looks alone.
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
            panic!("a current-thread runtime");
        };
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let _ = tx.send(event(""));
            tokio::task::spawn_local(async move {
                let _ = tx.send(event("reply"));
            });
            let mut frames = stream::poll_fn(move |cx| rx.poll_recv(cx)).fuse();
            let head =
                until_first(&mut frames, Duration::from_secs(5), QUICK_LOOKS, is_message).await;
            assert_eq!(data(&head), ["", "reply"]);
        });
    }

    /// `primed`, counting how often it is polled.
    fn counted(
        delay: Duration,
    ) -> (
        impl Stream<Item = Frame> + Unpin,
        Arc<std::sync::atomic::AtomicUsize>,
    ) {
        let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut inner = primed(delay, "reply");
        let counter = Arc::clone(&polls);
        let frames = stream::poll_fn(move |cx| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            inner.poll_next_unpin(cx)
        });
        (frames.fuse(), polls)
    }

    #[tokio::test]
    async fn without_quick_looks_a_reply_a_round_trip_away_costs_no_extra_polls() {
        let (mut quick, quick_polls) = counted(Duration::from_millis(5));
        let head = until_first(&mut quick, Duration::from_secs(5), QUICK_LOOKS, is_message).await;
        assert_eq!(data(&head), ["", "reply"]);
        let (mut armed, armed_polls) = counted(Duration::from_millis(5));
        let head = until_first(&mut armed, Duration::from_secs(5), 0, is_message).await;
        assert_eq!(data(&head), ["", "reply"], "the same head");
        let (quick, armed) = (
            quick_polls.load(std::sync::atomic::Ordering::Relaxed),
            armed_polls.load(std::sync::atomic::Ordering::Relaxed),
        );
        // The priming event, a look that finds nothing, the armed wait and its wake-up.
        assert!(armed <= 4, "{armed} polls without looks");
        assert_eq!(quick, armed + QUICK_LOOKS as usize, "each look is a poll");
    }

    #[tokio::test]
    async fn a_slow_reply_does_not_hold_the_head_beyond_the_hold() {
        let mut frames = primed(Duration::from_millis(600), "late").fuse();
        let started = Instant::now();
        let head = until_first(
            &mut frames,
            Duration::from_millis(20),
            QUICK_LOOKS,
            is_message,
        )
        .await;
        assert!(started.elapsed() < Duration::from_millis(400));
        assert_eq!(data(&head), [""], "only the priming event");
        let rest: Vec<Frame> = frames.collect().await;
        assert_eq!(data(&rest), ["late"], "the reply follows, once");
    }

    #[tokio::test]
    async fn a_stream_ending_within_the_hold_is_not_polled_again() {
        let mut frames = stream::iter([event("")]).boxed().fuse();
        let head = until_first(&mut frames, Duration::from_secs(5), QUICK_LOOKS, is_message).await;
        assert_eq!(data(&head), [""]);
        // The response chains the rest: a fused stream answers `None` again.
        assert!(frames.next().await.is_none());
        let mut kept = stream::iter([Frame::KeepAlive, event("x")]).boxed().fuse();
        let head = until_first(&mut kept, Duration::from_secs(5), QUICK_LOOKS, is_message).await;
        assert_eq!(data(&head), ["keep-alive"], "a keep-alive sends the head");
    }
}
