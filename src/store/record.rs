//! The persisted session record and the field-level patches applied to it.
//!
//! Field names match the Redis hash layout documented in the README so that an operator reading
//! a record with `redis-cli HGETALL` sees the same names as this struct.

use crate::principal::Principal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// Everything needed to rehydrate a session actor on any replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The `Mcp-Session-Id`.
    pub id: String,
    /// Negotiated protocol revision (e.g. `2025-11-25`).
    pub protocol_version: String,
    /// `clientInfo` from `initialize`.
    pub client_info: Value,
    /// Client capabilities from `initialize`.
    pub client_capabilities: Value,
    /// Minimum log level for `notifications/message`.
    pub log_level: String,
    /// Subscribed resource URIs.
    #[serde(default)]
    pub subscriptions: BTreeSet<String>,
    /// Who created the session (set when auth is on).
    #[serde(default)]
    pub principal: Option<Principal>,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: u64,
}

/// A field-level change to a stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "value", rename_all = "snake_case")]
pub enum SessionPatch {
    /// New minimum log level.
    LogLevel(String),
    /// Add a resource subscription.
    Subscribe(String),
    /// Remove a resource subscription.
    Unsubscribe(String),
    /// The outcome of `initialize` for a session created before it (the HTTP+SSE transport of
    /// 2024-11-05 and stdio open the session first and receive `initialize` as a message).
    Initialized {
        /// Negotiated protocol revision.
        protocol_version: String,
        /// `clientInfo`.
        client_info: Value,
        /// Client capabilities.
        client_capabilities: Value,
    },
}

impl SessionRecord {
    /// Applies a patch in place.
    pub fn apply(&mut self, patch: &SessionPatch) {
        match patch {
            SessionPatch::LogLevel(level) => self.log_level.clone_from(level),
            SessionPatch::Subscribe(uri) => {
                self.subscriptions.insert(uri.clone());
            }
            SessionPatch::Unsubscribe(uri) => {
                self.subscriptions.remove(uri);
            }
            SessionPatch::Initialized {
                protocol_version,
                client_info,
                client_capabilities,
            } => {
                self.protocol_version.clone_from(protocol_version);
                self.client_info = client_info.clone();
                self.client_capabilities = client_capabilities.clone();
            }
        }
    }

    /// Whether `initialize` has been processed: a session opened before it (HTTP+SSE, stdio)
    /// is stored with an empty protocol version until then.
    pub fn is_initialized(&self) -> bool {
        !self.protocol_version.is_empty()
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
