//! `[rate_limit]`: per-principal request rate limiting of the MCP endpoint and the HTTP+SSE
//! transport (off by default). See [`crate::ratelimit`] for the algorithm and the backends.

use super::{ConfigError, invalid};
use serde::Deserialize;

/// Where the token buckets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateBackend {
    /// In this replica's memory: with N replicas behind a round-robin balancer a client gets
    /// about N times the configured rate.
    Local,
    /// In the store (Redis or the embedded store), shared by every replica.
    Store,
}

/// `[rate_limit]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RateLimitSettings {
    /// Limit requests per principal (per peer IP when authentication is disabled).
    pub enabled: bool,
    /// Sustained requests per second allowed per key (fractions allowed, e.g. 0.5).
    pub requests_per_second: f64,
    /// Requests a key may send at once before the sustained rate applies.
    pub burst: u32,
    /// `local` (per replica, in memory) or `store` (shared through the store).
    pub backend: RateBackend,
    /// With authentication disabled, key on the first `X-Forwarded-For` / `Forwarded` address
    /// instead of the TCP peer. Only behind a proxy that sets it: clients can forge it.
    pub trust_forwarded_for: bool,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            requests_per_second: 10.0,
            burst: 20,
            backend: RateBackend::Local,
            trust_forwarded_for: false,
        }
    }
}

impl RateLimitSettings {
    /// When enabled, the rate must be positive and finite and the burst at least 1.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        let rps = self.requests_per_second;
        if !rps.is_finite() || rps <= 0.0 || rps > 1_000_000.0 {
            return Err(invalid(
                "rate_limit.requests_per_second (MCP_HIVE__RATE_LIMIT__REQUESTS_PER_SECOND)",
                format!(
                    "{rps} must be greater than 0 and at most 1000000 while rate_limit.enabled is \
                     true (set rate_limit.enabled = false to turn limiting off)"
                ),
            ));
        }
        if self.burst == 0 {
            return Err(invalid(
                "rate_limit.burst (MCP_HIVE__RATE_LIMIT__BURST)",
                "must be at least 1 while rate_limit.enabled is true",
            ));
        }
        Ok(())
    }
}
