//! One behavioural suite for every store backend (as actix-session runs one suite against each
//! of its stores): [`suite::run_suite`] holds what every backend must do, and each backend's
//! module runs it against the embedded store or Redis (a real `redis-server`, started per test
//! on a free port), then tests what only that backend has.

#[path = "../common/mod.rs"]
mod common;

mod embedded;
mod redis_backend;
mod retention;
mod slow_redis;
mod suite;
mod wakeups;

use suite::run_suite;

use futures_util::StreamExt as _;
use mcp_hive::session::stream::{Frame, ReaderOptions, ReaderSource, StopOn, reader_stream};
use mcp_hive::store::memory::{MemoryStore, MemoryStoreConfig};
use mcp_hive::store::redis::watchers::WATCH_LEASE;
use mcp_hive::store::redis::{RedisConfig, RedisStore};
use mcp_hive::store::runner::RunnerStore;
use mcp_hive::store::{
    EventBatch, EventStore, SessionPatch, SessionRecord, SessionStore, StoreError, WatchScope,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A batch's events as (sequence number, data).
fn numbered(batch: &EventBatch) -> Vec<(u64, &str)> {
    batch.events.iter().map(|e| (e.seq, &*e.data)).collect()
}

fn record(id: &str) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        protocol_version: "2025-11-25".into(),
        client_info: json!({"name": "suite", "version": "1"}),
        client_capabilities: json!({"sampling": {}}),
        log_level: "info".into(),
        subscriptions: Default::default(),
        principal: None,
        created_at_ms: 1,
    }
}

/// Test defaults for a Redis store; tests override fields with struct-update syntax.
fn redis_config(url: String) -> RedisConfig {
    RedisConfig {
        url,
        prefix: "mcp".into(),
        pool_size: 4,
        timeout: Duration::from_secs(2),
        session_ttl: Duration::from_secs(60),
        max_sessions: 0,
        event_max_len: 10,
        event_max_age: Duration::from_secs(60),
        closed_retention: Duration::from_secs(60),
        watch_lease: WATCH_LEASE,
    }
}

fn redis_store(config: RedisConfig) -> Arc<RedisStore> {
    let store = RedisStore::new(config).unwrap();
    store.spawn_listener();
    store
}
