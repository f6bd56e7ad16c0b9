//! Rehydrating a session's actor on one replica while another replica changes the session.
//!
//! Two `SessionRegistry` replicas share a real `redis-server`. Replica A reads the session's
//! record through a store that holds each loaded record for a moment before returning it (the
//! latency of a busy Redis, made long enough to hit every time); while A holds it, replica B
//! runs `resources/subscribe` for the same session and signals it. The actor A starts must know
//! the subscription: the rolling-restart test once saw a GET stream that never carried the clock
//! updates it had subscribed to, because the signal arrived between A's read and A's
//! subscription to the session's signals.

mod common;

use async_trait::async_trait;
use mcp_hive::config::Settings;
use mcp_hive::protocol::jsonrpc::Message;
use mcp_hive::protocol::server::{McpServer, ServerInfo};
use mcp_hive::registry::Registry;
use mcp_hive::registry::resource::{ResourceDef, text_contents};
use mcp_hive::session::event_id::STANDALONE_STREAM;
use mcp_hive::session::handle::{Parcel, PostReply, ReplyMode};
use mcp_hive::session::{SessionRegistry, SessionSettings};
use mcp_hive::startup::build_backends;
use mcp_hive::store::{SessionPatch, SessionRecord, SessionStore, StoreError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const URI: &str = "app://ticker";

/// A session store that returns each loaded record `hold` after reading it.
struct HeldLoads {
    inner: Arc<dyn SessionStore>,
    hold: Duration,
}

#[async_trait]
impl SessionStore for HeldLoads {
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create_session(record).await
    }
    async fn load_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let record = self.inner.load_session(id).await;
        tokio::time::sleep(self.hold).await;
        record
    }
    async fn update_session(&self, id: &str, patch: &SessionPatch) -> Result<(), StoreError> {
        self.inner.update_session(id, patch).await
    }
    async fn touch_session(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.touch_session(id).await
    }
    async fn session_exists(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.session_exists(id).await
    }
    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_session(id).await
    }
    async fn list_sessions(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.list_sessions(limit).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn count_sessions(&self) -> Result<u64, StoreError> {
        self.inner.count_sessions().await
    }
}

fn settings(redis: &common::RedisServer) -> Settings {
    let env: HashMap<String, String> = [("REDIS_URL", redis.url())]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    Settings::load_from(&env, None).unwrap()
}

/// One replica's session registry with a subscribable resource; `hold` delays its loads.
fn replica(settings: &Settings, hold: Option<Duration>) -> (SessionRegistry, Registry) {
    replica_with(settings, SessionSettings::from_config(settings), hold)
}

fn replica_with(
    settings: &Settings,
    session_settings: SessionSettings,
    hold: Option<Duration>,
) -> (SessionRegistry, Registry) {
    let registry = Registry::new();
    registry.add_resource(ResourceDef::new(
        URI,
        "ticker",
        Some("text/plain"),
        |uri, _ctx| async move { Ok(vec![text_contents(&uri, "text/plain", "tick")]) },
    ));
    let mut backends = build_backends(settings).unwrap();
    if let Some(hold) = hold {
        backends.sessions = Arc::new(HeldLoads {
            inner: backends.sessions,
            hold,
        });
    }
    let server = McpServer::new(registry.clone(), ServerInfo::default(), 50);
    let sessions = SessionRegistry::new(server, backends, session_settings, Vec::new());
    (sessions, registry)
}

async fn answer(reply: PostReply) -> Value {
    let PostReply::Json(mut answers) = reply else {
        panic!("expected a JSON reply");
    };
    answers.remove(0).await.unwrap()
}

#[actix_web::test]
async fn a_subscription_made_elsewhere_while_the_record_is_read_reaches_the_new_actor() {
    let redis = common::RedisServer::start();
    let settings = settings(&redis);
    let hold = Duration::from_millis(400);
    let (a, a_resources) = replica(&settings, Some(hold));
    let (b, _b_resources) = replica(&settings, None);

    let on_b = common::initialized(&b).await;
    let id = on_b.id().to_owned();

    // A's GET: A reads the record (no subscription yet) and holds it.
    let rehydrate = {
        let (a, id) = (a.clone(), id.clone());
        actix_web::rt::spawn(async move { a.get(&id, None).await })
    };
    tokio::time::sleep(hold / 4).await;
    // Meanwhile B runs `resources/subscribe`, storing it and signalling every replica.
    let subscribe = Message::from_value(json!({
        "jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": URI}
    }))
    .unwrap();
    let reply = on_b
        .post(Parcel::new(vec![subscribe]), ReplyMode::Json, None)
        .await
        .unwrap();
    let answered = answer(reply).await;
    assert_eq!(answered["result"], json!({}), "{answered}");
    assert!(!rehydrate.is_finished(), "A's load must still be held");

    let on_a = rehydrate.await.unwrap().unwrap();
    let _get = on_a.attach(STANDALONE_STREAM).await.unwrap();
    // The update is announced on A only (no fan-out between these replicas): A's actor holds
    // the GET stream and writes `resources/updated` when it knows the subscription.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut seen = Vec::new();
    while tokio::time::Instant::now() < deadline {
        a_resources.notify_resource_updated(URI);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let batch = a
            .events()
            .read_after(&id, STANDALONE_STREAM, 0, 100)
            .await
            .unwrap();
        seen = batch
            .events
            .iter()
            .map(|e| serde_json::from_str::<Value>(&e.data).unwrap())
            .collect();
        if !seen.is_empty() {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|m| m["method"] == "notifications/resources/updated" && m["params"]["uri"] == URI),
        "A's GET stream got no resources/updated for the subscription made on B: {seen:?}"
    );
}

/// A POST whose actor hibernated while the request was on its way: the registry rehydrates the
/// session and hands the same parcel to the new actor (the messages are not copied per request,
/// so this is the only path that proves the first actor left them in the parcel).
#[actix_web::test]
async fn a_post_racing_hibernation_is_answered_by_the_rehydrated_actor() {
    let redis = common::RedisServer::start();
    let settings = settings(&redis);
    let mut quick = SessionSettings::from_config(&settings);
    quick.actor_idle = Duration::from_millis(200);
    quick.idle_check = Duration::from_millis(50);
    let (sessions, _resources) = replica_with(&settings, quick, None);
    let stale = common::initialized(&sessions).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while stale.is_alive() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the actor never hibernated"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ping = Message::from_value(json!({"jsonrpc": "2.0", "id": 7, "method": "ping"})).unwrap();
    let parcel = Parcel::new(vec![ping]);
    let attempts = std::cell::Cell::new(0);
    let reply = sessions
        .with_retry(stale, |h| {
            attempts.set(attempts.get() + 1);
            let parcel = parcel.clone();
            async move { h.post(parcel, ReplyMode::Json, None).await }
        })
        .await
        .unwrap();
    let answered = answer(reply).await;
    assert_eq!(answered["id"], json!(7), "{answered}");
    assert_eq!(answered["result"], json!({}), "{answered}");
    assert_eq!(
        attempts.get(),
        2,
        "the first attempt met the hibernated actor"
    );
}
