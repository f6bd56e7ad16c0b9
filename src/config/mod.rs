//! Settings: `config/default.toml` (compiled in), an optional file, `MCP_HIVE__SECTION__KEY`
//! environment variables, and the seed names of the operator contract (`HOST`, `PORT`,
//! `MCP_PATH`, `PUBLIC_URL`, `ALLOWED_ORIGINS`, `MCP_CONFORMANCE_FIXTURES`, `LOG_FORMAT`, ...),
//! in increasing precedence.
//!
//! A bad value stops start-up with a [`ConfigError`] that names the setting (and the variable
//! that set it, for seed names).

mod auth;
mod authserver;
mod env;
mod metrics;
mod rate_limit;
mod tasks;
mod transports;
mod validate;

pub use auth::{
    AuthSettings, ClientAuthMethod, DEFAULT_JWT_ALGORITHMS, IntrospectionSettings, JwtSettings,
    TokenMode, is_scope_token,
};
pub use authserver::{AuthServerSettings, DemoUser, StaticClient, TokenFormat};
pub use metrics::MetricsSettings;
pub use rate_limit::{RateBackend, RateLimitSettings};
pub use tasks::TaskSettings;
pub use transports::{LegacySsePaths, TransportSettings};
pub use validate::is_origin;

use config::{Config, Environment, File, FileFormat};
use env::{SEED_NAMES, name_keys_in, parse_bool};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// The compiled-in defaults.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// A configuration problem, naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or a value could not be deserialized.
    #[error("configuration error: {0}")]
    Load(String),
    /// A value is out of range or malformed.
    #[error("invalid setting {setting}: {reason}")]
    Invalid {
        /// The setting (file key and/or environment variable).
        setting: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(setting: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_owned(),
        reason: reason.into(),
    }
}

/// All settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// HTTP server.
    pub server: ServerSettings,
    /// Origin checks.
    pub security: SecuritySettings,
    /// Session lifetimes.
    pub session: SessionConfig,
    /// Session and event storage.
    pub store: StoreSettings,
    /// SSE behaviour.
    pub sse: SseSettings,
    /// Protocol behaviour.
    pub protocol: ProtocolSettings,
    /// Logging.
    pub log: LogSettings,
    /// OAuth 2.1 resource server.
    pub auth: AuthSettings,
    /// The demo authorization server (`mcp-hive auth`).
    pub authserver: AuthServerSettings,
    /// Transports beside Streamable HTTP (HTTP+SSE, stdio).
    #[serde(default)]
    pub transports: TransportSettings,
    /// The tasks extension of the 2026-07-28 lane.
    #[serde(default)]
    pub tasks: TaskSettings,
    /// The Prometheus scrape endpoint.
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// Per-principal rate limiting.
    #[serde(default)]
    pub rate_limit: RateLimitSettings,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// Bind address.
    pub host: String,
    /// Bind port (0 = any free port).
    pub port: u16,
    /// The MCP endpoint path.
    pub mcp_path: String,
    /// External base URL.
    pub public_url: String,
    /// POST body limit in bytes.
    pub max_body_bytes: usize,
    /// Graceful shutdown budget.
    pub shutdown_timeout_secs: u64,
    /// Seconds a replica keeps serving after SIGTERM while reporting not-ready, so load
    /// balancers stop routing to it before it stops accepting connections.
    #[serde(default)]
    pub drain_delay_secs: u64,
    /// Worker threads (0 = CPU count).
    pub workers: usize,
}

/// `[security]`.
#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    /// Allowed browser origins ("*" = any).
    pub allowed_origins: Vec<String>,
    /// Accept localhost origins.
    pub allow_localhost_origins: bool,
}

/// `[session]`.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionConfig {
    /// Store TTL of idle sessions.
    pub idle_timeout_secs: u64,
    /// Actor hibernation delay.
    pub actor_idle_secs: u64,
    /// Server-to-client request timeout.
    pub request_timeout_secs: u64,
    /// Initial log level.
    pub default_log_level: String,
    /// Live session cap (0 = none).
    pub max_sessions: usize,
    /// Confirm cached sessions against a shared store on each request (before it runs, or by
    /// the store's write of the reply of a request that changes nothing; see
    /// [`crate::session::Check`]).
    pub verify_each_request: bool,
    /// Run session actors on the HTTP worker thread that starts them.
    pub actors_on_http_workers: bool,
    /// Requests in a row from one other HTTP worker after which an idle actor moves there
    /// (0 = never).
    pub relocate_after: u32,
    /// Requests one session may have running at once on a replica (0 = no cap).
    pub max_requests_in_flight: usize,
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoreSettings {
    /// Redis URL; empty = embedded store.
    pub redis_url: String,
    /// Key and channel prefix.
    pub key_prefix: String,
    /// Pool size per replica.
    pub pool_size: usize,
    /// Per-operation time limit.
    pub timeout_ms: u64,
}

/// `[sse]`.
#[derive(Debug, Clone, Deserialize)]
pub struct SseSettings {
    /// Keep-alive comment period.
    pub keep_alive_secs: u64,
    /// `retry` hint in milliseconds.
    pub retry_ms: u64,
    /// Connection lifetime (0 = unlimited).
    pub max_connection_secs: u64,
    /// Events kept per stream.
    pub event_log_max_len: usize,
    /// Maximum event age.
    pub event_log_max_age_secs: u64,
    /// Retention of ended streams.
    pub closed_stream_retention_secs: u64,
}

/// How requests are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseMode {
    /// SSE for methods that may stream, JSON otherwise.
    Auto,
    /// Always JSON.
    Json,
    /// Always SSE.
    Sse,
}

/// `[protocol]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProtocolSettings {
    /// JSON/SSE choice.
    pub response_mode: ResponseMode,
    /// List page size.
    pub page_size: usize,
    /// Serve conformance fixtures.
    pub conformance_fixtures: bool,
    /// `instructions` (empty = none).
    pub instructions: String,
    /// Base64 key sealing 2026-07-28 `requestState` (empty = random per process).
    pub state_key: String,
    /// Lifetime of a sealed `requestState`, seconds.
    pub state_ttl_secs: u64,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// Text or JSON.
    pub format: LogFormat,
    /// Filter directive.
    pub level: String,
}

impl Settings {
    /// Loads from the process environment and an optional file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::load_from(&env, file)
    }

    /// Loads from an explicit environment map (used by tests) and an optional file.
    pub fn load_from(
        env: &HashMap<String, String>,
        file: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        let mut builder =
            Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env.get("MCP_HIVE_CONFIG").map(Into::into));
        if let Some(path) = file {
            if !path.exists() {
                return Err(invalid(
                    "--config / MCP_HIVE_CONFIG",
                    format!("file {} does not exist", path.display()),
                ));
            }
            builder = builder.add_source(File::from(path).required(true));
        }
        builder = builder.add_source(
            Environment::with_prefix("MCP_HIVE")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("security.allowed_origins")
                .with_list_parse_key("auth.audiences")
                .with_list_parse_key("auth.scopes_supported")
                .with_list_parse_key("auth.jwt.algorithms")
                .source(Some(env.clone())),
        );
        for (name, key) in SEED_NAMES {
            let Some(raw) = env.get(*name) else { continue };
            let setting = format!("{name} ({key})");
            builder = match *key {
                "server.port" | "authserver.port" => {
                    let port: u16 = raw.trim().parse().map_err(|_| {
                        invalid(&setting, format!("{raw:?} is not a port number (0-65535)"))
                    })?;
                    builder.set_override(*key, i64::from(port))
                }
                "protocol.conformance_fixtures" | "auth.disabled" | "authserver.auto_approve" => {
                    builder.set_override(*key, parse_bool(&setting, raw)?)
                }
                "sse.max_connection_secs"
                | "session.idle_timeout_secs"
                | "session.max_sessions"
                | "authserver.access_token_ttl_secs" => {
                    let n: u64 = raw.trim().parse().map_err(|_| {
                        invalid(&setting, format!("{raw:?} is not a non-negative integer"))
                    })?;
                    builder.set_override(*key, n)
                }
                "security.allowed_origins" | "auth.audiences" => {
                    let list: Vec<String> = raw
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect();
                    builder.set_override(*key, list)
                }
                _ => builder.set_override(*key, raw.clone()),
            }
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        }
        let mut settings: Settings = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| ConfigError::Load(name_keys_in(e.to_string())))?;
        if let Some(raw) = env.get(auth::TOOL_SCOPES_ENV) {
            settings.auth.tool_scopes = auth::parse_tool_scopes(raw)?;
        }
        if let Some(raw) = env.get("TRANSPORT") {
            settings.transports.apply_env(raw)?;
        }
        if let Some(raw) = env.get("AUTH_USERS") {
            settings.authserver.users = authserver::parse_users(raw)?;
        }
        settings.validate()?;
        Ok(settings)
    }

    /// The external base URL (`PUBLIC_URL`, or `http://host:port`).
    pub fn public_base_url(&self, bound_port: u16) -> String {
        if self.server.public_url.is_empty() {
            format!("http://{}:{}", self.server.host, bound_port)
        } else {
            self.server.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// Keep-alive period.
    pub fn keep_alive(&self) -> Duration {
        Duration::from_secs(self.sse.keep_alive_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn defaults_load() {
        let s = Settings::load_from(&env(&[]), None).unwrap();
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.server.port, 3000);
        assert_eq!(s.server.mcp_path, "/mcp");
        assert_eq!(s.protocol.response_mode, ResponseMode::Auto);
        assert_eq!(s.session.max_requests_in_flight, 1000);
    }

    #[test]
    fn seed_names_override() {
        let s = Settings::load_from(
            &env(&[
                ("PORT", "0"),
                ("HOST", "0.0.0.0"),
                (
                    "ALLOWED_ORIGINS",
                    "https://a.example, http://b.example:8080",
                ),
                ("MCP_CONFORMANCE_FIXTURES", "true"),
                ("LOG_FORMAT", "json"),
                ("MCP_HIVE__SSE__RETRY_MS", "250"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(s.server.port, 0);
        assert_eq!(s.server.host, "0.0.0.0");
        assert_eq!(s.security.allowed_origins.len(), 2);
        assert!(s.protocol.conformance_fixtures);
        assert_eq!(s.log.format, LogFormat::Json);
        assert_eq!(s.sse.retry_ms, 250);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let e = Settings::load_from(&env(&[("PORT", "abc")]), None).unwrap_err();
        assert!(e.to_string().contains("PORT"), "{e}");
        let e = Settings::load_from(&env(&[("MCP_PATH", "mcp")]), None).unwrap_err();
        assert!(e.to_string().contains("MCP_PATH"), "{e}");
        let e =
            Settings::load_from(&env(&[("ALLOWED_ORIGINS", "not an origin")]), None).unwrap_err();
        assert!(e.to_string().contains("ALLOWED_ORIGINS"), "{e}");
        let e = Settings::load_from(&env(&[("LOG_FORMAT", "xml")]), None).unwrap_err();
        assert!(e.to_string().contains("LOG_FORMAT"), "{e}");
        let e = Settings::load_from(&env(&[("LOG_LEVEL", "???")]), None).unwrap_err();
        assert!(e.to_string().contains("LOG_LEVEL"), "{e}");
        let e = Settings::load_from(&env(&[("SESSION_IDLE_TIMEOUT_SECS", "0")]), None).unwrap_err();
        assert!(e.to_string().contains("SESSION_IDLE_TIMEOUT_SECS"), "{e}");
        let e =
            Settings::load_from(&env(&[("MCP_CONFORMANCE_FIXTURES", "maybe")]), None).unwrap_err();
        assert!(e.to_string().contains("MCP_CONFORMANCE_FIXTURES"), "{e}");
    }

    #[test]
    fn auth_settings_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("OAUTH_SERVER_URL", "localhost:3001")],
                "OAUTH_SERVER_URL",
            ),
            (&[("AUTH_TOKEN_MODE", "magic")], "auth.mode"),
            (&[("DISABLE_AUTH", "perhaps")], "DISABLE_AUTH"),
            (&[("MCP_SCOPE", "two scopes")], "MCP_SCOPE"),
            (&[("MCP_TOOL_SCOPES", "count")], "MCP_TOOL_SCOPES"),
            (
                &[
                    ("AUTH_TOKEN_MODE", "jwt"),
                    ("MCP_HIVE__AUTH__JWT__ALGORITHMS", "HS256"),
                ],
                "auth.jwt.algorithms",
            ),
            (
                &[("AUTH_TOKEN_MODE", "jwt"), ("JWT_JWKS_URL", "ftp://x")],
                "JWT_JWKS_URL",
            ),
            (
                &[("OAUTH_CLIENT_AUTH_METHOD", "client_secret_post")],
                "OAUTH_CLIENT_AUTH_METHOD",
            ),
            (&[("OAUTH_CLIENT_SECRET", "s")], "OAUTH_CLIENT_ID"),
            (&[("AUTH_PORT", "99999")], "AUTH_PORT"),
            (&[("ISSUER_URL", "nope")], "ISSUER_URL"),
            (&[("AUTH_USERS", "alice")], "AUTH_USERS"),
            (
                &[("AUTH_TOKEN_FORMAT", "paseto")],
                "authserver.token_format",
            ),
        ];
        for (vars, named) in cases {
            let e = Settings::load_from(&env(vars), None).unwrap_err();
            assert!(e.to_string().contains(named), "{vars:?}: {e}");
        }
        // Auth off: its settings are not checked.
        let s = Settings::load_from(
            &env(&[("DISABLE_AUTH", "true"), ("OAUTH_SERVER_URL", "nonsense")]),
            None,
        )
        .unwrap();
        assert!(s.auth.disabled);
        let s = Settings::load_from(
            &env(&[("AUTH_USERS", "alice:a1,bob:b2"), ("JWT_AUDIENCE", "x, y")]),
            None,
        )
        .unwrap();
        assert_eq!(s.authserver.users.len(), 2);
        assert_eq!(s.auth.audiences, ["x", "y"]);
    }
}
