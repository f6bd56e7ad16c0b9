//! The event log of one open stream of the embedded store ([`StreamLog`]: its events with
//! their append times, and the channel that wakes its readers), and [`Log`], the read view over
//! an open or an ended stream ([`super::memory_ended`]) that reads and `stream_info` use.

use super::StoredEvent;
use super::memory_ended::EndedLog;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// An open stream: its events with their append times (trimmed by length and age) and the
/// channel that wakes its readers.
pub(super) struct StreamLog {
    pub(super) events: VecDeque<(u64, Arc<str>, Instant)>,
    pub(super) last_seq: u64,
    pub(super) wake: watch::Sender<u64>,
}

impl StreamLog {
    pub(super) fn new() -> Self {
        Self {
            events: VecDeque::new(),
            last_seq: 0,
            wake: watch::channel(0).0,
        }
    }
}

/// A stream's events and state, open or ended.
#[derive(Clone, Copy)]
pub(super) enum Log<'a> {
    Open(&'a StreamLog),
    Ended(&'a EndedLog),
}

impl Log<'_> {
    pub(super) fn last_seq(self) -> u64 {
        match self {
            Log::Open(l) => l.last_seq,
            Log::Ended(l) => l.last_seq(),
        }
    }

    pub(super) fn closed(self) -> bool {
        matches!(self, Log::Ended(_))
    }

    /// At most `limit` events after `after`.
    pub(super) fn after(self, after: u64, limit: usize) -> Vec<StoredEvent> {
        match self {
            Log::Open(l) => l
                .events
                .iter()
                .filter(|(seq, _, _)| *seq > after)
                .take(limit)
                .map(|(seq, data, _)| StoredEvent {
                    seq: *seq,
                    data: Arc::clone(data),
                })
                .collect(),
            Log::Ended(l) => l.after(after, limit),
        }
    }
}

/// Drops the events older than `max_age` from the front of an open stream.
pub(super) fn trim_age(log: &mut StreamLog, now: Instant, max_age: Duration) {
    while let Some((_, _, at)) = log.events.front() {
        if now.duration_since(*at) > max_age {
            log.events.pop_front();
        } else {
            break;
        }
    }
}
