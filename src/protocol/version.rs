//! MCP protocol revisions served by the session era and the rules that differ between them
//! (batching, the `MCP-Protocol-Version` header, SSE priming, input-validation errors).
//!
//! Negotiation follows `basic/lifecycle.mdx` (every revision): if the server supports the
//! version the client asks for it answers with the same one, otherwise with its latest.

use std::fmt;
use std::str::FromStr;

/// A session-era MCP protocol revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// 2024-11-05: the HTTP+SSE era; accepted at `initialize` for old clients.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP, JSON-RPC batches.
    V2025_03_26,
    /// 2025-06-18: no batches, `MCP-Protocol-Version` header, structured tool output.
    V2025_06_18,
    /// 2025-11-25: SSE priming events and polling, stream-encoded event ids.
    V2025_11_25,
}

/// Error for a version string this server does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported MCP protocol version {0:?}")]
pub struct UnsupportedVersion(pub String);

impl ProtocolVersion {
    /// Every supported revision, newest first.
    pub const ALL: [ProtocolVersion; 4] = [
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2024_11_05,
    ];

    /// The newest revision, offered when a client asks for one we do not support.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2025_11_25;

    /// The revision assumed when a request carries no `MCP-Protocol-Version` header and nothing
    /// else identifies it (2025-06-18 `basic/transports.mdx`, "Protocol Version Header").
    pub const HEADERLESS_DEFAULT: ProtocolVersion = ProtocolVersion::V2025_03_26;

    /// The wire string, e.g. `"2025-11-25"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
        }
    }

    /// Version negotiation (`basic/lifecycle.mdx`): the requested version when supported,
    /// otherwise the latest supported one.
    pub fn negotiate(requested: &str) -> ProtocolVersion {
        requested.parse().unwrap_or(Self::LATEST)
    }

    /// JSON-RPC batches are accepted only in 2025-03-26 (removed in 2025-06-18).
    pub fn allows_batches(self) -> bool {
        self <= ProtocolVersion::V2025_03_26
    }

    /// 2025-11-25 servers SHOULD prime each SSE stream with an event id and empty data.
    pub fn sends_priming_event(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// From 2025-11-25 on, tool input-validation failures are tool execution errors
    /// (`isError: true`) rather than JSON-RPC -32602 errors (SEP-1303).
    pub fn input_errors_are_tool_errors(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// Structured tool output (`outputSchema`, `structuredContent`) exists from 2025-06-18.
    pub fn has_structured_output(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }
}

impl FromStr for ProtocolVersion {
    type Err = UnsupportedVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnsupportedVersion(s.to_owned()))
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_supported_and_falls_back_to_latest() {
        assert_eq!(
            ProtocolVersion::negotiate("2025-06-18"),
            ProtocolVersion::V2025_06_18
        );
        assert_eq!(
            ProtocolVersion::negotiate("1999-01-01"),
            ProtocolVersion::LATEST
        );
    }

    #[test]
    fn era_rules() {
        assert!(ProtocolVersion::V2025_03_26.allows_batches());
        assert!(!ProtocolVersion::V2025_06_18.allows_batches());
        assert!(ProtocolVersion::V2025_11_25.sends_priming_event());
        assert!(!ProtocolVersion::V2025_06_18.sends_priming_event());
        assert!("2026-07-28".parse::<ProtocolVersion>().is_err());
    }
}
