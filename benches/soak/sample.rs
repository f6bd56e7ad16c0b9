//! What the soak samples during the run: the replicas' and Redis's numbers every 10 s, and
//! Redis's keys by kind and with or without a TTL.

use crate::support::Redis;
use std::collections::BTreeMap;

/// One sample.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) t: f64,
    pub(crate) rss_kib: [u64; 2],
    pub(crate) cpu_secs: [f64; 2],
    pub(crate) live_actors: [u64; 2],
    pub(crate) redis_used: u64,
    pub(crate) keys: u64,
    pub(crate) keys_without_ttl: u64,
    /// Calls answered / failed so far.
    pub(crate) ok: u64,
    pub(crate) failed: u64,
}

/// Keys by kind.
pub(crate) async fn key_kinds(redis: &Redis) -> BTreeMap<String, u64> {
    let mut kinds = BTreeMap::new();
    for key in redis.keys_matching("*").await {
        let kind = if let Some(rest) = key.strip_prefix("mcp:{") {
            let tail = rest.split_once("}:").map_or("", |(_, t)| t);
            let tail = tail.split(':').next().unwrap_or("");
            format!("mcp:{{sid}}:{tail}")
        } else if key.starts_with("mcp:replica:") {
            "mcp:replica:<id>".to_owned()
        } else {
            key
        };
        *kinds.entry(kind).or_default() += 1;
    }
    kinds
}

pub(crate) async fn keyspace(redis: &Redis) -> (u64, u64) {
    let info = redis.info(&["keyspace"]).await;
    let db0 = info.get("db0").cloned().unwrap_or_default();
    let field = |name: &str| {
        db0.split(',')
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("keys"), field("expires"))
}
