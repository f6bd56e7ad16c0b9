//! SSE streams as durable logs: [`StreamWriter`] appends messages to a stream's event log, and
//! [`spawn_reader`] serves one HTTP connection by replaying the log after a cursor and then
//! following it.
//!
//! Every SSE connection, fresh or resumed, is just a reader of a log: an event exists in the
//! store before any socket sees it, so a client that loses its connection resumes with
//! `Last-Event-ID` and gets exactly what it missed, on any replica. A reader ends when its
//! stream is closed and drained, when its connection ticket is cancelled (DELETE, a newer GET
//! taking over the standalone stream, shutdown), when its maximum connection time is reached
//! (2025-11-25 SSE polling: the client reconnects after `retry`), when the session disappears
//! from the store, or when the client goes away.

use crate::session::event_id::EventId;
use crate::session::runner_gate::RunnerGate;
use crate::store::{EventBatch, EventStore, StoreError};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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
        let Some(skip) = &self.skip else {
            return false;
        };
        if message.get("id").is_some() {
            return false;
        }
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
        if let Some(runner) = &self.runner {
            runner.store_now().await;
        }
        let data: Arc<str> = Arc::from(message.to_string());
        self.events
            .append(&self.session, &self.stream, data, false)
            .await
    }

    /// Stores the last message of the stream and ends it, in one store operation.
    pub async fn send_final(&self, message: &Value) -> Result<u64, StoreError> {
        if let Some(runner) = &self.runner {
            runner.closing().await;
        }
        let data: Arc<str> = Arc::from(message.to_string());
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
    /// store's local cache, and from the backend only when the cache lacks announced events.
    pub fresh: bool,
}

/// Starts a task that feeds `tx` with the events of `source`.
///
/// The task stops on any of the conditions in the module docs; dropping `guard` with it tells
/// the session that the connection is gone.
pub fn spawn_reader<G: Send + 'static>(
    source: ReaderSource,
    options: ReaderOptions,
    stop: StopOn,
    tx: mpsc::Sender<Frame>,
    guard: G,
) {
    tokio::spawn(async move {
        let _guard = guard;
        let ReaderSource {
            events,
            session,
            stream,
            after,
        } = source;
        match run_reader(&*events, &session, &stream, after, &options, &stop, &tx).await {
            Ok(()) => {}
            // The session was deleted or expired while the connection was open: a normal end.
            Err(StoreError::NotFound) => {
                tracing::debug!(session = %session, stream = %stream, "SSE reader ended: session gone");
            }
            Err(e) => {
                tracing::warn!(session = %session, stream = %stream, error = %e, "SSE reader stopped")
            }
        }
    });
}

async fn run_reader(
    events: &dyn EventStore,
    session: &str,
    stream: &str,
    after: Option<u64>,
    options: &ReaderOptions,
    stop: &StopOn,
    tx: &mpsc::Sender<Frame>,
) -> Result<(), StoreError> {
    let deadline = options
        .max_connection
        .map(|d| tokio::time::Instant::now() + d);
    let mut watch = events.watch(session, stream)?;
    let mut cursor = match after {
        Some(c) => c,
        None => events
            .stream_info(session, stream)
            .await?
            .map_or(0, |i| i.last_seq),
    };
    if options.prime {
        let id = EventId::new(stream, cursor).to_string();
        if tx
            .send(Frame::Event {
                id,
                data: Arc::from(""),
            })
            .await
            .is_err()
        {
            return Ok(());
        }
    }
    loop {
        let announced = *watch.borrow_and_update();
        let limit = options.batch.max(1);
        let batch = match options
            .fresh
            .then(|| events.read_local(session, stream, cursor, limit))
        {
            Some(Some(batch)) => batch,
            // Nothing announced beyond the cursor yet: nothing to read.
            Some(None) if announced <= cursor => EventBatch::default(),
            _ => events.read_after(session, stream, cursor, limit).await?,
        };
        let full = batch.events.len() >= options.batch.max(1);
        for event in batch.events {
            cursor = event.seq;
            let frame = Frame::Event {
                id: EventId::new(stream, event.seq).to_string(),
                data: event.data,
            };
            if tx.send(frame).await.is_err() {
                return Ok(());
            }
        }
        if batch.closed {
            return Ok(());
        }
        if full {
            continue;
        }
        // Wait for new events; keep-alives do not re-read the store.
        loop {
            let until_deadline = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = watch.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    break;
                }
                () = stop.connection.cancelled() => return Ok(()),
                () = stop.shutdown.cancelled() => return Ok(()),
                () = until_deadline => return Ok(()),
                () = tx.closed() => return Ok(()),
                () = tokio::time::sleep(options.keep_alive) => {
                    if tx.send(Frame::KeepAlive).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }
}
