//! The ended streams one session of the embedded store keeps for the closed-stream retention
//! (every SSE reply to a POST ends one), held in [`EndedStreams`]: 16 hash maps chosen by a
//! hash of the stream id instead of one.
//!
//! Why: a hash map grows by moving every entry into a table twice the size at once. A busy
//! session keeps hundreds of thousands of retained replies (60 s of them), so one map's growth
//! moved them all in one step, under the store's one lock, and every request of every session
//! waited: p99 22–29 ms at 25,000 SSE calls/s after 30 s at full speed, full-speed maxima of
//! 44–82 ms (BENCHMARKS.md, "The embedded SSE tail"). Sixteen maps each grow a sixteenth as
//! much at a time. A B-tree has no such step either, but cost 12–15 % of full-speed SSE
//! throughput in the same test (string comparisons down the tree under the lock).
//!
//! The maps are allocated with the session's first ended stream: a session that never
//! answered over SSE pays for an empty `Vec` only. They hash with foldhash, not SipHash: the
//! keys are stream ids this replica generated (a client's `Last-Event-ID` only looks one up),
//! so no client can choose keys that collide, and hashing was a visible share of an SSE
//! reply's CPU (inserts and the rehashing of growth).

use super::memory::FastMap;
use std::sync::Arc;

/// Maps per session.
const SHARDS: usize = 16;

/// An ended stream, kept replayable for the closed-stream retention: its events and nothing
/// else. It needs no wake-up channel (nothing is appended any more, and a reader of an ended
/// stream reads to its end without waiting), which halves what a retained SSE reply costs
/// (a `watch` channel is a few hundred bytes; BENCHMARKS.md, 2026-12-06).
pub(super) struct EndedLog {
    pub(super) events: Box<[(u64, Arc<str>)]>,
    pub(super) last_seq: u64,
}

/// A session's ended streams by stream id.
#[derive(Default)]
pub(super) struct EndedStreams {
    shards: Vec<FastMap<String, EndedLog>>,
}

/// The map of `stream`: FNV-1a of its bytes (stream ids are random, and each map hashes its
/// keys with its own random seed anyway).
fn shard(stream: &str) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in stream.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    (h as usize) % SHARDS
}

impl EndedStreams {
    pub(super) fn get(&self, stream: &str) -> Option<&EndedLog> {
        self.shards.get(shard(stream))?.get(stream)
    }

    pub(super) fn contains_key(&self, stream: &str) -> bool {
        self.get(stream).is_some()
    }

    pub(super) fn insert(&mut self, stream: String, log: EndedLog) {
        if self.shards.is_empty() {
            self.shards.resize_with(SHARDS, FastMap::default);
        }
        let i = shard(&stream);
        if let Some(map) = self.shards.get_mut(i) {
            map.insert(stream, log);
        }
    }

    pub(super) fn remove(&mut self, stream: &str) -> Option<EndedLog> {
        self.shards.get_mut(shard(stream))?.remove(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(seq: u64) -> EndedLog {
        EndedLog {
            events: Box::new([(seq, Arc::from("{}"))]),
            last_seq: seq,
        }
    }

    #[test]
    fn streams_are_found_where_they_were_put_and_spread_over_the_maps() {
        let mut ended = EndedStreams::default();
        assert!(ended.get("a").is_none());
        assert!(ended.remove("a").is_none(), "nothing allocated yet");
        for i in 0..1600u64 {
            ended.insert(format!("{i:016x}"), log(i));
        }
        for i in 0..1600u64 {
            assert_eq!(ended.get(&format!("{i:016x}")).map(|l| l.last_seq), Some(i));
        }
        assert!(ended.shards.iter().all(|m| (50..=150).contains(&m.len())));
        assert_eq!(
            ended.remove("0000000000000007").map(|l| l.last_seq),
            Some(7)
        );
        assert!(!ended.contains_key("0000000000000007"));
        assert!(ended.contains_key("0000000000000008"));
    }
}
