//! Watcher leases: how a replica tells the others which streams it reads, so that an append
//! wakes only the replicas reading its stream instead of every replica of the deployment.
//!
//! A reader that another replica's appends may concern
//! ([`WatchScope::Any`](crate::store::WatchScope::Any): a GET stream, a
//! resumed stream) registers a lease before its first read: field `<stream> <origin>` of the
//! session's `watchers` hash ([`super::keys`]), valued with the lease's expiry (ms). The append
//! and close scripts publish a wake-up on `<p>:wake:<origin>` for each live lease of their
//! stream, and nothing at all when there is none. Because a script runs atomically, an append
//! either precedes the registration (and the reader's first read, which follows it, sees the
//! event) or sees the lease (and wakes the reader): no wake-up falls between the two.
//!
//! A fresh POST stream read on the replica that runs its request
//! ([`WatchScope::Local`](crate::store::WatchScope::Local)) registers nothing: its appends wake the reader locally. Before, every append was published
//! on the one channel all replicas listen to, so each replica parsed a message for every
//! event of the whole deployment: the cost of an SSE reply grew with the number of replicas.
//!
//! Leases are renewed by one task per store every third of [`WATCH_LEASE`] while the stream
//! has a local reader, and left to lapse once it has none. A renewal that finds its field
//! gone (expired during a Redis outage, or a key lost) wakes the stream's readers, which then
//! read Redis for what may have been appended unannounced meanwhile. An append or close whose
//! outcome is unknown ([`super::local::Local::unsettled`]) takes a lease for its stream at once,
//! so that the wake-up of the script, if Redis runs it late, reaches the local readers.
//!
//! Clocks: expiries are written and compared with the replicas' clocks; a skew of a few
//! seconds between replicas is far inside the renewal margin (two thirds of the lease).

use super::RedisStore;
use super::local::{StreamKey, key};
use crate::store::StoreError;
use crate::store::record::now_ms;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a registration lasts without renewal (the Redis key too, from the last
/// registration of any replica: with renewals every third of it, the key outlives every live
/// lease).
pub const WATCH_LEASE: Duration = Duration::from_secs(60);
/// Leases registered per round trip by the renewal task.
const BATCH: usize = 256;
/// The renewal task's pause after a failure, and for leases not registered yet.
const RETRY: Duration = Duration::from_millis(250);

/// The leases this store holds: stream → expiry (ms) as last registered, 0 when not yet.
#[derive(Default)]
pub struct Leases {
    held: Mutex<HashMap<StreamKey, u64>>,
    /// Wakes the renewal task for a lease wanted now.
    kick: Arc<Notify>,
}

impl Leases {
    /// Whether the lease of `k` is registered and not due for renewal at `now`.
    fn current(&self, k: &StreamKey, now: u64, lease: Duration) -> bool {
        let margin = super::ms(lease) * 2 / 3;
        self.held
            .lock()
            .get(k)
            .is_some_and(|&until| until > now.saturating_add(margin))
    }

    fn set(&self, k: StreamKey, until: u64) {
        self.held.lock().insert(k, until);
    }

    /// Asks the renewal task to register a lease for the stream now, and then to make its
    /// readers re-read Redis, even if a lease is already held: a registration in flight may
    /// land after the unsettled script it should have preceded.
    pub fn want(&self, session: &str, stream: &str) {
        self.held.lock().insert(key(session, stream), 0);
        self.kick.notify_one();
    }

    /// Forgets the leases of a deleted session.
    pub fn forget_session(&self, session: &str) {
        self.held.lock().retain(|(s, _), _| &**s != session);
    }

    /// The leases due for registration at `now`, each with whether it is not known to be live
    /// (wanted and never registered, or expired); leases of streams without a local reader are
    /// dropped (left to lapse in Redis).
    fn due(
        &self,
        now: u64,
        lease: Duration,
        read: impl Fn(&StreamKey) -> bool,
    ) -> Vec<(StreamKey, bool)> {
        let margin = super::ms(lease) * 2 / 3;
        let mut held = self.held.lock();
        held.retain(|k, _| read(k));
        held.iter()
            .filter(|(_, until)| **until <= now.saturating_add(margin))
            .map(|(k, until)| (k.clone(), *until <= now))
            .collect()
    }
}

impl RedisStore {
    /// Registers this store as a watcher of `stream` unless its lease is current.
    pub(super) async fn watch_remote(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        let k = key(session, stream);
        let lease = self.config.watch_lease;
        if self.local.leases.current(&k, now_ms(), lease) {
            return Ok(());
        }
        self.register(std::slice::from_ref(&k)).await?;
        Ok(())
    }

    /// Registers (or renews) leases in one round trip; for each, whether its field was new (no
    /// lease of this store was live for that stream).
    async fn register(&self, streams: &[StreamKey]) -> Result<Vec<bool>, StoreError> {
        let lease = super::ms(self.config.watch_lease);
        let until = now_ms().saturating_add(lease);
        let mut pipe = redis::pipe();
        for (session, stream) in streams {
            let hash = self.keys.watchers(session);
            pipe.hset(&hash, format!("{stream} {}", self.origin), until)
                .pexpire(&hash, lease.try_into().unwrap_or(i64::MAX))
                .ignore();
        }
        let added: Vec<i64> = self
            .op("events.watch", |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await?;
        for k in streams {
            self.local.leases.set(k.clone(), until);
        }
        Ok(added.into_iter().map(|n| n == 1).collect())
    }

    /// Starts the renewal task (ends when the store is dropped).
    pub(super) fn spawn_lease_renewal(self: &Arc<Self>) {
        let kick = Arc::clone(&self.local.leases.kick);
        tokio::spawn(renew(Arc::downgrade(self), kick));
    }
}

/// Renews the leases of streams with local readers every third of the lease, registers wanted
/// ones as soon as they are wanted, and wakes the readers of any stream whose field had gone.
async fn renew(store: Weak<RedisStore>, kick: Arc<Notify>) {
    let mut pause = Duration::ZERO;
    loop {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = kick.notified() => {}
        }
        let Some(s) = store.upgrade() else { return };
        let lease = s.config.watch_lease;
        pause = lease / 3;
        let due = s
            .local
            .leases
            .due(now_ms(), lease, |k| s.local.has_readers(k));
        for batch in due.chunks(BATCH) {
            let streams: Vec<StreamKey> = batch.iter().map(|(k, _)| k.clone()).collect();
            match s.register(&streams).await {
                Ok(added) => {
                    // A field that was missing, or a lease not known to be live (an earlier
                    // attempt that timed out may have landed, so the field's presence proves
                    // nothing then): appends may have gone unannounced.
                    for ((k, unknown), new) in batch.iter().zip(added) {
                        if new || *unknown {
                            s.local.nudge(&k.0, &k.1);
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "could not renew stream watcher leases; retrying");
                    pause = RETRY;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_fall_due_after_a_third_and_go_with_their_readers() {
        let leases = Leases::default();
        let lease = Duration::from_secs(60);
        let (a, b) = (key("s", "a"), key("s", "b"));
        leases.set(a.clone(), 60_000);
        leases.want("s", "b");
        assert!(leases.current(&a, 0, lease));
        assert!(!leases.current(&b, 0, lease), "wanted, not registered");
        let due = leases.due(0, lease, |_| true);
        assert_eq!(due, vec![(b.clone(), true)], "b is not known to be live");
        // 20 s later a's lease has 40 s left: renewed now.
        assert!(!leases.current(&a, 20_000, lease));
        let mut due = leases.due(20_000, lease, |_| true);
        due.sort();
        assert_eq!(due, vec![(a.clone(), false), (b.clone(), true)]);
        // Past its expiry, a is not known to be live either.
        assert_eq!(
            leases.due(60_000, lease, |k| *k == a),
            vec![(a.clone(), true)]
        );
        // Without a reader a lease is dropped, not renewed.
        assert!(leases.held.lock().get(&b).is_none());
        // Wanted again while held: registered again, and not known to be live until then.
        leases.want("s", "a");
        assert_eq!(leases.due(0, lease, |_| true), vec![(a.clone(), true)]);
        leases.forget_session("s");
        assert!(leases.held.lock().is_empty());
    }
}
