//! What one replica keeps locally for the Redis store: watchers of streams (woken by pub/sub
//! wake-ups and by local appends), bus topics, and a small cache of events appended on this
//! replica so a local reader of a fresh event needs no extra Redis round trip.
//!
//! The cache is only an accelerator: a read is served from it only when it holds the very next
//! sequence number the reader asks for; anything else goes to Redis. It also holds the streams
//! this replica opened and has not written yet: before its first event, nothing of a POST
//! stream is in Redis, and the cache is how this replica still knows it exists (a client may
//! resume it from its priming event; see [`crate::store::EventStore::opened`]).

use super::watchers::Leases;
use crate::store::StoredEvent;
use crate::store::bus::Topics;
use hashbrown::{Equivalent, HashMap};
use parking_lot::Mutex;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher, RandomState};
use std::sync::Arc;
use tokio::sync::watch;

/// Events kept per cached stream.
const CACHE_PER_STREAM: usize = 32;
/// Streams kept in the cache.
const CACHE_STREAMS: usize = 4096;

/// A stream of a session: (session id, stream id).
pub(super) type StreamKey = (Arc<str>, Arc<str>);

/// A [`StreamKey`] borrowed from the caller's strings, to look a stream up without allocating
/// one: an SSE reply looks its stream up five times (opened, watched, appended, woken, read).
/// It hashes as the tuple `(&str, &str)`, which hashes as `(Arc<str>, Arc<str>)`.
#[derive(Clone, Copy)]
struct StreamRef<'a>(&'a str, &'a str);

impl Hash for StreamRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0, self.1).hash(state);
    }
}

impl Equivalent<StreamKey> for StreamRef<'_> {
    fn equivalent(&self, key: &StreamKey) -> bool {
        *key.0 == *self.0 && *key.1 == *self.1
    }
}

impl From<&StreamRef<'_>> for StreamKey {
    fn from(r: &StreamRef<'_>) -> Self {
        key(r.0, r.1)
    }
}

/// The map of cached streams. Only streams this replica opened or appended to enter it, so no
/// client chooses its keys: foldhash, not SipHash (see [`crate::store::memory::FastMap`]).
type CacheMap = HashMap<StreamKey, Cached, foldhash::fast::RandomState>;

#[derive(Default)]
struct Cached {
    events: VecDeque<StoredEvent>,
    /// Highest sequence number appended here (kept when `events` is empty).
    last: u64,
    closed: bool,
}

/// Local state of the Redis store on one replica.
#[derive(Default)]
pub struct Local {
    /// Keyed by streams a client may name (a resume): SipHash.
    watchers: Mutex<HashMap<StreamKey, watch::Sender<u64>, RandomState>>,
    watches: std::sync::atomic::AtomicUsize,
    /// The cached streams and their eviction order.
    cache: Mutex<(CacheMap, VecDeque<StreamKey>)>,
    /// Streams with an append or close of this replica whose outcome is unknown (the call
    /// failed or timed out, but Redis may still run the script): for them the echo of this
    /// replica's own wake-up, normally ignored, is what tells their readers (see
    /// [`Local::own_echo`]). Kept until the session is forgotten (a timed-out call may land
    /// after a later one of the same stream succeeded).
    unsettled: Mutex<HashSet<StreamKey>>,
    unsettled_count: std::sync::atomic::AtomicUsize,
    /// Bus topics with local subscribers.
    pub topics: Topics,
    /// The watcher leases this replica holds in Redis ([`super::watchers`]).
    pub leases: Leases,
}

/// The [`StreamKey`] of a stream.
pub(super) fn key(session: &str, stream: &str) -> StreamKey {
    (Arc::from(session), Arc::from(stream))
}

/// The cache entry of a stream, admitting it if it is new: room is made by evicting the
/// oldest beyond [`CACHE_STREAMS`], and its place in the eviction order is recorded.
fn admit<'m>(
    map: &'m mut CacheMap,
    order: &mut VecDeque<StreamKey>,
    session: &str,
    stream: &str,
) -> &'m mut Cached {
    let q = StreamRef(session, stream);
    if !map.contains_key(&q) {
        while order.len() >= CACHE_STREAMS {
            let Some(old) = order.pop_front() else { break };
            map.remove(&old);
        }
        let k = key(session, stream);
        order.push_back(k.clone());
        return map.entry(k).or_default();
    }
    map.entry_ref(&q).or_default()
}

impl Local {
    /// A watcher for a stream.
    pub fn watch(&self, session: &str, stream: &str) -> watch::Receiver<u64> {
        let mut w = self.watchers.lock();
        // Amortized clean-up of streams nobody reads any more.
        let n = self
            .watches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % 256 == 255 {
            w.retain(|_, tx| tx.receiver_count() > 0);
        }
        let q = StreamRef(session, stream);
        if let Some(tx) = w.get(&q) {
            return tx.subscribe();
        }
        // Start from what this replica already appended, so an append that happened just
        // before the reader arrived counts as announced.
        let last = self.cache.lock().0.get(&q).map_or(0, |c| c.last);
        let (tx, rx) = watch::channel(last);
        w.insert(key(session, stream), tx);
        rx
    }

    /// Wakes the watchers of a stream (sequence numbers only move forward).
    pub fn wake(&self, session: &str, stream: &str, seq: u64) {
        let mut w = self.watchers.lock();
        let q = StreamRef(session, stream);
        if let Some(tx) = w.get(&q) {
            if tx.receiver_count() == 0 {
                w.remove(&q);
            } else {
                tx.send_modify(|v| *v = (*v).max(seq));
            }
        }
    }

    /// Whether the stream has a reader here.
    pub(super) fn has_readers(&self, k: &StreamKey) -> bool {
        self.watchers
            .lock()
            .get(k)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }

    /// Makes the stream's readers read Redis (whatever the cache holds): events may have been
    /// appended there unannounced.
    pub fn nudge(&self, session: &str, stream: &str) {
        if let Some(tx) = self.watchers.lock().get(&StreamRef(session, stream)) {
            tx.send_modify(|v| *v = v.saturating_add(1));
        }
    }

    /// Records that an append or close of the stream may land without this replica knowing
    /// (bounded by [`CACHE_STREAMS`]: past it the set starts over, under an outage long enough
    /// to fill it the readers' own reads and time-outs take over), and asks for a watcher
    /// lease on it so that the script's wake-up, if Redis runs it late, comes here.
    pub fn unsettled(&self, session: &str, stream: &str) {
        self.leases.want(session, stream);
        let mut u = self.unsettled.lock();
        if u.len() >= CACHE_STREAMS {
            u.clear();
        }
        u.insert(key(session, stream));
        self.unsettled_count
            .store(u.len(), std::sync::atomic::Ordering::Relaxed);
    }

    /// The pub/sub echo of this replica's own append or close. Ignored as a rule (the call's
    /// reply woke the readers, and an echo arriving first would send them to Redis for an
    /// event about to be cached); for an unsettled stream it wakes the readers and makes them
    /// read Redis, where the late event (or the stream's end) now is.
    pub fn own_echo(&self, session: &str, stream: &str, seq: u64) {
        if self
            .unsettled_count
            .load(std::sync::atomic::Ordering::Relaxed)
            == 0
        {
            return;
        }
        let k = key(session, stream);
        if !self.unsettled.lock().contains(&k) {
            return;
        }
        if let Some(tx) = self.watchers.lock().get(&k) {
            // Above the cursor even for a close (whose echo may repeat the last sequence
            // number): the reader then reads Redis instead of skipping the read.
            tx.send_modify(|v| *v = seq.max(v.saturating_add(1)));
        }
    }

    /// Wakes every watcher (after a pub/sub reconnection, when wake-ups may have been lost).
    pub fn wake_all(&self) {
        let mut w = self.watchers.lock();
        w.retain(|_, tx| tx.receiver_count() > 0);
        for tx in w.values() {
            tx.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    /// Forgets a deleted session: its watchers end (their senders are dropped), its cache goes.
    pub fn forget_session(&self, session: &str) {
        self.watchers.lock().retain(|(s, _), _| &**s != session);
        self.leases.forget_session(session);
        {
            let mut u = self.unsettled.lock();
            u.retain(|(s, _)| &**s != session);
            self.unsettled_count
                .store(u.len(), std::sync::atomic::Ordering::Relaxed);
        }
        let mut cache = self.cache.lock();
        cache.0.retain(|(s, _), _| &**s != session);
        cache.1.retain(|(s, _)| &**s != session);
    }

    /// Records an event appended on this replica.
    pub fn cache_append(&self, session: &str, stream: &str, event: StoredEvent, close: bool) {
        let mut guard = self.cache.lock();
        let (map, order) = &mut *guard;
        let entry = admit(map, order, session, stream);
        if entry.events.back().is_some_and(|e| e.seq + 1 != event.seq) {
            entry.events.clear(); // another replica appended in between
        }
        entry.last = event.seq;
        entry.events.push_back(event);
        while entry.events.len() > CACHE_PER_STREAM {
            entry.events.pop_front();
        }
        entry.closed = close;
    }

    /// Records a stream just opened here, before its first event (see
    /// [`crate::store::EventStore::opened`]).
    pub fn cache_open(&self, session: &str, stream: &str) {
        let mut guard = self.cache.lock();
        let (map, order) = &mut *guard;
        admit(map, order, session, stream);
    }

    /// Whether the cache holds a stream opened here that has neither events nor an end yet
    /// (nothing of it is in Redis).
    pub fn opened_unwritten(&self, session: &str, stream: &str) -> bool {
        self.cache
            .lock()
            .0
            .get(&StreamRef(session, stream))
            .is_some_and(|c| c.last == 0 && !c.closed)
    }

    /// Records that a stream written here was closed without a final event.
    pub fn cache_close(&self, session: &str, stream: &str) {
        let mut guard = self.cache.lock();
        let (map, order) = &mut *guard;
        admit(map, order, session, stream).closed = true;
    }

    /// Events after `after` if the cache holds `after + 1` onwards; `None` means "ask Redis".
    pub fn cached_after(
        &self,
        session: &str,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Option<(Vec<StoredEvent>, bool)> {
        let guard = self.cache.lock();
        let entry = guard.0.get(&StreamRef(session, stream))?;
        if entry.events.is_empty() {
            return (entry.closed && after >= entry.last).then(|| (Vec::new(), true));
        }
        let first = entry.events.front()?.seq;
        let last = entry.events.back()?.seq;
        if after >= last {
            // Drained: the answer is known locally only if the stream has ended.
            return entry.closed.then(|| (Vec::new(), true));
        }
        if after + 1 < first {
            return None;
        }
        let events: Vec<StoredEvent> = entry
            .events
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect();
        let drained = events.last().is_some_and(|e| e.seq == last);
        Some((events, entry.closed && drained))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_lookups_find_what_owned_keys_stored() {
        let local = Local::default();
        let (session, stream) = (String::from("sess"), String::from("0123456789abcdef"));
        let mut watcher = local.watch(&session, &stream);
        local.cache_open(&session, &stream);
        assert!(local.opened_unwritten(&session.clone(), &stream.clone()));
        let event = StoredEvent {
            seq: 1,
            data: Arc::from("reply"),
        };
        local.cache_append(&session.clone(), &stream.clone(), event, true);
        local.wake(&session.clone(), &stream.clone(), 1);
        assert_eq!(
            *watcher.borrow_and_update(),
            1,
            "woken through a borrowed key"
        );
        let (events, closed) = local
            .cached_after("sess", "0123456789abcdef", 0, 10)
            .unwrap();
        assert_eq!((events.len(), closed), (1, true));
        assert!(!local.opened_unwritten("sess", "0123456789abcdef"));
        // One entry per stream, however it was named: no duplicate from a second admission.
        {
            let cache = local.cache.lock();
            assert_eq!((cache.0.len(), cache.1.len()), (1, 1));
        }
        // A different stream of the same session, or the same stream id of another session,
        // is another key.
        assert!(
            local
                .cached_after("sess", "0123456789abcdee", 0, 10)
                .is_none()
        );
        assert!(
            local
                .cached_after("other", "0123456789abcdef", 0, 10)
                .is_none()
        );
    }

    #[test]
    fn the_cache_stays_bounded_whichever_way_streams_enter_it() {
        let local = Local::default();
        for i in 0..CACHE_STREAMS * 2 {
            let stream = format!("{i:016x}");
            if i % 2 == 0 {
                local.cache_close("s", &stream);
            } else {
                let event = StoredEvent {
                    seq: 1,
                    data: Arc::from("{}"),
                };
                local.cache_append("s", &stream, event, true);
            }
        }
        let cache = local.cache.lock();
        assert_eq!(cache.0.len(), CACHE_STREAMS);
        assert_eq!(cache.1.len(), CACHE_STREAMS);
    }
}
