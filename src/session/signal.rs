//! Signals between the actors of one session on different replicas, carried by the store's
//! [`Bus`](crate::store::bus::Bus) on the session's topic.
//!
//! A session may have a live actor on several replicas at once (each rehydrated by a request
//! that landed there). They coordinate with these signals: a client's answer to a
//! server-to-client request reaches the replica whose tool waits for it, a cancellation reaches
//! the replica running the request, a newer connection to a stream closes older ones elsewhere
//! (every message on exactly one connection), state changes keep cached copies fresh, and a
//! DELETE ends every actor and connection of the session.

use crate::protocol::jsonrpc::{ErrorObject, RequestId};
use crate::store::SessionPatch;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// One signal on a session's topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Signal {
    /// The client answered a server-to-client request.
    Answer {
        /// The id the server used.
        id: RequestId,
        /// The result, on success.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        /// The error, on failure.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorObject>,
    },
    /// The client cancelled one of its requests (`notifications/cancelled`).
    Cancel {
        /// The cancelled request's id.
        request_id: RequestId,
    },
    /// A connection attached to a stream; other connections to it must close.
    Taken {
        /// The stream id.
        stream: String,
        /// `<replica>:<connection>` of the new connection.
        owner: String,
    },
    /// The stored session state changed.
    State {
        /// The change.
        patch: SessionPatch,
    },
    /// The session was deleted.
    Ended,
}

impl Signal {
    /// Wire encoding.
    pub fn encode(&self) -> Arc<str> {
        Arc::from(serde_json::to_string(self).unwrap_or_default())
    }

    /// Decodes a payload; `None` for anything unrecognised (logged by the caller).
    pub fn decode(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip() {
        for s in [
            Signal::Answer {
                id: RequestId::String("s1".into()),
                result: Some(json!({"a": 1})),
                error: None,
            },
            Signal::Cancel {
                request_id: RequestId::Number(4),
            },
            Signal::Taken {
                stream: "0".into(),
                owner: "r:1".into(),
            },
            Signal::State {
                patch: SessionPatch::LogLevel("debug".into()),
            },
            Signal::Ended,
        ] {
            assert_eq!(Signal::decode(&s.encode()), Some(s));
        }
        assert_eq!(Signal::decode("{\"t\":\"nope\"}"), None);
    }
}
