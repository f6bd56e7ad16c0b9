//! A session actor does not stop (hibernate, leave its worker, move to another one) while a
//! signal it sends to the other replicas is still being published: the publish runs on the
//! actor's context, and stopping the actor would drop it. Driven through the library with
//! the embedded store and a bus whose publishes take a while (a slow Redis, made long enough
//! to hit every time).

mod common;

use async_trait::async_trait;
use mcp_hive::config::Settings;
use mcp_hive::protocol::jsonrpc::Message;
use mcp_hive::protocol::server::{McpServer, ServerInfo};
use mcp_hive::registry::Registry;
use mcp_hive::session::handle::{Parcel, PostReply, ReplyMode};
use mcp_hive::session::{SessionRegistry, SessionSettings};
use mcp_hive::startup::build_backends;
use mcp_hive::store::StoreError;
use mcp_hive::store::bus::{Bus, Subscription};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A bus whose publishes complete `hold` after they start; counts the completed ones.
struct HeldPublishes {
    inner: Arc<dyn Bus>,
    hold: Duration,
    done: Arc<AtomicUsize>,
}

#[async_trait]
impl Bus for HeldPublishes {
    async fn publish(&self, topic: &str, payload: Arc<str>) -> Result<(), StoreError> {
        tokio::time::sleep(self.hold).await;
        let published = self.inner.publish(topic, payload).await;
        self.done.fetch_add(1, Ordering::SeqCst);
        published
    }
    fn subscribe(&self, topic: &str) -> Subscription {
        self.inner.subscribe(topic)
    }
}

#[actix_web::test]
async fn an_actor_publishing_a_signal_does_not_hibernate_until_it_is_sent() {
    let settings = Settings::load_from(&HashMap::new(), None).unwrap();
    let mut backends = build_backends(&settings).unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let hold = Duration::from_millis(800);
    backends.bus = Arc::new(HeldPublishes {
        inner: backends.bus,
        hold,
        done: Arc::clone(&done),
    });
    let mut quick = SessionSettings::from_config(&settings);
    quick.actor_idle = Duration::from_millis(200);
    quick.idle_check = Duration::from_millis(50);
    let server = McpServer::new(Registry::new(), ServerInfo::default(), 50);
    let sessions = SessionRegistry::new(server, backends, quick, Vec::new());
    let session = common::initialized(&sessions).await;
    let before = done.load(Ordering::SeqCst);

    // A cancellation of a request this actor does not run: it may run on another replica, so
    // the actor signals every replica.
    let cancel = Message::from_value(json!({
        "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 99, "reason": "test"}
    }))
    .unwrap();
    let reply = session
        .post(Parcel::new(vec![cancel]), ReplyMode::Json, None)
        .await
        .unwrap();
    assert!(matches!(reply, PostReply::Accepted));

    // Well past the idle time, the publish is still held: the actor must still be there.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(done.load(Ordering::SeqCst), before, "the publish is held");
    assert!(
        session.is_alive(),
        "the actor hibernated with its signal unsent"
    );
    assert_eq!(sessions.live_actors(), 1);

    // The signal goes out, and then the idle actor hibernates.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while session.is_alive() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the actor never hibernated"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        done.load(Ordering::SeqCst),
        before + 1,
        "the cancellation signal was published"
    );
    assert_eq!(sessions.live_actors(), 0);
}
