//! The embedded in-process store: session records and event logs in mutex-protected maps, the
//! sessions spread over [`super::memory_shards`] so that operations on different sessions do
//! not wait for each other.
//!
//! It is the default when no `REDIS_URL` is configured and serves exactly one replica. It
//! honours the same contract as the Redis store: idle expiry that slides with `touch`, a cap
//! on live sessions, event logs trimmed by length and age, and wake-ups for readers. Deleting
//! or expiring a session drops its watch senders, which ends every reader of its streams.
//!
//! Ended streams (every SSE reply to a POST ends one) stay replayable for the closed-stream
//! retention, apart from the open ones and in the order they ended, so the sweeper's work is
//! proportional to what expires, not to what is kept: at thousands of SSE replies per second
//! the store holds hundreds of thousands of ended streams, and a sweep that walked them all
//! under the store's lock (one for all sessions then) stalled every request (p99 217 ms, max
//! 462 ms at 6,000 SSE calls/s before; 7 ms and 27 ms after, BENCHMARKS.md). The sweeper runs
//! every second, locks one shard at a time, and drops what it removed after the locks are
//! released.
//!
//! An ended stream keeps only its events ([`EndedLog`]): no wake-up channel and no append
//! times, and a packed key; about 0.3 KiB of resident memory per retained one-event reply
//! (0.88 KiB with a channel, 0.38 KiB with `String` keys; BENCHMARKS.md). A session's ended
//! streams are spread over several maps ([`super::memory_ended`]), so that no single step of
//! their growth holds the lock long.

use super::memory_ended::{EndedLog, EndedStreams};
use super::memory_log::{Log, StreamLog, trim_age};
use super::memory_shards::Shards;
use super::{
    EventBatch, EventStore, SessionPatch, SessionRecord, SessionStore, StoreError, StreamInfo,
    StreamWatch, WatchScope,
};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A hash map keyed by ids this replica generated (session ids, the ids of ended streams):
/// foldhash instead of SipHash. No client chooses these keys (a request only looks one up), so
/// the flooding resistance SipHash buys is not needed, and hashing was a visible share of an
/// SSE reply's CPU. Maps whose keys a client can name (open streams, which a resume with an
/// unknown stream id creates; rate-limit buckets) keep the standard hasher.
pub(super) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Limits of the embedded store.
#[derive(Debug, Clone)]
pub struct MemoryStoreConfig {
    /// Idle time after which a session expires.
    pub session_ttl: Duration,
    /// Maximum number of live sessions; 0 means unlimited.
    pub max_sessions: usize,
    /// Maximum events kept per stream.
    pub event_max_len: usize,
    /// Maximum age of kept events.
    pub event_max_age: Duration,
    /// How long an ended stream stays replayable.
    pub closed_retention: Duration,
}

struct Entry {
    record: SessionRecord,
    expires_at: Instant,
    /// Open streams (SipHash: a resume with an unknown stream id creates one, so clients can
    /// name them; hashbrown's `entry_ref` allocates a key only for a new stream).
    streams: hashbrown::HashMap<String, StreamLog, std::hash::RandomState>,
    /// Ended streams, kept for the closed-stream retention.
    ended: EndedStreams,
}

impl Entry {
    fn new(record: SessionRecord, expires_at: Instant) -> Self {
        Self {
            record,
            expires_at,
            streams: hashbrown::HashMap::default(),
            ended: EndedStreams::default(),
        }
    }

    /// The open stream `stream`, created empty if unknown.
    fn open(&mut self, stream: &str) -> &mut StreamLog {
        self.streams
            .entry_ref(stream)
            .or_insert_with(StreamLog::new)
    }

    /// A stream's log, open or ended.
    fn log(&self, stream: &str) -> Option<Log<'_>> {
        match self.streams.get(stream) {
            Some(open) => Some(Log::Open(open)),
            None => self.ended.get(stream).map(Log::Ended),
        }
    }

    /// Moves an open stream (created empty if unknown) to the ended ones. The caller has just
    /// announced a new version on its channel; dropping the sender here still lets a waiting
    /// reader see that version first (`watch::Receiver::changed` reports an unseen version
    /// before the closed channel), read to the end and find the stream ended.
    fn end(&mut self, stream: &str, now: Instant) {
        let ended = match self.streams.remove(stream) {
            Some(open) => EndedLog::new(
                open.events.into_iter().map(|(s, d, _)| (s, d)),
                open.last_seq,
            ),
            None => EndedLog::new(std::iter::empty(), 0),
        };
        self.ended.insert(stream, ended, now);
    }
}

/// In-process [`SessionStore`] + [`EventStore`].
pub struct MemoryStore {
    config: MemoryStoreConfig,
    sessions: Shards<Entry>,
    /// Rate-limit buckets: key → theoretical arrival time, ms since `epoch` (see
    /// [`super::rate`]); a key whose TAT has passed is a full bucket and is swept.
    buckets: Mutex<HashMap<String, f64>>,
    epoch: Instant,
}

impl MemoryStore {
    /// A new empty store; call [`MemoryStore::spawn_sweeper`] to purge expired sessions.
    pub fn new(config: MemoryStoreConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            sessions: Shards::new(),
            buckets: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
        })
    }

    /// Starts a background task that purges expired sessions every `period` (on the current
    /// Tokio runtime); it stops when the store is dropped.
    pub fn spawn_sweeper(self: &Arc<Self>, period: Duration) {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(store) = weak.upgrade() else { break };
                store.sweep();
            }
        });
    }

    /// Removes expired sessions, ended streams past their retention and events of open streams
    /// older than the configured age. The work done under the lock is proportional to the
    /// sessions, their open streams and what expires; the removed data is freed after it.
    pub fn sweep(&self) {
        let now = Instant::now();
        let max_age = self.config.event_max_age;
        let retention = self.config.closed_retention;
        let now_ms = self.now_ms();
        self.buckets.lock().retain(|_, tat| *tat > now_ms);
        let mut gone_sessions = Vec::new();
        let mut gone_streams = Vec::new();
        // One shard locked at a time.
        self.sessions.each(|map| {
            map.drain_unless(|e| e.expires_at > now, &mut gone_sessions);
            for entry in map.values_mut() {
                // Ended streams go after their retention (the standalone stream never ends).
                entry.ended.expire(now, retention, &mut gone_streams);
                for log in entry.streams.values_mut() {
                    trim_age(log, now, max_age);
                }
            }
        });
        drop(gone_streams);
        drop(gone_sessions);
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        let mut live = 0;
        self.sessions
            .each(|map| live += map.iter().filter(|(_, e)| e.expires_at > now).count());
        live
    }

    /// Whether the store holds no live session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now_ms(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64() * 1000.0
    }

    fn with_live<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Entry) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut map = self.sessions.lock(id);
        let now = Instant::now();
        match map.get_mut(id) {
            Some(e) if e.expires_at > now => f(e),
            Some(_) => {
                map.remove(id);
                Err(StoreError::NotFound)
            }
            None => Err(StoreError::NotFound),
        }
    }

    /// Appends an event (and ends the stream after it when `close` is set), under the lock of
    /// the session's shard: nothing here waits.
    fn append_locked(
        &self,
        session: &str,
        stream: &str,
        data: Arc<str>,
        close: bool,
    ) -> Result<u64, StoreError> {
        let (max_len, max_age) = (self.config.event_max_len.max(1), self.config.event_max_age);
        self.with_live(session, |e| {
            if e.ended.contains_key(stream) {
                return Err(StoreError::Corrupt(format!("stream {stream} is closed")));
            }
            let log = e.open(stream);
            log.last_seq += 1;
            let seq = log.last_seq;
            let now = Instant::now();
            log.events.push_back((seq, data, now));
            while log.events.len() > max_len {
                log.events.pop_front();
            }
            trim_age(log, now, max_age);
            log.wake.send_replace(seq);
            if close {
                e.end(stream, now);
            }
            Ok(seq)
        })
    }
}

/// A live-session operation's outcome as "was the session there": `NotFound` is `false`.
fn found(outcome: Result<(), StoreError>) -> Result<bool, StoreError> {
    match outcome {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let now = Instant::now();
        let cap = self.config.max_sessions;
        // At the cap, expired sessions make room first (one shard locked at a time).
        if cap > 0 && self.sessions.count() >= cap {
            let mut expired = Vec::new();
            self.sessions
                .each(|map| map.drain_unless(|e| e.expires_at > now, &mut expired));
            drop(expired);
        }
        let mut map = self.sessions.lock(&record.id);
        let existing = map.get(&record.id).map(|e| e.expires_at > now);
        if existing == Some(true) {
            return Err(StoreError::AlreadyExists);
        }
        // A new id takes a place under the cap; an expired one's entry is replaced in place.
        let reserved = cap > 0 && existing.is_none();
        if reserved && !self.sessions.reserve(cap) {
            return Err(StoreError::Full(cap));
        }
        map.insert(
            record.id.clone(),
            Entry::new(record.clone(), now + self.config.session_ttl),
            reserved,
        );
        Ok(())
    }

    async fn load_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        match self.with_live(id, |e| Ok(e.record.clone())) {
            Ok(r) => Ok(Some(r)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn update_session(&self, id: &str, patch: &SessionPatch) -> Result<(), StoreError> {
        let ttl = self.config.session_ttl;
        self.with_live(id, |e| {
            e.record.apply(patch);
            e.expires_at = Instant::now() + ttl;
            Ok(())
        })
    }

    async fn touch_session(&self, id: &str) -> Result<bool, StoreError> {
        let ttl = self.config.session_ttl;
        found(self.with_live(id, |e| {
            e.expires_at = Instant::now() + ttl;
            Ok(())
        }))
    }

    async fn session_exists(&self, id: &str) -> Result<bool, StoreError> {
        found(self.with_live(id, |_| Ok(())))
    }

    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        let now = Instant::now();
        // Freed after the lock is released (a busy session may hold many ended streams).
        let removed = self.sessions.lock(id).remove(id);
        Ok(removed.is_some_and(|e| e.expires_at > now))
    }

    async fn list_sessions(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        let now = Instant::now();
        let mut ids = Vec::new();
        self.sessions.each(|map| {
            let room = limit.saturating_sub(ids.len());
            ids.extend(
                map.iter()
                    .filter(|(_, e)| e.expires_at > now)
                    .take(room)
                    .map(|(id, _)| id.clone()),
            );
        });
        Ok(ids)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn count_sessions(&self) -> Result<u64, StoreError> {
        Ok(u64::try_from(self.len()).unwrap_or(u64::MAX))
    }

    async fn take_token(
        &self,
        key: &str,
        rate: f64,
        burst: u32,
    ) -> Result<super::RateDecision, StoreError> {
        let now = self.now_ms();
        let mut buckets = self.buckets.lock();
        let (decision, tat) = super::rate::gcra(buckets.get(key).copied(), now, rate, burst);
        buckets.insert(key.to_owned(), tat);
        Ok(decision)
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn append(
        &self,
        session: &str,
        stream: &str,
        data: Arc<str>,
        close: bool,
    ) -> Result<u64, StoreError> {
        self.append_locked(session, stream, data, close)
    }

    /// Every append of this store is done at once.
    fn append_now(
        &self,
        session: &str,
        stream: &str,
        data: &Arc<str>,
    ) -> Option<Result<u64, StoreError>> {
        Some(self.append_locked(session, stream, Arc::clone(data), false))
    }

    async fn close_stream(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        self.with_live(session, |e| {
            if e.ended.contains_key(stream) {
                return Ok(());
            }
            let log = e.open(stream);
            log.wake.send_modify(|v| *v = v.wrapping_add(1));
            e.end(stream, Instant::now());
            Ok(())
        })
    }

    async fn read_after(
        &self,
        session: &str,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventBatch, StoreError> {
        self.with_live(session, |e| {
            let Some(log) = e.log(stream) else {
                return Ok(EventBatch::default());
            };
            let events = log.after(after, limit);
            let drained = events.last().is_none_or(|ev| ev.seq >= log.last_seq());
            Ok(EventBatch {
                events,
                closed: log.closed() && drained,
            })
        })
    }

    fn opened(&self, session: &str, stream: &str) {
        // A gone session has nothing to open: its POST fails on its first append.
        let _ = self.with_live(session, |e| {
            e.open(stream);
            Ok(())
        });
    }

    async fn stream_info(
        &self,
        session: &str,
        stream: &str,
    ) -> Result<Option<StreamInfo>, StoreError> {
        self.with_live(session, |e| {
            Ok(e.log(stream).map(|log| StreamInfo {
                last_seq: log.last_seq(),
                closed: log.closed(),
            }))
        })
    }

    /// One process: every append is local, whatever the scope.
    async fn watch(
        &self,
        session: &str,
        stream: &str,
        _scope: WatchScope,
    ) -> Result<StreamWatch, StoreError> {
        self.with_live(session, |e| {
            if let Some(log) = e.ended.get(stream) {
                // Nothing will be announced: a channel whose sender is already gone, at the
                // stream's last sequence number.
                return Ok(watch::channel(log.last_seq()).1);
            }
            Ok(e.open(stream).wake.subscribe())
        })
    }
}
