//! Persistence seams: session records ([`SessionStore`]), per-stream SSE event logs
//! ([`EventStore`]) and task records of the tasks extension ([`TaskStore`], [`task`]), with the
//! embedded in-process implementations in [`memory`] and [`memory_tasks`].
//!
//! The store is the source of truth; a session actor is a cache of its record. Keys, TTLs and
//! trimming are store concerns, MCP methods are not: the store sees records, streams of opaque
//! payloads and sequence numbers. Every backend must pass the behavioural suite in
//! `tests/store_suite/`.
//!
//! Event-log contract: `append` returns the new event's sequence number (1, 2, 3 ... per
//! stream) and wakes watchers; readers call `read_after(cursor)` and wait on `watch` for more.
//! An event is in the store before any reader can see it, which is what makes `Last-Event-ID`
//! resumption lossless.

pub mod bus;
pub mod memory;
mod memory_ended;
mod memory_log;
mod memory_shards;
pub mod memory_tasks;
pub mod observe;
pub mod rate;
pub mod record;
pub mod redis;
pub mod runner;
pub mod task;

use async_trait::async_trait;
pub use observe::StoreObserver;
pub use rate::RateDecision;
pub use record::{SessionPatch, SessionRecord};
use std::sync::Arc;
pub use task::{TaskRecord, TaskStore};
use tokio::sync::watch;

/// Store failures, mapped to HTTP by the transport (`Unavailable` → 503 with `Retry-After`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached right now.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The session does not exist (never created, expired or deleted).
    #[error("session not found")]
    NotFound,
    /// A session with this id already exists.
    #[error("session already exists")]
    AlreadyExists,
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The configured limit on live sessions is reached.
    #[error("too many sessions (limit {0})")]
    Full(usize),
}

/// One stored SSE event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in its stream, starting at 1.
    pub seq: u64,
    /// The serialized payload.
    pub data: Arc<str>,
}

/// The result of reading a stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventBatch {
    /// Events after the cursor, oldest first.
    pub events: Vec<StoredEvent>,
    /// The stream has ended: no event will ever be appended again.
    pub closed: bool,
}

/// What is known about a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamInfo {
    /// The highest sequence number ever appended (0 when empty).
    pub last_seq: u64,
    /// Whether the stream has ended.
    pub closed: bool,
}

/// Which appends a stream's reader must be woken by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchScope {
    /// Only this replica's: the stream was just opened here, by a request this replica runs
    /// (a POST's SSE reply).
    Local,
    /// Any replica's (a GET stream, a resumed stream).
    Any,
}

/// Wakes a reader when a stream may have new events. The sender side is dropped when the
/// session is deleted or expires, which ends `changed()` with an error: readers then stop.
pub type StreamWatch = watch::Receiver<u64>;

/// Session records.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Creates a record; fails with `AlreadyExists` or `Full`.
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError>;
    /// Loads a live (not expired) record.
    async fn load_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Applies a field-level change; `NotFound` if the session is gone.
    async fn update_session(&self, id: &str, patch: &SessionPatch) -> Result<(), StoreError>;
    /// Slides the idle expiry; returns false if the session is gone.
    async fn touch_session(&self, id: &str) -> Result<bool, StoreError>;
    /// Whether a live record exists, without sliding its expiry: the per-request check of
    /// `session.verify_each_request` (the actor slides the expiry every `touch_every`), as
    /// cheap as the store allows (one `EXISTS` in Redis).
    async fn session_exists(&self, id: &str) -> Result<bool, StoreError>;
    /// Deletes the record and all its event logs; returns whether it existed.
    async fn delete_session(&self, id: &str) -> Result<bool, StoreError>;
    /// Ids of live sessions (for operators; may be slow on large stores).
    async fn list_sessions(&self, limit: usize) -> Result<Vec<String>, StoreError>;
    /// Whether the backend answers (readiness).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Number of live (not expired) sessions in the store, for every replica sharing it.
    async fn count_sessions(&self) -> Result<u64, StoreError>;
    /// Takes a token from the bucket `key` (an opaque string) refilled at `rate` tokens per
    /// second and holding at most `burst`, atomically for every replica sharing the store (the
    /// `store` backend of `[rate_limit]`). Stores without buckets answer `Unavailable`.
    async fn take_token(
        &self,
        key: &str,
        rate: f64,
        burst: u32,
    ) -> Result<RateDecision, StoreError> {
        let _ = (key, rate, burst);
        Err(StoreError::Unavailable(
            "this store keeps no rate-limit buckets".into(),
        ))
    }
}

/// Per-stream SSE event logs.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends a payload to a stream, creating the stream if needed, and closes the stream after
    /// it when `close` is set (one round trip for a final response); `NotFound` if the session
    /// is gone, error if the stream is closed.
    async fn append(
        &self,
        session: &str,
        stream: &str,
        data: Arc<str>,
        close: bool,
    ) -> Result<u64, StoreError>;
    /// Appends `data` to a stream without ending it, at once, when this store never waits for
    /// an append (the in-process store): the same outcome as `append(session, stream, data,
    /// false)`. `None` when an append may wait (a network round trip): nothing was appended,
    /// and the caller uses [`EventStore::append`]. Lets a session actor store its standalone
    /// stream's notifications in order without a writer task in between.
    fn append_now(
        &self,
        _session: &str,
        _stream: &str,
        _data: &Arc<str>,
    ) -> Option<Result<u64, StoreError>> {
        None
    }
    /// Stores the only event of a stream and ends it: the stream was opened on this replica
    /// ([`EventStore::opened`]), nothing has been appended to it, and no other replica can know
    /// it (no runner record was stored, so none can take it over or watch it). A POST's SSE
    /// reply whose one event is its response takes this path (2025-03-26 … 2025-11-25
    /// `basic/transports.mdx`: the server closes the stream after the response). A store may
    /// skip the checks that only matter for streams with earlier events or remote readers; the
    /// result is the same as `append(session, stream, data, true)`: sequence number 1,
    /// `NotFound` if the session is gone, an error if the stream already ended.
    async fn append_sole(
        &self,
        session: &str,
        stream: &str,
        data: Arc<str>,
    ) -> Result<u64, StoreError> {
        self.append(session, stream, data, true).await
    }
    /// A stream was just opened on this replica (a POST's SSE reply) and has no events yet.
    /// Until its first event is stored, this replica still knows it ([`EventStore::stream_info`]
    /// answers for it), so a client that lost the connection before any event can reconnect
    /// with the 2025-11-25 priming event's id (`basic/transports.mdx`, resumability). Local
    /// bookkeeping only: no backend round trip.
    fn opened(&self, session: &str, stream: &str);
    /// Marks a stream as ended (after its final event).
    async fn close_stream(&self, session: &str, stream: &str) -> Result<(), StoreError>;
    /// Events with `seq > after`, at most `limit`, and whether the stream is closed.
    async fn read_after(
        &self,
        session: &str,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventBatch, StoreError>;
    /// Metadata of a stream, `None` if it never existed (or was trimmed away entirely). A stream
    /// opened ([`EventStore::opened`]) but without events yet counts as existing, open, at
    /// sequence number 0: on the replica that opened it and, with a shared store, wherever its
    /// runner record ([`crate::store::runner::RunnerStore`]) is visible.
    async fn stream_info(
        &self,
        session: &str,
        stream: &str,
    ) -> Result<Option<StreamInfo>, StoreError>;
    /// A wake-up handle for new events on the stream; `NotFound` if the session is gone. Its
    /// value is the highest sequence number known to have been appended. With
    /// [`WatchScope::Any`], a store shared by replicas makes sure their appends wake it too
    /// (which may take a round trip: call it before the first read).
    async fn watch(
        &self,
        session: &str,
        stream: &str,
        scope: WatchScope,
    ) -> Result<StreamWatch, StoreError>;

    /// Events after `after` from this replica's own cache, if it can answer without the
    /// backend (`None`: ask [`EventStore::read_after`]). Readers of a stream that only this
    /// replica writes (a fresh POST stream) use it to avoid a backend round trip.
    fn read_local(
        &self,
        _session: &str,
        _stream: &str,
        _after: u64,
        _limit: usize,
    ) -> Option<EventBatch> {
        None
    }
}
