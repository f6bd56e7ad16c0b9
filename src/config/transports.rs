//! `[transports]`: which transports beside Streamable HTTP are served. The HTTP+SSE transport of
//! MCP 2024-11-05 (`basic/transports.mdx`, "HTTP with SSE") adds `GET <base>/sse` and
//! `POST <base>/messages` next to the MCP endpoint, where `<base>` is the MCP path without its
//! last segment (`/mcp` → `/sse` and `/messages`; `/api/mcp` → `/api/sse`, `/api/messages`).
//! stdio (every revision's `basic/transports.mdx`) replaces the HTTP listener.
//!
//! The seed's `TRANSPORT` variable selects them: `streamable-http` (only the MCP endpoint),
//! `sse` (the MCP endpoint and HTTP+SSE) or `stdio`.

use super::{ConfigError, invalid};
use serde::Deserialize;

/// `[transports]`.
#[derive(Debug, Clone, Deserialize)]
pub struct TransportSettings {
    /// Serve the HTTP+SSE transport (`/sse`, `/messages`) beside the MCP endpoint.
    pub sse: bool,
    /// Serve one session over stdin/stdout instead of HTTP (`mcp-hive serve --stdio`).
    pub stdio: bool,
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self {
            sse: true,
            stdio: false,
        }
    }
}

/// The routes of the HTTP+SSE transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacySsePaths {
    /// `GET`: opens the session's SSE stream.
    pub sse: String,
    /// `POST ?sessionId=`: one JSON-RPC message of the session.
    pub messages: String,
}

impl LegacySsePaths {
    /// The paths beside `mcp_path`: its last segment replaced by `sse` and `messages`.
    pub fn beside(mcp_path: &str) -> Self {
        let trimmed = mcp_path.trim_end_matches('/');
        let base = trimmed.rsplit_once('/').map_or("", |(base, _)| base);
        Self {
            sse: format!("{base}/sse"),
            messages: format!("{base}/messages"),
        }
    }
}

impl TransportSettings {
    /// Applies the seed's `TRANSPORT` value.
    pub(super) fn apply_env(&mut self, raw: &str) -> Result<(), ConfigError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "streamable-http" | "streamable_http" | "http" => self.sse = false,
            "sse" => self.sse = true,
            "stdio" => self.stdio = true,
            _ => {
                return Err(invalid(
                    "TRANSPORT (transports.sse / transports.stdio)",
                    format!("{raw:?} must be streamable-http, sse or stdio"),
                ));
            }
        }
        Ok(())
    }

    /// The HTTP+SSE routes must not shadow the MCP endpoint.
    pub(super) fn validate(&self, mcp_path: &str) -> Result<(), ConfigError> {
        if !self.sse {
            return Ok(());
        }
        let paths = LegacySsePaths::beside(mcp_path);
        let endpoint = mcp_path.trim_end_matches('/');
        if endpoint == paths.sse || endpoint == paths.messages {
            return Err(invalid(
                "server.mcp_path (MCP_PATH)",
                format!(
                    "{mcp_path:?} collides with the HTTP+SSE routes {} and {}; choose another \
                     path or set TRANSPORT=streamable-http (transports.sse = false)",
                    paths.sse, paths.messages
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sit_beside_the_mcp_endpoint() {
        let p = LegacySsePaths::beside("/mcp");
        assert_eq!((p.sse.as_str(), p.messages.as_str()), ("/sse", "/messages"));
        let p = LegacySsePaths::beside("/api/v1/mcp/");
        assert_eq!(
            (p.sse.as_str(), p.messages.as_str()),
            ("/api/v1/sse", "/api/v1/messages")
        );
        assert_eq!(LegacySsePaths::beside("/").sse, "/sse");
    }

    #[test]
    fn transport_values_and_collisions() {
        let mut t = TransportSettings::default();
        t.apply_env("streamable-http").unwrap();
        assert!(!t.sse && !t.stdio);
        t.apply_env("SSE").unwrap();
        assert!(t.sse);
        t.apply_env("stdio").unwrap();
        assert!(t.stdio);
        assert!(t.apply_env("websocket").is_err());
        assert!(t.validate("/sse").is_err());
        assert!(t.validate("/api/messages").is_err());
        assert!(t.validate("/mcp").is_ok());
        t.sse = false;
        assert!(t.validate("/sse").is_ok());
    }
}
