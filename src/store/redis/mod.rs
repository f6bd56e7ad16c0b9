//! The Redis store: session records, per-stream event logs, task records (`tasks.rs`) and the bus
//! between replicas, so that any number of `mcp-hive serve` replicas behave as one server.
//!
//! - Connections: per replica, one multiplexed connection per HTTP worker thread, a
//!   `deadpool-redis` pool of `store.pool_size` multiplexed connections and one pub/sub
//!   connection, whatever the number of sessions and streams. An operation running on an HTTP
//!   worker (the request path, and the session actors living there, see
//!   [`crate::session::home`]) uses that worker's own connection, opened on the worker and
//!   driven by its event loop: no wake-up of another thread per command (a third less replica
//!   CPU per Redis `tools/call`, BENCHMARKS.md, 2026-12-06). Everything else uses the pool,
//!   whose connections live on the store's own I/O thread ([`io`]) and outlive the HTTP
//!   workers: a worker's connection dies with the worker, which stops only after the session
//!   actors have left it in a graceful shutdown.
//! - Durability: an event is in Redis (script [`scripts::APPEND`], or for a fresh stream's only
//!   event a pipelined `EXISTS` and `SET … NX`, `append_sole` in `events.rs`) before any reader
//!   sees it.
//! - Wake-ups: the append script publishes `w <sid> <stream> <seq> <origin>` to each store that
//!   holds a watcher lease on the stream ([`watchers`]), on that store's own channel, and to
//!   nobody when no other replica reads it (a fresh stream's only event never has one to
//!   wake: no other replica knows the stream); the listener wakes its local readers, except for
//!   its own appends (`origin` is this store's random id), which woke them when the script
//!   returned (unless that call failed or timed out: then the echo is what wakes them,
//!   [`local::Local::own_echo`]). Events appended here are also cached
//!   locally ([`local`]), so a reader of a stream written here never asks Redis for them: a warm
//!   `tools/call` answered over SSE costs the append's round trip (plus the session check,
//!   `session.verify_each_request`). Before, the echo of an append often arrived before the
//!   script's reply and sent the reader to Redis for an event about to be in the cache.
//! - Outage: every operation has a time limit; failures are [`StoreError::Unavailable`] (HTTP
//!   503 with `Retry-After`); a connection that failed or stalled is replaced on next use, and
//!   the listener reconnects by itself.
//!
//! - Measurement: every operation has a name (`session.load`, `events.append`, ...) and is
//!   reported with its duration and outcome to the [`StoreObserver`] set with
//!   [`RedisStore::set_observer`], if any.
//!
//! Key layout: see [`keys`] and the README section "Inspecting sessions with redis-cli".

mod events;
mod io;
pub mod keys;
mod listener;
pub mod local;
mod rate;
mod runners;
pub mod scripts;
mod sessions;
mod tasks;
pub mod watchers;

use super::{StoreError, StoreObserver};
use deadpool_redis::{Pool, PoolConfig, Runtime, Timeouts};
use keys::Keys;
use local::Local;
use redis::aio::MultiplexedConnection;
use redis::{RedisError, RedisResult};
use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Settings of the Redis store.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` URL.
    pub url: String,
    /// Key prefix.
    pub prefix: String,
    /// Pool size.
    pub pool_size: usize,
    /// Per-operation time limit.
    pub timeout: Duration,
    /// Session idle TTL.
    pub session_ttl: Duration,
    /// Live-session cap (0 = none).
    pub max_sessions: usize,
    /// Events kept per stream.
    pub event_max_len: usize,
    /// Maximum event age.
    pub event_max_age: Duration,
    /// How long an ended stream stays replayable.
    pub closed_retention: Duration,
    /// How long a stream watcher's registration lasts unrenewed ([`watchers::WATCH_LEASE`]
    /// outside tests).
    pub watch_lease: Duration,
}

/// [`SessionStore`](crate::store::SessionStore), [`EventStore`](crate::store::EventStore),
/// [`TaskStore`](crate::store::TaskStore) and [`Bus`](crate::store::bus::Bus) on
/// Redis.
pub struct RedisStore {
    pool: Pool,
    /// Multiplexed connections taken out of the pool once and shared by every operation (a
    /// pool checkout costs a PING round trip); a slot is refilled from the pool after a failure.
    slots: parking_lot::Mutex<Vec<Option<MultiplexedConnection>>>,
    next_slot: AtomicUsize,
    client: redis::Client,
    keys: Keys,
    config: RedisConfig,
    local: Local,
    listening: AtomicBool,
    io: io::IoThread,
    observer: OnceLock<Arc<dyn StoreObserver>>,
    /// This store's id in the wake-ups it publishes, so its listener skips its own.
    origin: Arc<str>,
    /// [`Keys::wake_prefix`], formatted once: every append and close passes it.
    wake_prefix: String,
}

/// Where an operation's connection came from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The current HTTP worker thread's own connection.
    Worker,
    /// A slot of the shared pool.
    Slot(usize),
}

thread_local! {
    /// The connections opened on this thread (an HTTP worker), one per store (by its `origin`:
    /// tests run several stores in one process). Dropped with the thread.
    static WORKER_CONNECTIONS: RefCell<Vec<(Arc<str>, MultiplexedConnection)>> =
        const { RefCell::new(Vec::new()) };
}

/// Settings of every connection of the store (pooled and per worker): connecting may take up to
/// `store.timeout_ms`, and no per-command limit of the redis crate's own (500 ms by default),
/// so that `store.timeout_ms` alone bounds an operation ([`RedisStore::op`]).
fn connection_config(timeout: Duration) -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(None)
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn map_err(e: RedisError) -> StoreError {
    let text = e.to_string();
    if text.contains("NOSESSION") {
        StoreError::NotFound
    } else if text.contains("CLOSED") {
        StoreError::Corrupt("stream is closed".into())
    } else if e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || is_transient(&e)
    {
        StoreError::Unavailable(text)
    } else {
        StoreError::Corrupt(text)
    }
}

/// Server replies that say "not now" rather than "wrong": a restarted Redis loading its
/// dataset (`LOADING`), a failover in progress (`READONLY` from a demoted primary,
/// `MASTERDOWN`), cluster slot moves (`TRYAGAIN`, `CLUSTERDOWN`). The client is told to retry
/// (503 with `Retry-After`), not that something broke (500).
fn is_transient(e: &RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind as S};
    matches!(
        e.kind(),
        ErrorKind::Server(
            S::BusyLoading | S::TryAgain | S::ClusterDown | S::MasterDown | S::ReadOnly
        )
    )
}

fn ms(d: Duration) -> u64 {
    d.as_millis().try_into().unwrap_or(u64::MAX)
}

impl RedisStore {
    /// Builds the store; connections are made lazily, so start-up succeeds while Redis is down
    /// (the replica is then not ready). Call [`RedisStore::spawn_listener`] inside a runtime.
    pub fn new(config: RedisConfig) -> Result<Arc<Self>, StoreError> {
        let invalid =
            |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("invalid REDIS_URL: {e}"));
        let client = redis::Client::open(config.url.as_str()).map_err(|e| invalid(&e))?;
        let mut pc = PoolConfig::new(config.pool_size);
        pc.timeouts = Timeouts {
            wait: Some(config.timeout),
            create: Some(config.timeout),
            recycle: Some(config.timeout),
        };
        let manager = deadpool_redis::Manager::new_with_config(
            config.url.as_str(),
            connection_config(config.timeout),
        )
        .map_err(|e| invalid(&e))?;
        let pool = Pool::builder(manager)
            .config(pc)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| invalid(&e))?;
        let keys = Keys::new(&config.prefix);
        Ok(Arc::new(Self {
            slots: parking_lot::Mutex::new(vec![None; config.pool_size]),
            next_slot: AtomicUsize::new(0),
            pool,
            client,
            wake_prefix: keys.wake_prefix(),
            keys,
            config,
            local: Local::default(),
            listening: AtomicBool::new(false),
            observer: OnceLock::new(),
            origin: Arc::from(uuid::Uuid::new_v4().simple().to_string()),
            io: io::IoThread::start().map_err(|e| {
                StoreError::Unavailable(format!("cannot start the Redis I/O thread: {e}"))
            })?,
        }))
    }

    /// Reports every later operation to `observer` (the first observer set stays).
    pub fn set_observer(&self, observer: Arc<dyn StoreObserver>) {
        let _ = self.observer.set(observer);
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The connection for an operation on this thread: the HTTP worker's own, else the shared
    /// connection of the next pool slot (connected first if needed).
    async fn connection(&self) -> Result<(Source, MultiplexedConnection), StoreError> {
        if crate::threads::on_http_worker() {
            return Ok((Source::Worker, self.worker_connection().await?));
        }
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed) % self.config.pool_size.max(1);
        if let Some(conn) = self.slots.lock().get(slot).cloned().flatten() {
            return Ok((Source::Slot(slot), conn));
        }
        let pool = self.pool.clone();
        let conn = self
            .io
            .run(async move { pool.get().await.map(deadpool_redis::Connection::take) })
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?;
        if let Some(entry) = self.slots.lock().get_mut(slot) {
            *entry = Some(conn.clone());
        }
        Ok((Source::Slot(slot), conn))
    }

    /// This HTTP worker thread's connection to this store's Redis, opened on first use.
    async fn worker_connection(&self) -> Result<MultiplexedConnection, StoreError> {
        let open = WORKER_CONNECTIONS.with(|c| {
            c.borrow()
                .iter()
                .find(|(origin, _)| *origin == self.origin)
                .map(|(_, conn)| conn.clone())
        });
        if let Some(conn) = open {
            return Ok(conn);
        }
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&connection_config(self.config.timeout))
            .await
            .map_err(unavailable)?;
        WORKER_CONNECTIONS.with(|c| {
            let mut c = c.borrow_mut();
            // Two operations may have connected at once: keep one.
            c.retain(|(origin, _)| *origin != self.origin);
            c.push((Arc::clone(&self.origin), conn.clone()));
        });
        Ok(conn)
    }

    /// Forgets a connection that failed or stalled; the next operation opens another.
    fn drop_connection(&self, source: Source) {
        match source {
            Source::Worker => WORKER_CONNECTIONS
                .with(|c| c.borrow_mut().retain(|(origin, _)| *origin != self.origin)),
            Source::Slot(slot) => {
                if let Some(entry) = self.slots.lock().get_mut(slot) {
                    *entry = None;
                }
            }
        }
    }

    /// Runs one named operation on a shared connection, within the time limit.
    async fn op<T, F, Fut>(&self, name: &'static str, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let started = Instant::now();
        let mut failed = None;
        let work = async {
            let (source, conn) = self.connection().await?;
            failed = Some(source);
            let result = f(conn).await.map_err(map_err);
            if !matches!(result, Err(StoreError::Unavailable(_))) {
                failed = None;
            }
            result
        };
        let result = tokio::time::timeout(self.config.timeout, work)
            .await
            .unwrap_or_else(|_| Err(unavailable("Redis did not answer in time")));
        if let Some(source) = failed {
            // A broken or stalled connection is replaced on next use.
            self.drop_connection(source);
        }
        if let Some(observer) = self.observer.get() {
            observer.operation(name, started.elapsed(), result.as_ref().err());
        }
        result
    }

    /// Starts the pub/sub listener (one connection, subscribed to the shared channel and this
    /// store's wake-up channel; reconnects with backoff until the store is dropped) and the
    /// renewal of watcher leases.
    pub fn spawn_listener(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let client = self.client.clone();
        let channels = vec![self.keys.channel(), self.keys.wake_channel(&self.origin)];
        tokio::spawn(listener::listen(weak, client, channels));
        self.spawn_lease_renewal();
    }

    fn dispatch(&self, payload: &[u8]) {
        let Ok(text) = std::str::from_utf8(payload) else {
            return;
        };
        if let Some(rest) = text.strip_prefix("w ") {
            let mut parts = rest.splitn(4, ' ');
            if let (Some(sid), Some(stream), Some(seq)) = (parts.next(), parts.next(), parts.next())
            {
                let seq = seq.parse().unwrap_or(0);
                if parts.next() == Some(&*self.origin) {
                    self.local.own_echo(sid, stream, seq);
                } else {
                    self.local.wake(sid, stream, seq);
                }
            }
        } else if let Some(sid) = text.strip_prefix("d ") {
            self.local.forget_session(sid);
        } else if let Some(rest) = text.strip_prefix("m ")
            && let Some((topic, payload)) = rest.split_once('\n')
        {
            self.local.topics.deliver(topic, Arc::from(payload));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::{ErrorKind, ServerErrorKind};

    #[test]
    fn a_loading_or_failing_over_redis_is_unavailable_not_corrupt() {
        for kind in [
            ServerErrorKind::BusyLoading,
            ServerErrorKind::ReadOnly,
            ServerErrorKind::MasterDown,
            ServerErrorKind::TryAgain,
        ] {
            let e = RedisError::from((ErrorKind::Server(kind), "not now"));
            assert!(matches!(map_err(e), StoreError::Unavailable(_)), "{kind:?}");
        }
        let e = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ResponseError),
            "wrong type",
        ));
        assert!(matches!(map_err(e), StoreError::Corrupt(_)));
    }

    #[test]
    fn the_listener_skips_only_its_own_wake_ups() {
        let store = RedisStore::new(RedisConfig {
            url: "redis://127.0.0.1:1".into(),
            prefix: "mcp".into(),
            pool_size: 1,
            timeout: Duration::from_secs(1),
            session_ttl: Duration::from_secs(60),
            max_sessions: 0,
            event_max_len: 10,
            event_max_age: Duration::from_secs(60),
            closed_retention: Duration::from_secs(60),
            watch_lease: watchers::WATCH_LEASE,
        })
        .unwrap();
        let mut rx = store.local.watch("s", "0123456789abcdef");
        let own = format!("w s 0123456789abcdef 3 {}", store.origin);
        store.dispatch(own.as_bytes());
        assert!(!rx.has_changed().unwrap(), "its own append woke it already");
        store.dispatch(b"w s 0123456789abcdef 4 someone-else");
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 4);
        store.dispatch(b"w s 0123456789abcdef 5");
        assert_eq!(*rx.borrow_and_update(), 5, "the older format still wakes");
    }
}
