//! SSE streams as durable logs: [`StreamWriter`] appends messages to a stream's event log, and
//! [`reader_stream`] serves one HTTP connection by replaying the log after a cursor and then
//! following it.
//!
//! Every SSE connection, fresh or resumed, is just a reader of a log: an event exists in the
//! store before any socket sees it, so a client that loses its connection resumes with
//! `Last-Event-ID` and gets exactly what it missed, on any replica. A reader ends when its
//! stream is closed and drained, when its connection ticket is cancelled (DELETE, a newer GET
//! taking over the standalone stream, shutdown), when its maximum connection time is reached
//! (2025-11-25 SSE polling: the client reconnects after `retry`), when the session disappears
//! from the store, when the store stays unavailable over a few retries, or when the client goes
//! away.

use crate::session::event_id::EventId;
use crate::session::runner_gate::RunnerGate;
use crate::store::{EventBatch, EventStore, StoreError, StreamWatch, WatchScope};
use futures_util::FutureExt as _;
use futures_util::StreamExt as _;
use futures_util::future::{BoxFuture, Fuse};
use futures_util::stream::BoxStream;
use serde_json::Value;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Reads of the store a reader tries again after it answered `Unavailable` (time-out,
/// connection lost) before it ends its connection; the client then resumes with
/// `Last-Event-ID` (on any replica).
const READ_RETRIES: u32 = 3;
/// The pause before the first retry; the n-th waits n times as long.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// Appends JSON-RPC messages to one stream of one session.
#[derive(Clone)]
pub struct StreamWriter {
    events: Arc<dyn EventStore>,
    session: Arc<str>,
    stream: Arc<str>,
    /// Notifications still to drop: a request run again after a takeover repeats the
    /// notifications its first run already stored.
    skip: Option<Arc<AtomicU64>>,
    /// The runner record of a POST stream, stored before its first non-final event.
    runner: Option<Arc<RunnerGate>>,
}

impl StreamWriter {
    /// A writer for `stream` of `session`.
    pub fn new(events: Arc<dyn EventStore>, session: Arc<str>, stream: &str) -> Self {
        Self {
            events,
            session,
            stream: Arc::from(stream),
            skip: None,
            runner: None,
        }
    }

    /// The same writer, storing the runner record held by `runner` before the stream's first
    /// event that does not end it, and never once the stream ended (see [`RunnerGate`]).
    pub fn with_runner(mut self, runner: Arc<RunnerGate>) -> Self {
        self.runner = Some(runner);
        self
    }

    /// The same writer, dropping the first `notifications` notifications it is given (those
    /// the stream already holds from an earlier run of the same deterministic request).
    pub fn skipping(mut self, notifications: u64) -> Self {
        self.skip = (notifications > 0).then(|| Arc::new(AtomicU64::new(notifications)));
        self
    }

    /// Whether `message` is dropped as a repeat (a notification while some remain to skip).
    fn repeat(&self, message: &Value) -> bool {
        message.get("id").is_none() && self.skip_notification()
    }

    /// Whether the next notification is dropped as a repeat (counts it if so).
    fn skip_notification(&self) -> bool {
        let Some(skip) = &self.skip else {
            return false;
        };
        skip.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The stream id.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Stores one message; returns its sequence number (0 for a dropped repeat).
    pub async fn send(&self, message: &Value) -> Result<u64, StoreError> {
        if self.repeat(message) {
            return Ok(0);
        }
        self.append(encode(message)).await
    }

    /// Stores one notification given as its encoded JSON ([`encode`]): a server event that
    /// every session with a standalone stream receives is encoded once per worker thread, not
    /// once per stream, and the logs share the text. Returns its sequence number (0 for a repeat).
    pub async fn send_encoded_notification(&self, data: Arc<str>) -> Result<u64, StoreError> {
        if self.skip_notification() {
            return Ok(0);
        }
        self.append(data).await
    }

    /// Appends an event that does not end the stream (storing the runner record first).
    async fn append(&self, data: Arc<str>) -> Result<u64, StoreError> {
        if let Some(runner) = &self.runner {
            runner.store_now().await;
        }
        self.events
            .append(&self.session, &self.stream, data, false)
            .await
    }

    /// Stores the last message of the stream and ends it, in one store operation. A POST
    /// stream whose runner record was never stored gets here with nothing before this message
    /// and known to no other replica: [`EventStore::append_sole`].
    pub async fn send_final(&self, message: &Value) -> Result<u64, StoreError> {
        let sole = match &self.runner {
            Some(runner) => !runner.closing().await,
            None => false,
        };
        let data = encode(message);
        if sole {
            return self
                .events
                .append_sole(&self.session, &self.stream, data)
                .await;
        }
        self.events
            .append(&self.session, &self.stream, data, true)
            .await
    }

    /// Ends the stream after its last message.
    pub async fn close(&self) -> Result<(), StoreError> {
        if let Some(runner) = &self.runner {
            runner.closing().await;
        }
        self.events.close_stream(&self.session, &self.stream).await
    }
}

/// A message as stored: compact JSON. `serde_json::to_string` writes into a byte buffer
/// directly, where `Value`'s `Display` goes through the formatter one piece at a time (a
/// measurable share of an SSE reply's CPU). Serializing a `Value` cannot fail: its map keys
/// are strings.
pub fn encode(message: &Value) -> Arc<str> {
    serde_json::to_string(message).map_or_else(|_| Arc::from("null"), Arc::from)
}

/// One frame of an SSE connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// An event with an id and a JSON payload (empty for the priming event).
    Event {
        /// `<stream>-<seq>`.
        id: String,
        /// The payload.
        data: Arc<str>,
    },
    /// A keep-alive comment after a period without events.
    KeepAlive,
}

/// Which log a reader follows, and from where.
#[derive(Clone)]
pub struct ReaderSource {
    /// The event store.
    pub events: Arc<dyn EventStore>,
    /// Session id.
    pub session: Arc<str>,
    /// Stream id.
    pub stream: String,
    /// Cursor: events with a greater sequence number are sent; `None` starts at the current end
    /// of the log (a fresh standalone stream).
    pub after: Option<u64>,
}

/// What ends a reader besides its stream: its connection ticket (DELETE, takeover, a tool
/// closing the connection) and the replica's shutdown.
#[derive(Debug, Clone)]
pub struct StopOn {
    /// Cancelled by the session.
    pub connection: CancellationToken,
    /// Cancelled when the replica shuts down.
    pub shutdown: CancellationToken,
}

/// How a reader behaves.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Send a priming event (id = starting cursor, empty data) first (2025-11-25).
    pub prime: bool,
    /// Close the connection (not the stream) after this long; `None` keeps it open.
    pub max_connection: Option<Duration>,
    /// Events fetched per store read.
    pub batch: usize,
    /// Idle time after which a keep-alive comment is sent.
    pub keep_alive: Duration,
    /// The stream was just opened on this replica, which alone writes it: read from the
    /// store's local cache, and from the backend only when the cache lacks announced events;
    /// other replicas' wake-ups are not needed ([`WatchScope::Local`]).
    pub fresh: bool,
}

/// The frames of one SSE connection reading `source`, as a stream the HTTP response body polls
/// directly (no task or channel in between: one wake-up less per event than a reader task).
///
/// The stream ends on any of the conditions in the module docs; `guard` lives as long as the
/// stream, so dropping the response (the client went away) or reaching the end tells the
/// session that the connection is gone.
pub fn reader_stream<G: Send + 'static>(
    source: ReaderSource,
    options: ReaderOptions,
    stop: StopOn,
    guard: G,
) -> BoxStream<'static, Frame> {
    let deadline = options
        .max_connection
        .map(|d| tokio::time::Instant::now() + d);
    let ending = async move { must_end(&stop, deadline).await }
        .boxed()
        .fuse();
    let state = Reader {
        source,
        options,
        ending,
        idle: None,
        watch: None,
        cursor: 0,
        pending: VecDeque::new(),
        done: false,
        caught_up: false,
        _guard: guard,
    };
    futures_util::stream::unfold(state, |mut r| async move {
        let mut failures = 0;
        loop {
            match r.next_frame().await {
                Ok(Some(frame)) => return Some((frame, r)),
                Ok(None) => return None,
                // The session was deleted or expired while the connection was open: a normal end.
                Err(StoreError::NotFound) => {
                    tracing::debug!(session = %r.source.session, stream = %r.source.stream, "SSE reader ended: session gone");
                    return None;
                }
                // A slow or briefly unreachable store: read again after a pause rather than
                // end the connection at the first time-out (nothing is lost either way: the
                // cursor only moves past events handed out).
                Err(StoreError::Unavailable(e)) if failures < READ_RETRIES => {
                    failures += 1;
                    tracing::debug!(session = %r.source.session, stream = %r.source.stream, error = %e, attempt = failures, "SSE reader retrying");
                    if !r.pause(RETRY_PAUSE * failures).await {
                        return None;
                    }
                }
                Err(e) => {
                    tracing::warn!(session = %r.source.session, stream = %r.source.stream, error = %e, "SSE reader stopped");
                    return None;
                }
            }
        }
    })
    .boxed()
}

/// Starts a task that feeds `tx` with [`reader_stream`] (stdio, whose output is a channel).
pub fn spawn_reader<G: Send + 'static>(
    source: ReaderSource,
    options: ReaderOptions,
    stop: StopOn,
    tx: mpsc::Sender<Frame>,
    guard: G,
) {
    tokio::spawn(async move {
        let mut frames = reader_stream(source, options, stop, guard);
        loop {
            tokio::select! {
                frame = frames.next() => match frame {
                    Some(frame) => if tx.send(frame).await.is_err() { return },
                    None => return,
                },
                () = tx.closed() => return,
            }
        }
    });
}

/// The state of one reader between frames.
struct Reader<G> {
    source: ReaderSource,
    options: ReaderOptions,
    /// Completes when the connection must end ([`must_end`]). Kept for the reader's life,
    /// like `idle`: made anew for every wait, it registered with both cancellation tokens
    /// (the shutdown token's waiter list is shared by every reader of the replica) and with
    /// the timer, and unregistered again, for every event of every stream.
    ending: Fuse<BoxFuture<'static, ()>>,
    /// The keep-alive timer, moved forward before each wait (an extension, which the timer
    /// takes without its lock).
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Set on the first poll (with the starting cursor).
    watch: Option<StreamWatch>,
    cursor: u64,
    /// Frames read and not yet handed out.
    pending: VecDeque<Frame>,
    /// No frame will follow the pending ones.
    done: bool,
    /// The last read was not a full batch: wait for an announcement before reading again.
    caught_up: bool,
    _guard: G,
}

impl<G> Reader<G> {
    /// The next frame, `None` at the end.
    async fn next_frame(&mut self) -> Result<Option<Frame>, StoreError> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Ok(Some(frame));
            }
            if self.done {
                return Ok(None);
            }
            if self.caught_up {
                self.caught_up = false;
                self.wait().await;
                continue;
            }
            let events = &self.source.events;
            let (session, stream) = (&*self.source.session, self.source.stream.as_str());
            let Some(watch) = self.watch.as_mut() else {
                let scope = if self.options.fresh {
                    WatchScope::Local
                } else {
                    WatchScope::Any
                };
                let watch = events.watch(session, stream, scope).await?;
                self.cursor = match self.source.after {
                    Some(c) => c,
                    None => events
                        .stream_info(session, stream)
                        .await?
                        .map_or(0, |i| i.last_seq),
                };
                self.watch = Some(watch);
                if self.options.prime {
                    self.pending.push_back(Frame::Event {
                        id: EventId::new(stream, self.cursor).to_string(),
                        data: Arc::from(""),
                    });
                }
                continue;
            };
            let announced = *watch.borrow_and_update();
            let limit = self.options.batch.max(1);
            let cursor = self.cursor;
            let batch = match self
                .options
                .fresh
                .then(|| events.read_local(session, stream, cursor, limit))
            {
                Some(Some(batch)) => batch,
                // Nothing announced beyond the cursor yet: nothing to read.
                Some(None) if announced <= cursor => EventBatch::default(),
                _ => events.read_after(session, stream, cursor, limit).await?,
            };
            let full = batch.events.len() >= limit;
            for event in batch.events {
                self.cursor = event.seq;
                self.pending.push_back(Frame::Event {
                    id: EventId::new(stream, event.seq).to_string(),
                    data: event.data,
                });
            }
            if batch.closed {
                self.done = true;
            }
            self.caught_up = !full;
        }
    }

    /// Sleeps `pause` unless the connection must end first; `false` when it must.
    async fn pause(&mut self, pause: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(pause) => true,
            () = &mut self.ending => false,
        }
    }

    /// Waits for new events (keep-alives do not re-read the store); sets `done` on any end.
    async fn wait(&mut self) {
        let Some(watch) = self.watch.as_mut() else {
            return;
        };
        let keep_alive = tokio::time::Instant::now() + self.options.keep_alive;
        let idle = match &mut self.idle {
            Some(idle) => {
                idle.as_mut().reset(keep_alive);
                idle
            }
            None => self
                .idle
                .insert(Box::pin(tokio::time::sleep_until(keep_alive))),
        };
        tokio::select! {
            changed = watch.changed() => {
                if changed.is_err() {
                    self.done = true;
                }
            }
            () = &mut self.ending => self.done = true,
            () = idle.as_mut() => {
                self.pending.push_back(Frame::KeepAlive);
            }
        }
    }
}

/// Completes when a reader's connection must end whatever its stream does: its ticket is
/// cancelled, the replica shuts down, or its maximum connection time is reached.
async fn must_end(stop: &StopOn, deadline: Option<tokio::time::Instant>) {
    let until_deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = stop.connection.cancelled() => {}
        () = stop.shutdown.cancelled() => {}
        () = until_deadline => {}
    }
}
