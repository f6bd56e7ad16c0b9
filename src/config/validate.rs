//! Range and format checks of [`Settings`] beyond what deserialization does: each failure is a
//! [`ConfigError`] naming the setting, so a bad value stops start-up with a message an operator
//! can act on.

use super::env::named;
use super::{ConfigError, Settings, invalid};

impl Settings {
    /// Range and format checks beyond what deserialization does.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if s.host.trim().is_empty() {
            return Err(invalid(&named("server.host"), "must not be empty"));
        }
        if !s.mcp_path.starts_with('/') || s.mcp_path.contains(['?', '#', ' ']) {
            return Err(invalid(
                &named("server.mcp_path"),
                format!("{:?} must be a path starting with /", s.mcp_path),
            ));
        }
        if !s.public_url.is_empty() {
            let u = &s.public_url;
            let ok = (u.starts_with("http://") || u.starts_with("https://"))
                && !u.contains(['?', '#', ' ']);
            if !ok {
                return Err(invalid(
                    &named("server.public_url"),
                    format!("{u:?} must be an http(s) URL without query or fragment"),
                ));
            }
        }
        if s.max_body_bytes == 0 {
            return Err(invalid(
                &named("server.max_body_bytes"),
                "must be greater than 0",
            ));
        }
        for origin in &self.security.allowed_origins {
            if origin != "*" && !is_origin(origin) {
                return Err(invalid(
                    &named("security.allowed_origins"),
                    format!("{origin:?} is not an origin like https://app.example.com[:port] or *"),
                ));
            }
        }
        if self.session.idle_timeout_secs == 0 {
            return Err(invalid(
                &named("session.idle_timeout_secs"),
                "must be greater than 0",
            ));
        }
        if self.session.actor_idle_secs == 0 {
            return Err(invalid(
                &named("session.actor_idle_secs"),
                "must be greater than 0",
            ));
        }
        if self
            .session
            .default_log_level
            .parse::<crate::protocol::context::LogLevel>()
            .is_err()
        {
            return Err(invalid(
                &named("session.default_log_level"),
                "must be one of debug, info, notice, warning, error, critical, alert, emergency",
            ));
        }
        let url = &self.store.redis_url;
        if !(url.is_empty() || url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(invalid(
                &named("store.redis_url"),
                "must start with redis:// or rediss:// (TLS)",
            ));
        }
        if self.store.key_prefix.is_empty()
            || !self
                .store
                .key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            return Err(invalid(
                &named("store.key_prefix"),
                "must be non-empty letters, digits, '_', '-' or '.'",
            ));
        }
        if self.store.pool_size == 0 || self.store.timeout_ms == 0 {
            return Err(invalid(
                &named("store.pool_size"),
                "store.pool_size and store.timeout_ms must be greater than 0",
            ));
        }
        if self.sse.keep_alive_secs == 0 {
            return Err(invalid(
                &named("sse.keep_alive_secs"),
                "must be greater than 0",
            ));
        }
        if self.sse.event_log_max_len == 0 {
            return Err(invalid(
                &named("sse.event_log_max_len"),
                "must be greater than 0",
            ));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(invalid(
                &named("log.level"),
                format!(
                    "{:?} is not a log filter (e.g. info, debug, mcp_hive=debug,warn)",
                    self.log.level
                ),
            ));
        }
        self.auth.validate()?;
        self.authserver.validate()?;
        self.transports.validate(&self.server.mcp_path)?;
        self.tasks.validate()?;
        self.metrics.validate(&self.server.mcp_path)?;
        self.rate_limit.validate()?;
        if !self.protocol.state_key.trim().is_empty() {
            crate::protocol::mrtr::state::decode_key(&self.protocol.state_key)
                .map_err(|e| invalid(&named("protocol.state_key"), e))?;
        }
        if !(10..=86_400).contains(&self.protocol.state_ttl_secs) {
            return Err(invalid(
                &named("protocol.state_ttl_secs"),
                format!("{} is outside 10..=86400", self.protocol.state_ttl_secs),
            ));
        }
        if !(1..=1000).contains(&self.protocol.page_size) {
            return Err(invalid(
                &named("protocol.page_size"),
                "must be between 1 and 1000",
            ));
        }
        Ok(())
    }
}

/// `scheme://host[:port]` with an http(s) scheme and nothing after the authority.
pub fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains(['/', '?', '#', ' '])
}
