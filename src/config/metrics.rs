//! `[metrics]`: the Prometheus scrape endpoint of one replica (`GET /metrics` on the main
//! listener, no authentication, like `/healthz`). See [`crate::metrics`] for the series.

use super::{ConfigError, invalid};
use serde::Deserialize;

/// `[metrics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MetricsSettings {
    /// Serve the scrape endpoint and record metrics.
    pub enabled: bool,
    /// The path of the scrape endpoint.
    pub path: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            path: "/metrics".into(),
        }
    }
}

impl MetricsSettings {
    /// The path must be a plain path that no other route of the listener uses.
    pub(super) fn validate(&self, mcp_path: &str) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        let setting = "metrics.path (MCP_HIVE__METRICS__PATH)";
        let p = &self.path;
        if !p.starts_with('/') || p.len() < 2 || p.contains(['?', '#', ' ', '{', '}']) {
            return Err(invalid(
                setting,
                format!("{p:?} must be a path starting with / (e.g. /metrics)"),
            ));
        }
        let taken = [mcp_path, "/healthz", "/readyz"];
        if taken
            .iter()
            .any(|t| t.trim_end_matches('/') == p.trim_end_matches('/'))
            || p.starts_with("/.well-known/")
        {
            return Err(invalid(
                setting,
                format!("{p:?} collides with another route of the server"),
            ));
        }
        Ok(())
    }
}
