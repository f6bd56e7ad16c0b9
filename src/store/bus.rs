//! The message bus between replicas: opaque payloads published on a topic (a session id, or
//! [`GLOBAL_TOPIC`]) reach every local subscriber of that topic on every replica.
//!
//! The session layer uses it to route a client's answer to the replica whose tool waits for it,
//! to cancel a request running elsewhere, to end a deleted session's actors and connections
//! everywhere, and to keep cached session state fresh. Delivery is at-most-once (Redis pub/sub
//! semantics): the bus carries signals whose loss is tolerable, never data — data lives in the
//! session records and event logs. [`LocalBus`] is the single-replica implementation.

use super::StoreError;
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The topic of cluster-wide announcements (resource updates, list changes).
pub const GLOBAL_TOPIC: &str = "*";

/// Capacity of each local topic channel; slow subscribers skip ahead (lagged), never block.
const TOPIC_CAPACITY: usize = 256;

/// Publish/subscribe between replicas.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes a payload on a topic to every replica (including this one).
    async fn publish(&self, topic: &str, payload: Arc<str>) -> Result<(), StoreError>;
    /// Subscribes locally to a topic.
    fn subscribe(&self, topic: &str) -> broadcast::Receiver<Arc<str>>;
}

/// Local fan-out by topic, shared by the in-process bus and the Redis bus listener.
#[derive(Default)]
pub struct Topics {
    topics: Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>,
    subscribes: std::sync::atomic::AtomicUsize,
}

/// Every this many subscriptions, topics without subscribers are dropped, so that a topic's
/// entry does not outlive its last subscriber (a hibernated session) for long.
const PRUNE_EVERY: usize = 256;

impl Topics {
    /// A local subscription.
    pub fn subscribe(&self, topic: &str) -> broadcast::Receiver<Arc<str>> {
        let mut topics = self.topics.lock();
        let n = self
            .subscribes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % PRUNE_EVERY == PRUNE_EVERY - 1 {
            topics.retain(|_, tx| tx.receiver_count() > 0);
        }
        topics
            .entry(topic.to_owned())
            .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
            .subscribe()
    }

    /// Delivers to local subscribers; drops topics nobody listens to any more.
    pub fn deliver(&self, topic: &str, payload: Arc<str>) {
        let mut topics = self.topics.lock();
        if let Some(tx) = topics.get(topic)
            && tx.send(payload).is_err()
        {
            topics.remove(topic);
        }
    }

    /// Number of topics with local subscribers (for tests and metrics).
    pub fn len(&self) -> usize {
        let mut topics = self.topics.lock();
        topics.retain(|_, tx| tx.receiver_count() > 0);
        topics.len()
    }

    /// Whether no topic has local subscribers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The single-replica bus: publishing delivers to local subscribers only.
#[derive(Default)]
pub struct LocalBus {
    topics: Topics,
}

impl LocalBus {
    /// A new bus.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, topic: &str, payload: Arc<str>) -> Result<(), StoreError> {
        self.topics.deliver(topic, payload);
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> broadcast::Receiver<Arc<str>> {
        self.topics.subscribe(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_without_subscribers_are_pruned() {
        let topics = Topics::default();
        for i in 0..1000 {
            drop(topics.subscribe(&format!("t{i}")));
        }
        let _kept = topics.subscribe("alive");
        assert!(topics.topics.lock().len() < PRUNE_EVERY + 2);
        assert_eq!(topics.len(), 1);
    }
}
