//! Turns a session stream into a `text/event-stream` response (actix-web-lab `Sse`): a `retry`
//! hint first, the 2025-11-25 priming event when the session negotiated it, one `message` event
//! per JSON-RPC message with its `<stream>-<seq>` id, keep-alive comments, and
//! `X-Accel-Buffering: no` so proxies such as nginx do not buffer the stream.

use crate::http::McpState;
use crate::http::headers::SESSION_ID;
use crate::session::Connection;
use crate::session::stream::{Frame, ReaderOptions, ReaderSource, StopOn, reader_stream};
use actix_web::{HttpRequest, HttpResponse, Responder};
use actix_web_lab::sse::{Data, Event, Sse};
use futures_util::StreamExt as _;
use std::sync::Arc;
use std::time::Duration;

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
    /// Time left on the caller's token: the connection (not the stream) closes then, so the
    /// client reconnects with `Last-Event-ID` and a fresh token.
    pub token_lifetime: Option<Duration>,
}

/// Builds the SSE response, whose body reads the stream.
pub fn respond(req: &HttpRequest, state: &McpState, s: StreamRequest) -> HttpResponse {
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
    let events = reader_stream(source, options, stop, guard).map(|frame| -> Event {
        match frame {
            Frame::Event { id, data } => Data::new(data.to_string()).id(id).into(),
            Frame::KeepAlive => Event::Comment("keep-alive".into()),
        }
    });
    Sse::from_infallible_stream(events)
        .with_retry_duration(Duration::from_millis(settings.sse.retry_ms))
        .customize()
        .insert_header(("X-Accel-Buffering", "no"))
        .insert_header((SESSION_ID, s.session))
        .respond_to(req)
        .map_into_boxed_body()
}
