//! The environment names of the operator contract: the seed names (`HOST`, `PORT`, `REDIS_URL`,
//! ...) mapped to their settings keys, and error messages that name both the key and the
//! variables that set it.

use super::{ConfigError, invalid};

/// Seed environment names and the keys they set.
pub(super) const SEED_NAMES: &[(&str, &str)] = &[
    ("HOST", "server.host"),
    ("REDIS_URL", "store.redis_url"),
    ("PORT", "server.port"),
    ("MCP_PATH", "server.mcp_path"),
    ("PUBLIC_URL", "server.public_url"),
    ("ALLOWED_ORIGINS", "security.allowed_origins"),
    ("MCP_CONFORMANCE_FIXTURES", "protocol.conformance_fixtures"),
    ("MCP_STATE_KEY", "protocol.state_key"),
    ("LOG_FORMAT", "log.format"),
    ("LOG_LEVEL", "log.level"),
    ("SSE_MAX_CONNECTION_SECS", "sse.max_connection_secs"),
    ("SESSION_IDLE_TIMEOUT_SECS", "session.idle_timeout_secs"),
    ("MAX_SESSIONS", "session.max_sessions"),
    ("DISABLE_AUTH", "auth.disabled"),
    ("AUTH_TOKEN_MODE", "auth.mode"),
    ("OAUTH_SERVER_URL", "auth.server_url"),
    ("OAUTH_INTROSPECT_URL", "auth.introspection.url"),
    ("OAUTH_METADATA_URL", "auth.metadata_url"),
    ("OAUTH_CLIENT_ID", "auth.introspection.client_id"),
    ("OAUTH_CLIENT_SECRET", "auth.introspection.client_secret"),
    ("OAUTH_CLIENT_AUTH_METHOD", "auth.introspection.client_auth"),
    ("JWT_ISSUER", "auth.jwt.issuer"),
    ("JWT_AUDIENCE", "auth.audiences"),
    ("JWT_JWKS_URL", "auth.jwt.jwks_url"),
    ("MCP_SCOPE", "auth.required_scope"),
    ("AUTH_HOST", "authserver.host"),
    ("AUTH_PORT", "authserver.port"),
    ("ISSUER_URL", "authserver.issuer_url"),
    ("AUTH_TOKEN_FORMAT", "authserver.token_format"),
    ("ACCESS_TOKEN_TTL_SECS", "authserver.access_token_ttl_secs"),
    ("AUTH_AUTO_APPROVE", "authserver.auto_approve"),
];

/// `key (ENV_NAME)`: the file key and the environment variable(s) that set it.
pub(super) fn named(key: &str) -> String {
    let generic = format!("MCP_HIVE__{}", key.replace('.', "__").to_ascii_uppercase());
    match SEED_NAMES.iter().find(|(_, k)| *k == key) {
        Some((seed, _)) => format!("{key} ({seed} or {generic})"),
        None => format!("{key} ({generic})"),
    }
}

/// Adds the environment names to a deserialization error that quotes a key.
pub(super) fn name_keys_in(message: String) -> String {
    let mut out = message.clone();
    if let Some(start) = message.find("key `") {
        let rest = &message[start + 5..];
        if let Some(end) = rest.find('`') {
            out.push_str(&format!(" [setting {}]", named(&rest[..end])));
        }
    }
    out
}

pub(super) fn parse_bool(setting: &str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(invalid(
            setting,
            format!("{raw:?} is not a boolean (true/false)"),
        )),
    }
}
