//! Reading one SSE connection to its end (or to a call's response) in a task, and the check
//! that a list of sequence numbers is consecutive: lost and repeated ids.

use crate::fleet::{Next, Sse};
use serde_json::Value;
use std::time::Duration;
use tokio::task::JoinHandle;

/// What a reader saw on one connection.
pub(crate) struct Seen {
    /// (sequence number, message) of each event with data, in arrival order.
    pub(crate) events: Vec<(u64, Value)>,
    /// The stream, from the ids.
    pub(crate) stream: Option<String>,
    /// When the first event with data arrived.
    pub(crate) first_at: Option<std::time::Instant>,
    /// How the connection ended.
    pub(crate) end: String,
}

pub(crate) fn read_all(mut sse: Sse, until_id: Option<u64>) -> JoinHandle<Seen> {
    tokio::spawn(async move {
        let mut seen = Seen {
            events: Vec::new(),
            stream: None,
            first_at: None,
            end: String::new(),
        };
        loop {
            match sse.next(Duration::from_secs(30)).await {
                Next::Event(e) => {
                    let Some((stream, seq)) = e.seq() else {
                        continue;
                    };
                    seen.stream.get_or_insert(stream);
                    let Some(m) = e.json() else { continue };
                    seen.first_at.get_or_insert(e.at);
                    let done = until_id.is_some_and(|id| m["id"].as_u64() == Some(id));
                    seen.events.push((seq, m));
                    if done {
                        seen.end = "answered".into();
                        return seen;
                    }
                }
                Next::Ended => {
                    seen.end = "ended".into();
                    return seen;
                }
                Next::Timeout => {
                    seen.end = "stalled 30 s".into();
                    return seen;
                }
                Next::Broken(e) => {
                    seen.end = format!("broken: {e}");
                    return seen;
                }
            }
        }
    })
}

/// Lost and repeated sequence numbers in a list that should be consecutive from `first`.
pub(crate) fn gaps_and_repeats(seqs: &[u64], first: u64) -> (u64, u64, Vec<String>) {
    let (mut lost, mut dup, mut notes) = (0, 0, Vec::new());
    let mut expected = first;
    for &s in seqs {
        if s == expected {
            expected += 1;
        } else if s > expected {
            lost += s - expected;
            notes.push(format!("missing {expected}..{}", s - 1));
            expected = s + 1;
        } else {
            dup += 1;
            notes.push(format!("repeated {s}"));
        }
    }
    (lost, dup, notes)
}
