//! Replicas: several server processes sharing one real Redis, and a new session on a
//! library-built replica.

use super::{RedisServer, TestServer};
use serde_json::json;

/// A new initialized session (latest revision, no auth) on a library-built `replica`.
pub async fn initialized(
    replica: &mcp_hive::session::registry::SessionRegistry,
) -> mcp_hive::session::handle::SessionHandle {
    replica
        .create(mcp_hive::session::registry::NewSession {
            version: mcp_hive::protocol::version::ProtocolVersion::LATEST,
            client_info: json!({"name": "t", "version": "1"}),
            client_capabilities: json!({}),
            principal: None,
        })
        .await
        .unwrap()
}

/// `n` replicas of the server on one real Redis (a small pool each), with `extra` settings.
pub async fn redis_replicas(
    redis: &RedisServer,
    n: usize,
    extra: &[(&str, &str)],
) -> Vec<TestServer> {
    let url = redis.url();
    let mut env: Vec<(&str, &str)> = vec![
        ("REDIS_URL", url.as_str()),
        ("MCP_HIVE__STORE__POOL_SIZE", "4"),
    ];
    env.extend_from_slice(extra);
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(TestServer::start(&env).await);
    }
    out
}
