//! The `text/event-stream` body of the replies to MCP requests (Streamable HTTP, MCP
//! 2025-03-26 and later, §"Sending Messages to the Server"; the 2026-07-28 stateless reply):
//! the events of a POST's stream and of a resumed or standalone session stream, encoded by
//! `russe` (the encoder actix-web-lab's `Sse` uses) into one buffer.
//!
//! What it does that actix-web-lab's `Sse` does not, and why (BENCHMARKS.md, "SSE replies as
//! one buffer": 6.5 % fewer instructions per SSE `tools/call`):
//! - **A reply known whole is a sized body.** When the events gathered for the head end the
//!   stream (a quick `tools/call`: the priming event and the response), the response is sent
//!   with a `Content-Length` and no chunked framing: one buffer, one poll of the body.
//! - **One chunk per poll, not per event.** Every event ready when the body is polled goes
//!   into the same chunk (up to [`MAX_CHUNK`]), so a burst of notifications is one chunk.
//! - **No wake-up of its own.** `Sse` wakes its task after handing out the `retry` hint, which
//!   cost every SSE reply one more poll of its HTTP connection (its request decoder, the
//!   middleware and the handler's body). Here the hint is the start of the first chunk.
//!
//! The long-lived streams that start without a reply (the 2026-07-28 listen stream, the
//! 2024-11-05 HTTP+SSE transport) keep actix-web-lab's `Sse`: they carry few events each, and
//! nothing is ever ready with their head.

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::stream::Fuse;
use futures_util::{Stream, StreamExt as _};
use russe::{Event, Message};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio_util::codec::Encoder as _;

/// The most bytes of events one poll of the body gathers into a chunk: past it, the chunk is
/// sent and the rest waits for the next poll.
pub const MAX_CHUNK: usize = 64 * 1024;

/// A `message` event (the default type) with `id` and `data`, as session streams send them.
pub fn message(id: Option<String>, data: &str) -> Event {
    Event::Message(Message {
        data: ByteString::from(data),
        event: None,
        retry: None,
        id: id.map(ByteString::from),
    })
}

/// A `message` event named explicitly (`event: message`), as the stateless lane sends them.
pub fn named_message(data: String) -> Event {
    Event::Message(Message {
        data: ByteString::from(data),
        event: Some(ByteString::from_static("message")),
        retry: None,
        id: None,
    })
}

/// The keep-alive comment sent after a period without events.
pub fn keep_alive() -> Event {
    Event::Comment(ByteString::from_static("keep-alive"))
}

/// The `200 text/event-stream` response: the `retry` hint (when given) and `head` first, then
/// `rest`. The events of `rest` ready now are taken too; when that ends `rest`, the response
/// has a sized body (see the module docs).
pub fn respond<S>(retry: Option<Duration>, head: Vec<Event>, rest: S) -> HttpResponse
where
    S: Stream<Item = Event> + Unpin + 'static,
{
    let mut buf = BytesMut::new();
    if let Some(retry) = retry {
        encode(&mut buf, Event::Retry(retry));
    }
    for event in head {
        encode(&mut buf, event);
    }
    let mut rest = rest.fuse();
    let waker = futures_util::task::noop_waker();
    let ended = gather(&mut buf, &mut rest, &mut Context::from_waker(&waker));
    let mut res = if ended {
        HttpResponse::with_body(StatusCode::OK, buf.freeze()).map_into_boxed_body()
    } else {
        // Never an empty chunk: actix-http's chunked encoder takes one for the end of the body.
        let body = EventStreamBody {
            first: (!buf.is_empty()).then(|| buf.freeze()),
            rest,
        };
        HttpResponse::with_body(StatusCode::OK, body).map_into_boxed_body()
    };
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(russe::MEDIA_TYPE_STR),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    // Asks proxies such as nginx not to buffer the stream.
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    res
}

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// Appends `event` to `buf`. An id the format cannot carry (a CR, LF or NUL in it; the server
/// never makes one) is left out rather than the event: the client gets the message, without a
/// point to resume from.
fn encode(buf: &mut BytesMut, mut event: Event) {
    if let Event::Message(message) = &mut event
        && message
            .id
            .as_deref()
            .is_some_and(|id| memchr::memchr3(b'\0', b'\r', b'\n', id.as_bytes()).is_some())
    {
        tracing::warn!(id = ?message.id, "SSE event id left out: the format cannot carry it");
        message.id = None;
    }
    // Nothing else can fail: the only event name is `message`.
    let _ = russe::Encoder::default().encode(event, buf);
}

/// Encodes the events of `rest` ready now into `buf`, until it holds [`MAX_CHUNK`] bytes;
/// whether `rest` ended (a fused stream says so again when asked again).
fn gather<S>(buf: &mut BytesMut, rest: &mut Fuse<S>, cx: &mut Context<'_>) -> bool
where
    S: Stream<Item = Event> + Unpin,
{
    while buf.len() < MAX_CHUNK {
        match rest.poll_next_unpin(cx) {
            Poll::Ready(Some(event)) => encode(buf, event),
            Poll::Ready(None) => return true,
            Poll::Pending => return false,
        }
    }
    false
}

/// The streamed body: the first chunk, then every event ready at each poll in one chunk.
struct EventStreamBody<S> {
    first: Option<Bytes>,
    rest: Fuse<S>,
}

impl<S> MessageBody for EventStreamBody<S>
where
    S: Stream<Item = Event> + Unpin,
{
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        let mut buf = BytesMut::new();
        let ended = gather(&mut buf, &mut this.rest, cx);
        if buf.is_empty() {
            return if ended {
                Poll::Ready(None)
            } else {
                Poll::Pending
            };
        }
        Poll::Ready(Some(Ok(buf.freeze())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::{BoxBody, to_bytes};
    use futures_util::stream;

    /// A sender of events and the stream of what it sends.
    fn channel() -> (
        tokio::sync::mpsc::UnboundedSender<Event>,
        impl Stream<Item = Event> + Unpin,
    ) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        (tx, stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }

    fn retry() -> Option<Duration> {
        Some(Duration::from_millis(3000))
    }

    /// The chunks `body` hands out, one per poll, until it ends or is pending.
    fn chunks(body: &mut BoxBody) -> (Vec<Bytes>, bool) {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut out = Vec::new();
        loop {
            match Pin::new(&mut *body).poll_next(&mut cx) {
                Poll::Ready(Some(Ok(chunk))) => out.push(chunk),
                Poll::Ready(Some(Err(e))) => panic!("body failed: {e}"),
                Poll::Ready(None) => return (out, true),
                Poll::Pending => return (out, false),
            }
        }
    }

    #[actix_web::test]
    async fn a_reply_whose_stream_ended_is_one_sized_body() {
        let head = vec![
            message(Some("s-0".into()), ""),
            message(Some("s-1".into()), r#"{"id":1}"#),
        ];
        let res = respond(retry(), head, stream::empty());
        let headers = res.headers();
        assert_eq!(
            headers.get(header::CONTENT_TYPE).unwrap(),
            "text/event-stream"
        );
        assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-cache");
        assert_eq!(headers.get("x-accel-buffering").unwrap(), "no");
        let expected = "retry: 3000\n\nid: s-0\ndata: \n\nid: s-1\ndata: {\"id\":1}\n\n";
        assert_eq!(res.body().size(), BodySize::Sized(expected.len() as u64));
        let body = to_bytes(res.into_body()).await.unwrap();
        assert_eq!(body, expected);
    }

    #[actix_web::test]
    async fn events_ready_with_the_head_join_it_and_the_rest_streams() {
        let (tx, rx) = channel();
        tx.send(named_message("1".into())).unwrap();
        let res = respond(None, vec![named_message("0".into())], rx);
        let mut body = res.into_body();
        assert_eq!(body.size(), BodySize::Stream, "the stream is still open");
        let (first, ended) = chunks(&mut body);
        assert!(!ended);
        assert_eq!(
            first,
            [Bytes::from(
                "event: message\ndata: 0\n\nevent: message\ndata: 1\n\n"
            )]
        );
        // Everything ready at a poll leaves in one chunk.
        tx.send(keep_alive()).unwrap();
        tx.send(named_message("2".into())).unwrap();
        let (next, ended) = chunks(&mut body);
        assert!(!ended);
        assert_eq!(
            next,
            [Bytes::from(": keep-alive\n\nevent: message\ndata: 2\n\n")]
        );
        drop(tx);
        assert_eq!(chunks(&mut body), (Vec::new(), true));
    }

    /// An empty chunk would end a chunked body (actix-http writes the final `0` chunk for
    /// it): a stream with nothing to send yet must say it is pending instead.
    #[actix_web::test]
    async fn a_stream_with_nothing_ready_hands_out_no_empty_chunk() {
        let (tx, rx) = channel();
        let mut body = respond(None, Vec::new(), rx).into_body();
        assert_eq!(chunks(&mut body), (Vec::new(), false));
        tx.send(named_message("late".into())).unwrap();
        drop(tx);
        let (late, ended) = chunks(&mut body);
        assert_eq!(late, [Bytes::from("event: message\ndata: late\n\n")]);
        assert!(ended);
    }

    #[actix_web::test]
    async fn data_lines_are_split_and_an_id_the_format_cannot_carry_is_left_out() {
        let head = vec![
            message(Some("s-1".into()), "a\nb\r\nc\rd"),
            message(Some("bad\nid".into()), "kept"),
        ];
        let res = respond(None, head, stream::empty());
        let body = to_bytes(res.into_body()).await.unwrap();
        assert_eq!(
            body,
            "id: s-1\ndata: a\ndata: b\ndata: c\ndata: d\n\ndata: kept\n\n"
        );
    }

    #[actix_web::test]
    async fn a_long_burst_is_cut_into_bounded_chunks_and_nothing_is_lost() {
        let data = "x".repeat(1000);
        let events: Vec<Event> = (0..200)
            .map(|i| message(Some(format!("s-{i}")), &data))
            .collect();
        let mut body = respond(None, Vec::new(), stream::iter(events)).into_body();
        let (all, ended) = chunks(&mut body);
        assert!(ended);
        assert!(
            all.len() >= 3,
            "200 KB in chunks of at most 64 KiB and an event"
        );
        assert!(all.iter().all(|c| c.len() < MAX_CHUNK + 1100));
        let text: Vec<u8> = all.concat();
        let text = String::from_utf8_lossy(&text);
        let ids: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("id: "))
            .collect();
        let expected: Vec<String> = (0..200).map(|i| format!("s-{i}")).collect();
        assert_eq!(ids, expected);
    }
}
