//! SSE event ids that encode their stream: `<stream>-<seq>`.
//!
//! 2025-11-25 `basic/transports.mdx` ("Resumability and Redelivery"): event ids are unique across
//! all streams of a session and SHOULD identify the originating stream, so that a `Last-Event-ID`
//! replays exactly the rest of that one stream. The standalone GET stream is stream `0`; every
//! POST that answers with SSE gets a random 64-bit stream id (hex), so replicas never need to
//! coordinate to allocate one. `seq` is the position in the stream's log (1, 2, ...); `0` is
//! "before the first event" and is the id of the 2025-11-25 priming event.

use rand::Rng;
use std::fmt;
use std::str::FromStr;

/// The id of the standalone (GET) stream.
pub const STANDALONE_STREAM: &str = "0";

/// Why a `Last-Event-ID` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Last-Event-ID {0:?}: expected <stream>-<seq>")]
pub struct BadEventId(pub String);

/// A parsed event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventId {
    /// Stream id: `0` or 16 lowercase hex digits.
    pub stream: String,
    /// Sequence number within the stream.
    pub seq: u64,
}

impl EventId {
    /// An id for a position in a stream.
    pub fn new(stream: &str, seq: u64) -> Self {
        Self {
            stream: stream.to_owned(),
            seq,
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.stream, self.seq)
    }
}

impl FromStr for EventId {
    type Err = BadEventId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadEventId(s.chars().take(64).collect());
        let (stream, seq) = s.split_once('-').ok_or_else(bad)?;
        if !is_stream_id(stream) || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(EventId {
            stream: stream.to_owned(),
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// Whether `s` is a well-formed stream id.
pub fn is_stream_id(s: &str) -> bool {
    s == STANDALONE_STREAM
        || (s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// A fresh random id for a POST-opened stream.
pub fn new_stream_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let s = new_stream_id();
        let id: EventId = format!("{s}-42").parse().unwrap();
        assert_eq!(id, EventId::new(&s, 42));
        assert_eq!(id.to_string(), format!("{s}-42"));
        assert_eq!("0-7".parse::<EventId>().unwrap().seq, 7);
        for bad in [
            "",
            "0",
            "0-",
            "-1",
            "x-1",
            "0-1a",
            "0--1",
            "ABCDEF0123456789-1",
            "0-99999999999999999999999",
        ] {
            assert!(bad.parse::<EventId>().is_err(), "{bad}");
        }
    }
}
