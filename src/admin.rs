//! Operator commands on the shared store (`mcp-hive sessions list|show|delete`): read and delete
//! the same Redis keys the replicas use. Deleting a session also signals every replica, so its
//! actors and open streams end at once and later requests get 404, exactly like an HTTP DELETE.

use crate::config::Settings;
use crate::session::signal::Signal;
use crate::store::SessionStore;
use crate::store::bus::Bus;
use crate::store::redis::watchers::WATCH_LEASE;
use crate::store::redis::{RedisConfig, RedisStore};
use anyhow::{Context, bail};
use std::sync::Arc;
use std::time::Duration;

fn connect(settings: &Settings) -> anyhow::Result<Arc<RedisStore>> {
    if settings.store.redis_url.is_empty() {
        bail!(
            "sessions commands need the Redis store: set REDIS_URL (or store.redis_url); \
             the embedded store lives inside one serve process"
        );
    }
    RedisStore::new(RedisConfig {
        url: settings.store.redis_url.clone(),
        prefix: settings.store.key_prefix.clone(),
        pool_size: 2,
        timeout: Duration::from_millis(settings.store.timeout_ms),
        session_ttl: Duration::from_secs(settings.session.idle_timeout_secs),
        max_sessions: 0,
        event_max_len: settings.sse.event_log_max_len,
        event_max_age: Duration::from_secs(settings.sse.event_log_max_age_secs),
        closed_retention: Duration::from_secs(settings.sse.closed_stream_retention_secs),
        watch_lease: WATCH_LEASE,
    })
    .map_err(|e| anyhow::anyhow!("store.redis_url (REDIS_URL): {e}"))
}

/// `sessions list`: one line per live session (id, version, client, created).
pub async fn list(settings: &Settings, limit: usize) -> anyhow::Result<String> {
    let store = connect(settings)?;
    let ids = store
        .list_sessions(limit)
        .await
        .context("listing sessions")?;
    let mut out = format!(
        "{:<34} {:<11} {:<24} {}\n",
        "SESSION", "VERSION", "CLIENT", "CREATED_MS"
    );
    for id in ids {
        let Some(r) = store.load_session(&id).await? else {
            continue;
        };
        let client = format!(
            "{}/{}",
            r.client_info["name"].as_str().unwrap_or("?"),
            r.client_info["version"].as_str().unwrap_or("?")
        );
        out.push_str(&format!(
            "{:<34} {:<11} {:<24} {}\n",
            r.id, r.protocol_version, client, r.created_at_ms
        ));
    }
    Ok(out)
}

/// `sessions show <id>`: the record, TTL, keys and streams as JSON.
pub async fn show(settings: &Settings, id: &str) -> anyhow::Result<String> {
    let store = connect(settings)?;
    match store.describe(id).await? {
        Some(v) => Ok(serde_json::to_string_pretty(&v)?),
        None => bail!("session {id} not found (unknown, expired or deleted)"),
    }
}

/// `sessions delete <id>`: deletes the keys and ends the session on every replica.
pub async fn delete(settings: &Settings, id: &str) -> anyhow::Result<String> {
    let store = connect(settings)?;
    let existed = store
        .delete_session(id)
        .await
        .context("deleting the session")?;
    store
        .publish(id, Signal::Ended.encode())
        .await
        .context("signalling the replicas")?;
    if existed {
        Ok(format!("deleted session {id}"))
    } else {
        bail!("session {id} not found (unknown, expired or deleted)")
    }
}
