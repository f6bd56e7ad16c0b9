//! The ended streams one session of the embedded store keeps for the closed-stream retention
//! (every SSE reply to a POST ends one), held in [`EndedStreams`]: their events by stream id,
//! and the order they ended in, which the sweeper expires them by.
//!
//! A busy session keeps hundreds of thousands of them (60 s of SSE replies), so what one costs
//! is paid that many times over, in memory, in cache misses and in fresh pages while the set
//! grows:
//! - **Keys.** The ids this replica generates for POST streams (16 lowercase hex digits,
//!   [`crate::session::event_id`]) are kept packed in a `u64` ([`EndedKey`]): no allocation
//!   for the map's key or the expiry order's, and a one-word hash and compare. Any other id
//!   (the store does not assume the format) is kept as text in a map of its own.
//! - **Events.** A stream ended by its only event (the common SSE reply) keeps that event
//!   inline in [`EndedLog`], without a boxed slice of one.
//! - **Maps.** The packed ids are spread over 16 hash maps instead of one. A hash map grows by
//!   moving every entry into a table twice the size at once; one map's growth moved them all
//!   in one step under the store's one lock, and every request of every session waited (p99
//!   22–29 ms at 25,000 SSE calls/s after 30 s at full speed, maxima of 44–82 ms,
//!   BENCHMARKS.md, "The embedded SSE tail"). A B-tree has no such step either, but cost
//!   12–15 % of full-speed SSE throughput (string comparisons down the tree under the lock).
//!   The maps are allocated with the session's first ended stream: a session that never
//!   answered over SSE pays for an empty `Vec` only. They hash with foldhash, not SipHash: the
//!   keys are stream ids this replica generated (a client's `Last-Event-ID` only looks one up),
//!   so no client can choose keys that collide.

use super::StoredEvent;
use super::memory::FastMap;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Maps of packed ids per session.
const SHARDS: usize = 16;

/// A stream id as the expiry order keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EndedKey {
    /// 16 lowercase hex digits, as a number.
    Packed(u64),
    /// Any other id.
    Text(Box<str>),
}

/// `stream` as a number when it is exactly 16 lowercase hex digits (so that packing is
/// one-to-one: `"00ff…"` and `"ff"` or `"00FF…"` never share a key).
fn pack(stream: &str) -> Option<u64> {
    if stream.len() != 16 {
        return None;
    }
    stream.bytes().try_fold(0u64, |n, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some((n << 4) | u64::from(digit))
    })
}

/// The events of an ended stream.
enum EndedEvents {
    /// Trimmed away (by length or age) before the stream ended, or never appended.
    None,
    /// One event, whose sequence number is the stream's last: an SSE reply ended by its answer.
    Last(Arc<str>),
    /// Any other set, in order.
    Many(Box<[(u64, Arc<str>)]>),
}

/// An ended stream, kept replayable for the closed-stream retention: its events and nothing
/// else. It needs no wake-up channel (nothing is appended any more, and a reader of an ended
/// stream reads to its end without waiting), which halves what a retained SSE reply costs
/// (a `watch` channel is a few hundred bytes; BENCHMARKS.md, 2026-12-06).
pub(super) struct EndedLog {
    events: EndedEvents,
    last_seq: u64,
}

impl EndedLog {
    /// The log of a stream that ended with `events` (in order), `last_seq` being the highest
    /// sequence number it ever had.
    pub(super) fn new(
        events: impl ExactSizeIterator<Item = (u64, Arc<str>)>,
        last_seq: u64,
    ) -> Self {
        let mut events = events;
        let events = match events.len() {
            0 => EndedEvents::None,
            1 => match events.next() {
                Some((seq, data)) if seq == last_seq => EndedEvents::Last(data),
                Some(event) => EndedEvents::Many(Box::new([event])),
                None => EndedEvents::None,
            },
            _ => EndedEvents::Many(events.collect()),
        };
        Self { events, last_seq }
    }

    /// The highest sequence number the stream ever had.
    pub(super) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// At most `limit` events after `after`.
    pub(super) fn after(&self, after: u64, limit: usize) -> Vec<StoredEvent> {
        let event = |seq: u64, data: &Arc<str>| StoredEvent {
            seq,
            data: Arc::clone(data),
        };
        match &self.events {
            EndedEvents::None => Vec::new(),
            EndedEvents::Last(data) if self.last_seq > after && limit > 0 => {
                vec![event(self.last_seq, data)]
            }
            EndedEvents::Last(_) => Vec::new(),
            EndedEvents::Many(events) => events
                .iter()
                .filter(|(seq, _)| *seq > after)
                .take(limit)
                .map(|(seq, data)| event(*seq, data))
                .collect(),
        }
    }
}

/// A session's ended streams by stream id, and the order they ended in.
#[derive(Default)]
pub(super) struct EndedStreams {
    /// Streams with packed ids, spread by the id's low bits (allocated on first use).
    packed: Vec<FastMap<u64, EndedLog>>,
    /// Streams with any other id.
    text: FastMap<Box<str>, EndedLog>,
    /// When each stream ended, oldest first.
    order: VecDeque<(Instant, EndedKey)>,
}

/// The map of a packed id among the [`SHARDS`]: its low bits (the ids are random).
fn shard_of(n: u64) -> usize {
    (n % SHARDS as u64) as usize
}

impl EndedStreams {
    fn shard(&self, n: u64) -> Option<&FastMap<u64, EndedLog>> {
        self.packed.get(shard_of(n))
    }

    /// The ended stream `stream`.
    pub(super) fn get(&self, stream: &str) -> Option<&EndedLog> {
        match pack(stream) {
            Some(n) => self.shard(n)?.get(&n),
            None => self.text.get(stream),
        }
    }

    /// Whether `stream` has ended.
    pub(super) fn contains_key(&self, stream: &str) -> bool {
        self.get(stream).is_some()
    }

    /// Records that `stream` ended at `now` with `log`.
    pub(super) fn insert(&mut self, stream: &str, log: EndedLog, now: Instant) {
        let key = match pack(stream) {
            Some(n) => {
                if self.packed.is_empty() {
                    self.packed.resize_with(SHARDS, FastMap::default);
                }
                if let Some(map) = self.packed.get_mut(shard_of(n)) {
                    map.insert(n, log);
                }
                EndedKey::Packed(n)
            }
            None => {
                self.text.insert(Box::from(stream), log);
                EndedKey::Text(Box::from(stream))
            }
        };
        self.order.push_back((now, key));
    }

    /// Removes the streams that ended more than `retention` before `now` into `gone` (to be
    /// freed after the store's lock is released): work proportional to what expires.
    pub(super) fn expire(&mut self, now: Instant, retention: Duration, gone: &mut Vec<EndedLog>) {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) <= retention {
                break;
            }
            let Some((_, key)) = self.order.pop_front() else {
                break;
            };
            let removed = match key {
                EndedKey::Packed(n) => self.packed.get_mut(shard_of(n)).and_then(|m| m.remove(&n)),
                EndedKey::Text(s) => self.text.remove(&s),
            };
            gone.extend(removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(seq: u64) -> EndedLog {
        EndedLog::new(std::iter::once((seq, Arc::from("{}"))), seq)
    }

    fn seqs(events: &[StoredEvent]) -> Vec<u64> {
        events.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn only_sixteen_lowercase_hex_digits_pack() {
        assert_eq!(pack("00000000000000ff"), Some(255));
        assert_eq!(pack("ffffffffffffffff"), Some(u64::MAX));
        for text in [
            "ff",
            "0",
            "00000000000000FF",
            "+000000000000000",
            "0000000000000000f",
        ] {
            assert_eq!(pack(text), None, "{text}");
        }
    }

    #[test]
    fn streams_are_found_where_they_were_put_and_spread_over_the_maps() {
        let now = Instant::now();
        let mut ended = EndedStreams::default();
        assert!(ended.get("a").is_none());
        for i in 0..1600u64 {
            ended.insert(
                &format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                one(i),
                now,
            );
        }
        // Ids in other forms live apart, and never meet a packed id of the same value.
        ended.insert("0", one(7000), now);
        ended.insert("00000000000000FF", one(7001), now);
        ended.insert("00000000000000ff", one(7002), now);
        for i in 0..1600u64 {
            let id = format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            assert_eq!(ended.get(&id).map(EndedLog::last_seq), Some(i));
        }
        assert!(ended.packed.iter().all(|m| (50..=150).contains(&m.len())));
        assert_eq!(ended.get("0").map(EndedLog::last_seq), Some(7000));
        assert_eq!(
            ended.get("00000000000000FF").map(EndedLog::last_seq),
            Some(7001)
        );
        assert_eq!(
            ended.get("00000000000000ff").map(EndedLog::last_seq),
            Some(7002)
        );
        assert!(!ended.contains_key("00000000000000fe"));
    }

    #[test]
    fn streams_expire_in_the_order_they_ended_and_only_after_the_retention() {
        let t0 = Instant::now();
        let retention = Duration::from_secs(60);
        let mut ended = EndedStreams::default();
        ended.insert("000000000000000a", one(1), t0);
        ended.insert("other", one(2), t0 + Duration::from_secs(1));
        ended.insert("000000000000000b", one(3), t0 + Duration::from_secs(2));
        let mut gone = Vec::new();
        ended.expire(t0 + retention, retention, &mut gone);
        assert!(gone.is_empty(), "nothing is older than the retention yet");
        ended.expire(
            t0 + retention + Duration::from_millis(1500),
            retention,
            &mut gone,
        );
        assert_eq!(
            gone.iter().map(EndedLog::last_seq).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(!ended.contains_key("000000000000000a"));
        assert!(!ended.contains_key("other"));
        assert!(ended.contains_key("000000000000000b"));
    }

    #[test]
    fn an_ended_log_replays_what_it_was_given() {
        let data = |s: &str| Arc::<str>::from(s);
        let last = EndedLog::new(std::iter::once((4, data("d"))), 4);
        assert!(matches!(last.events, EndedEvents::Last(_)));
        assert_eq!(seqs(&last.after(0, 10)), [4]);
        assert_eq!(&*last.after(3, 1)[0].data, "d");
        assert!(last.after(4, 10).is_empty());
        assert!(last.after(0, 0).is_empty());
        // One event that is not the last (the rest were trimmed by age) keeps its own number.
        let early = EndedLog::new(std::iter::once((2, data("e"))), 5);
        assert_eq!(seqs(&early.after(0, 10)), [2]);
        assert_eq!(early.last_seq(), 5);
        let many = EndedLog::new(
            vec![(1, data("a")), (2, data("b")), (3, data("c"))].into_iter(),
            3,
        );
        assert_eq!(seqs(&many.after(1, 10)), [2, 3]);
        assert_eq!(seqs(&many.after(0, 2)), [1, 2]);
        let none = EndedLog::new(std::iter::empty(), 9);
        assert!(none.after(0, 10).is_empty());
        assert_eq!(none.last_seq(), 9);
    }
}
