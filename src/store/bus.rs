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
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Weak};
use tokio::sync::broadcast;

/// The topic of cluster-wide announcements (resource updates, list changes).
pub const GLOBAL_TOPIC: &str = "*";

/// Capacity of the [`GLOBAL_TOPIC`] channel; slow subscribers skip ahead (lagged), never block.
const GLOBAL_CAPACITY: usize = 256;

/// Capacity of every other topic's channel (one per live session actor or running task). A
/// `broadcast` channel allocates all its slots up front (about 48 bytes each), so this is most of
/// what a topic costs; a session's signals (answers, cancellations, takeovers, state changes) come
/// a few at a time, and a subscriber more than this many behind skips ahead like any lagging one.
const TOPIC_CAPACITY: usize = 32;

/// Publish/subscribe between replicas.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes a payload on a topic to every replica (including this one).
    async fn publish(&self, topic: &str, payload: Arc<str>) -> Result<(), StoreError>;
    /// Subscribes locally to a topic.
    fn subscribe(&self, topic: &str) -> Subscription;
}

type TopicMap = Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>;

/// Local fan-out by topic, shared by the in-process bus and the Redis bus listener.
#[derive(Default)]
pub struct Topics {
    topics: Arc<TopicMap>,
}

/// A local subscription to a topic: a [`broadcast::Receiver`] (through `Deref`) that frees its
/// topic's channel when it is the topic's last subscription and is dropped, so that the topic of
/// a hibernated session or a finished task does not stay in memory.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Arc<str>>,
    /// Declared after `rx`, hence dropped after it: by then this receiver no longer counts.
    _release: Release,
}

#[derive(Debug)]
struct Release {
    topic: String,
    topics: Weak<TopicMap>,
}

impl Drop for Release {
    fn drop(&mut self) {
        let Some(topics) = self.topics.upgrade() else {
            return;
        };
        let mut topics = topics.lock();
        if topics
            .get(&self.topic)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            topics.remove(&self.topic);
        }
    }
}

impl Deref for Subscription {
    type Target = broadcast::Receiver<Arc<str>>;
    fn deref(&self) -> &Self::Target {
        &self.rx
    }
}

impl DerefMut for Subscription {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.rx
    }
}

impl Topics {
    /// A local subscription.
    pub fn subscribe(&self, topic: &str) -> Subscription {
        let rx = self
            .topics
            .lock()
            .entry(topic.to_owned())
            .or_insert_with(|| {
                let capacity = if topic == GLOBAL_TOPIC {
                    GLOBAL_CAPACITY
                } else {
                    TOPIC_CAPACITY
                };
                broadcast::channel(capacity).0
            })
            .subscribe();
        Subscription {
            rx,
            _release: Release {
                topic: topic.to_owned(),
                topics: Arc::downgrade(&self.topics),
            },
        }
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

    fn subscribe(&self, topic: &str) -> Subscription {
        self.topics.subscribe(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_goes_with_its_last_subscription() {
        let topics = Topics::default();
        for i in 0..1000 {
            drop(topics.subscribe(&format!("t{i}")));
        }
        let kept = topics.subscribe("alive");
        let second = topics.subscribe("alive");
        assert_eq!(
            topics.topics.lock().len(),
            1,
            "dropped topics are gone at once"
        );
        drop(kept);
        assert_eq!(topics.topics.lock().len(), 1, "one subscription is left");
        drop(second);
        assert!(topics.topics.lock().is_empty());
    }

    #[tokio::test]
    async fn a_subscription_receives_like_a_receiver() {
        let topics = Topics::default();
        let mut rx = topics.subscribe("s");
        topics.deliver("s", Arc::from("hello"));
        assert_eq!(&*rx.recv().await.unwrap(), "hello");
    }

    #[test]
    fn session_topics_are_small_and_the_global_one_is_not() {
        let topics = Topics::default();
        let (_a, _b) = (topics.subscribe("s"), topics.subscribe(GLOBAL_TOPIC));
        let map = topics.topics.lock();
        for (topic, capacity) in [("s", TOPIC_CAPACITY), (GLOBAL_TOPIC, GLOBAL_CAPACITY)] {
            let tx = &map[topic];
            let mut rx = tx.subscribe();
            for i in 0..=capacity {
                let _ = tx.send(Arc::from(i.to_string()));
            }
            assert!(matches!(
                rx.try_recv(),
                Err(broadcast::error::TryRecvError::Lagged(1))
            ));
        }
    }
}
