//! The tasks extension across replicas, through the library: two [`TaskService`]s on two Redis
//! stores sharing one real `redis-server` (two replicas, as far as tasks go). A handler launched
//! as a task on replica A is stopped by a `tasks/cancel` served by replica B: the cancellation
//! travels as a signal on the store's bus (the runner's lease is long enough here that nothing
//! else could stop it in time), and the task settles as `cancelled` for both.

mod common;

use async_trait::async_trait;
use common::RedisServer;
use mcp_hive::protocol::context::{ClientPeer, LogLevel, PeerError, RequestContext, RequestInfo};
use mcp_hive::protocol::jsonrpc::RequestId;
use mcp_hive::protocol::mrtr::Inputs;
use mcp_hive::protocol::server::{McpServer, ServerInfo};
use mcp_hive::protocol::tasks::run::{Launch, Launched};
use mcp_hive::protocol::tasks::service::{TaskConfig, TaskService};
use mcp_hive::protocol::tasks::state::TaskStatus;
use mcp_hive::protocol::version::ProtocolVersion;
use mcp_hive::registry::Registry;
use mcp_hive::registry::tool::{CallToolResult, ToolSpec};
use mcp_hive::store::redis::{RedisConfig, RedisStore};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const EXT: &str = "io.modelcontextprotocol/tasks";

struct NullPeer;

#[async_trait]
impl ClientPeer for NullPeer {
    async fn notify(&self, _m: &str, _p: Value) -> Result<(), PeerError> {
        Ok(())
    }
    async fn request(&self, _m: &str, _p: Value) -> Result<Value, PeerError> {
        Err(PeerError::Delivery("none".into()))
    }
    fn log_level(&self) -> LogLevel {
        LogLevel::Emergency
    }
}

/// Sets its flag when the handler holding it is dropped (stopped).
struct Stopped(Arc<AtomicBool>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn replica(redis: &RedisServer) -> TaskService {
    let store = RedisStore::new(RedisConfig {
        url: redis.url(),
        prefix: "mcp".into(),
        pool_size: 2,
        timeout: Duration::from_secs(2),
        session_ttl: Duration::from_secs(60),
        max_sessions: 0,
        event_max_len: 10,
        event_max_age: Duration::from_secs(60),
        closed_retention: Duration::from_secs(60),
        watch_lease: mcp_hive::store::redis::watchers::WATCH_LEASE,
    })
    .expect("store");
    store.spawn_listener();
    // A lease long enough that only the bus signal can stop the handler within the test.
    let config = TaskConfig {
        lease: Duration::from_secs(60),
        ..TaskConfig::default()
    };
    TaskService::new(store.clone(), store, config)
}

#[tokio::test]
async fn a_cancel_on_one_replica_stops_the_handler_running_on_another() {
    let redis = RedisServer::start();
    let (a, b) = (replica(&redis), replica(&redis));
    tokio::time::sleep(Duration::from_millis(300)).await; // pub/sub listeners connect
    let stopped = Arc::new(AtomicBool::new(false));
    let registry = Registry::new();
    let flag = Arc::clone(&stopped);
    registry.add_tool(
        ToolSpec::new("endless", "runs until stopped")
            .build_raw(move |_a: Value, ctx: RequestContext| {
                let guard = Stopped(Arc::clone(&flag));
                async move {
                    ctx.detach().await?;
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    drop(guard);
                    Ok(CallToolResult::text("never"))
                }
            })
            .expect("tool"),
    );
    let inputs = Arc::new(Inputs::new(Map::new()));
    let params = json!({"name": "endless", "arguments": {}});
    let info = RequestInfo {
        request_id: RequestId::Number(1),
        session_id: None,
        protocol_version: ProtocolVersion::LATEST,
        client_capabilities: Arc::new(json!({"extensions": {EXT: {}}})),
        principal: None,
    };
    let ctx = RequestContext::new(info, &params, CancellationToken::new(), Arc::new(NullPeer))
        .with_inputs(Arc::clone(&inputs));
    let launched = Launch {
        service: a.clone(),
        server: McpServer::new(registry, ServerInfo::default(), 100),
        ctx,
        inputs,
        method: "tools/call".into(),
        params,
        owner: "alice".into(),
        shutdown: CancellationToken::new(),
    }
    .run()
    .await;
    let Launched::Created(task) = launched else {
        panic!("expected a task, got {launched:?}");
    };
    assert_eq!(
        b.get("alice", &task.id).await.expect("get").status,
        TaskStatus::Working
    );
    b.cancel("alice", &task.id)
        .await
        .expect("cancel on replica b");
    for _ in 0..100 {
        if stopped.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        stopped.load(Ordering::SeqCst),
        "replica a stopped the handler"
    );
    assert_eq!(
        a.get("alice", &task.id).await.expect("get").status,
        TaskStatus::Cancelled
    );
}
