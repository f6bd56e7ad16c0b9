//! The Redis store: session records, per-stream event logs and the bus between replicas, so
//! that any number of `mcp-hive serve` replicas behave as one server.
//!
//! - Connections: a `deadpool-redis` pool of `store.pool_size` multiplexed connections plus one
//!   pub/sub connection per replica, whatever the number of sessions and streams.
//! - Durability: an event is in Redis (script [`scripts::APPEND`]) before any reader sees it.
//! - Wake-ups: the append script publishes `w <sid> <stream> <seq>`; each replica's listener
//!   wakes its local readers. Events appended here are also cached locally ([`local`]), so a warm
//!   `tools/call` answered over SSE costs one Redis round trip.
//! - Outage: every operation has a time limit; failures are [`StoreError::Unavailable`] (HTTP
//!   503 with `Retry-After`); the pool and the listener reconnect by themselves.
//!
//! Key layout: see [`keys`] and the README section "Inspecting sessions with redis-cli".

pub mod keys;
pub mod local;
pub mod scripts;

use super::bus::Bus;
use super::{
    EventBatch, EventStore, SessionPatch, SessionRecord, SessionStore, StoreError, StoredEvent,
    StreamInfo, StreamWatch, record::now_ms,
};
use async_trait::async_trait;
use deadpool_redis::{Pool, PoolConfig, Runtime, Timeouts};
use futures_util::StreamExt;
use keys::Keys;
use local::Local;
use redis::{AsyncCommands, RedisError, RedisResult};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::broadcast;

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
}

/// [`SessionStore`], [`EventStore`] and [`Bus`] on Redis.
pub struct RedisStore {
    pool: Pool,
    client: redis::Client,
    keys: Keys,
    config: RedisConfig,
    local: Local,
    listening: AtomicBool,
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
    {
        StoreError::Unavailable(text)
    } else {
        StoreError::Corrupt(text)
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis().try_into().unwrap_or(u64::MAX)
}

impl RedisStore {
    /// Builds the store; connections are made lazily, so start-up succeeds while Redis is down
    /// (the replica is then not ready). Call [`RedisStore::spawn_listener`] inside a runtime.
    pub fn new(config: RedisConfig) -> Result<Arc<Self>, StoreError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| StoreError::Corrupt(format!("invalid REDIS_URL: {e}")))?;
        let mut pool_config = deadpool_redis::Config::from_url(config.url.clone());
        let mut pc = PoolConfig::new(config.pool_size);
        pc.timeouts = Timeouts {
            wait: Some(config.timeout),
            create: Some(config.timeout),
            recycle: Some(config.timeout),
        };
        pool_config.pool = Some(pc);
        let pool = pool_config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| StoreError::Corrupt(format!("invalid REDIS_URL: {e}")))?;
        Ok(Arc::new(Self {
            pool,
            client,
            keys: Keys::new(&config.prefix),
            config,
            local: Local::default(),
            listening: AtomicBool::new(false),
        }))
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    async fn op<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(deadpool_redis::Connection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let work = async {
            let conn = self.pool.get().await.map_err(unavailable)?;
            f(conn).await.map_err(map_err)
        };
        tokio::time::timeout(self.config.timeout, work)
            .await
            .map_err(|_| unavailable("Redis did not answer in time"))?
    }

    /// Starts the pub/sub listener (one connection; reconnects with backoff until the store is
    /// dropped).
    pub fn spawn_listener(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let client = self.client.clone();
        let channel = self.keys.channel();
        tokio::spawn(listen(weak, client, channel));
    }

    fn dispatch(&self, payload: &[u8]) {
        let Ok(text) = std::str::from_utf8(payload) else {
            return;
        };
        if let Some(rest) = text.strip_prefix("w ") {
            let mut parts = rest.splitn(3, ' ');
            if let (Some(sid), Some(stream), Some(seq)) = (parts.next(), parts.next(), parts.next())
            {
                self.local.wake(sid, stream, seq.parse().unwrap_or(0));
            }
        } else if let Some(sid) = text.strip_prefix("d ") {
            self.local.forget_session(sid);
        } else if let Some(rest) = text.strip_prefix("m ")
            && let Some((topic, payload)) = rest.split_once('\n')
        {
            self.local.topics.deliver(topic, Arc::from(payload));
        }
    }

    fn encode(record: &SessionRecord) -> Vec<(&'static str, String)> {
        vec![
            ("id", record.id.clone()),
            ("protocol_version", record.protocol_version.clone()),
            ("client_info", record.client_info.to_string()),
            (
                "client_capabilities",
                record.client_capabilities.to_string(),
            ),
            ("log_level", record.log_level.clone()),
            (
                "principal",
                record
                    .principal
                    .as_ref()
                    .and_then(|p| serde_json::to_string(p).ok())
                    .unwrap_or_default(),
            ),
            ("created_at_ms", record.created_at_ms.to_string()),
        ]
    }

    fn decode(
        mut hash: HashMap<String, String>,
        subs: Vec<String>,
    ) -> Result<SessionRecord, StoreError> {
        let mut take = |k: &str| hash.remove(k).unwrap_or_default();
        let json =
            |s: String| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()));
        let principal = take("principal");
        Ok(SessionRecord {
            id: take("id"),
            protocol_version: take("protocol_version"),
            client_info: json(take("client_info"))?,
            client_capabilities: json(take("client_capabilities"))?,
            log_level: take("log_level"),
            subscriptions: subs.into_iter().collect(),
            principal: if principal.is_empty() {
                None
            } else {
                Some(
                    serde_json::from_str(&principal)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                )
            },
            created_at_ms: take("created_at_ms").parse().unwrap_or(0),
        })
    }
}

async fn listen(store: Weak<RedisStore>, client: redis::Client, channel: String) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let connected = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            RedisResult::Ok(pubsub)
        };
        match tokio::time::timeout(Duration::from_secs(5), connected).await {
            Ok(Ok(mut pubsub)) => {
                let Some(s) = store.upgrade() else { return };
                s.listening.store(true, Ordering::Release);
                // Wake-ups may have been missed while disconnected: every reader re-reads.
                s.local.wake_all();
                drop(s);
                tracing::info!("Redis pub/sub listener connected");
                backoff = Duration::from_millis(200);
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let Some(s) = store.upgrade() else { return };
                    s.dispatch(msg.get_payload_bytes());
                }
                let Some(s) = store.upgrade() else { return };
                s.listening.store(false, Ordering::Release);
                tracing::warn!("Redis pub/sub connection lost; reconnecting");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "Redis pub/sub connection failed; retrying"),
            Err(_) => tracing::warn!("Redis pub/sub connection timed out; retrying"),
        }
        if store.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let ttl = ms(self.config.session_ttl);
        let now = now_ms();
        let (index, key) = (self.keys.index(), self.keys.session(&record.id));
        let cap = self.config.max_sessions;
        let reserved: i64 = self
            .op(|mut c| async move {
                scripts::RESERVE
                    .key(index)
                    .arg(now)
                    .arg(cap)
                    .arg(&record.id)
                    .arg(now + ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if reserved == 0 {
            return Err(StoreError::Full(cap));
        }
        let fields = Self::encode(record);
        let created: i64 = self
            .op(|mut c| async move {
                let mut inv = scripts::CREATE.key(key);
                inv.arg(ttl);
                for (k, v) in &fields {
                    inv.arg(*k).arg(v);
                }
                inv.invoke_async(&mut c).await
            })
            .await?;
        if created == 0 {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }

    async fn load_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let (key, subs) = (self.keys.session(id), self.keys.subs(id));
        let (hash, members): (HashMap<String, String>, Vec<String>) = self
            .op(|mut c| async move {
                redis::pipe()
                    .hgetall(key)
                    .smembers(subs)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if hash.is_empty() {
            return Ok(None);
        }
        Self::decode(hash, members).map(Some)
    }

    async fn update_session(&self, id: &str, patch: &SessionPatch) -> Result<(), StoreError> {
        let (op, value) = match patch {
            SessionPatch::LogLevel(v) => ("log_level", v),
            SessionPatch::Subscribe(v) => ("subscribe", v),
            SessionPatch::Unsubscribe(v) => ("unsubscribe", v),
        };
        let (key, subs, ttl) = (
            self.keys.session(id),
            self.keys.subs(id),
            ms(self.config.session_ttl),
        );
        let _: i64 = self
            .op(|mut c| async move {
                scripts::UPDATE
                    .key(key)
                    .key(subs)
                    .arg(op)
                    .arg(value)
                    .arg(ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn touch_session(&self, id: &str) -> Result<bool, StoreError> {
        let ttl = ms(self.config.session_ttl);
        let keys = [
            self.keys.session(id),
            self.keys.subs(id),
            self.keys.streams(id),
        ];
        let (index, member, expiry) = (self.keys.index(), id.to_owned(), now_ms() + ttl);
        let (alive, _, _, _): (bool, bool, bool, i64) = self
            .op(|mut c| async move {
                redis::pipe()
                    .pexpire(&keys[0], ttl as i64)
                    .pexpire(&keys[1], ttl as i64)
                    .pexpire(&keys[2], ttl as i64)
                    .zadd_options(
                        index,
                        member,
                        expiry,
                        &redis::SortedSetAddOptions::update_only(None),
                    )
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(alive)
    }

    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        let (k1, k2, k3) = (
            self.keys.session(id),
            self.keys.subs(id),
            self.keys.streams(id),
        );
        let (prefix, channel, index) = (
            self.keys.stream_prefix(id),
            self.keys.channel(),
            self.keys.index(),
        );
        let existed: i64 = self
            .op(|mut c| async move {
                let existed = scripts::DELETE
                    .key(k1)
                    .key(k2)
                    .key(k3)
                    .arg(prefix)
                    .arg(channel)
                    .arg(id)
                    .invoke_async(&mut c)
                    .await?;
                let _: i64 = c.zrem(index, id).await?;
                Ok(existed)
            })
            .await?;
        self.local.forget_session(id);
        Ok(existed == 1)
    }

    async fn list_sessions(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        let index = self.keys.index();
        let now = now_ms();
        self.op(|mut c| async move {
            c.zrangebyscore_limit(index, now, "+inf", 0, limit as isize)
                .await
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self
            .op(|mut c| async move { redis::cmd("PING").query_async(&mut c).await })
            .await?;
        if !self.listening.load(Ordering::Acquire) {
            return Err(unavailable("the Redis pub/sub listener is not connected"));
        }
        Ok(())
    }
}

#[async_trait]
impl EventStore for RedisStore {
    async fn append(
        &self,
        session: &str,
        stream: &str,
        data: Arc<str>,
        close: bool,
    ) -> Result<u64, StoreError> {
        let keys = [
            self.keys.session(session),
            self.keys.streams(session),
            self.keys.stream(session, stream),
        ];
        let args = (
            self.config.event_max_len,
            now_ms(),
            ms(self.config.event_max_age),
            ms(self.config.session_ttl),
            self.keys.channel(),
        );
        let payload = Arc::clone(&data);
        let seq: u64 = self
            .op(|mut c| async move {
                scripts::APPEND
                    .key(&keys[0])
                    .key(&keys[1])
                    .key(&keys[2])
                    .arg(stream)
                    .arg(&*payload)
                    .arg(if close { "1" } else { "0" })
                    .arg(args.0)
                    .arg(args.1)
                    .arg(args.2)
                    .arg(args.3)
                    .arg(args.4)
                    .arg(session)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        self.local
            .cache_append(session, stream, StoredEvent { seq, data }, close);
        self.local.wake(session, stream, seq);
        Ok(seq)
    }

    async fn close_stream(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        let (k1, k2) = (self.keys.session(session), self.keys.streams(session));
        let (ttl, channel) = (ms(self.config.session_ttl), self.keys.channel());
        let _: i64 = self
            .op(|mut c| async move {
                scripts::CLOSE
                    .key(k1)
                    .key(k2)
                    .arg(stream)
                    .arg(ttl)
                    .arg(channel)
                    .arg(session)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        self.local.wake(session, stream, 0);
        Ok(())
    }

    async fn read_after(
        &self,
        session: &str,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventBatch, StoreError> {
        if let Some((events, closed)) = self.local.cached_after(session, stream, after, limit) {
            return Ok(EventBatch { events, closed });
        }
        let (skey, meta, log) = (
            self.keys.session(session),
            self.keys.streams(session),
            self.keys.stream(session, stream),
        );
        let closed_field = format!("{stream}:closed");
        let start = format!("{}-0", after.saturating_add(1));
        type Reply = (
            Vec<(String, Vec<String>)>,
            (Option<u64>, Option<String>),
            bool,
        );
        let (entries, (last, closed), exists): Reply = self
            .op(|mut c| async move {
                redis::pipe()
                    .cmd("XRANGE")
                    .arg(log)
                    .arg(start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(limit)
                    .cmd("HMGET")
                    .arg(&meta)
                    .arg(stream)
                    .arg(closed_field.as_str())
                    .exists(skey)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if !exists {
            return Err(StoreError::NotFound);
        }
        let events: Vec<StoredEvent> = entries
            .into_iter()
            .filter_map(|(id, fields)| {
                let seq = id.split('-').next()?.parse().ok()?;
                let data = fields
                    .chunks(2)
                    .find(|kv| kv[0] == "d")
                    .and_then(|kv| kv.get(1))?;
                Some(StoredEvent {
                    seq,
                    data: Arc::from(data.as_str()),
                })
            })
            .collect();
        let last = last.unwrap_or(0);
        let drained = events.last().is_none_or(|e| e.seq >= last);
        Ok(EventBatch {
            events,
            closed: closed.is_some() && drained,
        })
    }

    async fn stream_info(
        &self,
        session: &str,
        stream: &str,
    ) -> Result<Option<StreamInfo>, StoreError> {
        let (skey, meta) = (self.keys.session(session), self.keys.streams(session));
        let closed_field = format!("{stream}:closed");
        let ((last, closed), exists): ((Option<u64>, Option<String>), bool) = self
            .op(|mut c| async move {
                redis::pipe()
                    .cmd("HMGET")
                    .arg(&meta)
                    .arg(stream)
                    .arg(closed_field.as_str())
                    .exists(skey)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if !exists {
            return Err(StoreError::NotFound);
        }
        Ok(last.map(|last_seq| StreamInfo {
            last_seq,
            closed: closed.is_some(),
        }))
    }

    fn watch(&self, session: &str, stream: &str) -> Result<StreamWatch, StoreError> {
        Ok(self.local.watch(session, stream))
    }
}

#[async_trait]
impl Bus for RedisStore {
    async fn publish(&self, topic: &str, payload: Arc<str>) -> Result<(), StoreError> {
        let channel = self.keys.channel();
        let message = format!("m {topic}\n{payload}");
        let _: i64 = self
            .op(|mut c| async move { c.publish(channel, message).await })
            .await?;
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> broadcast::Receiver<Arc<str>> {
        self.local.topics.subscribe(topic)
    }
}

impl RedisStore {
    /// What an operator wants to see of one session: its record, remaining TTL and streams
    /// (last sequence number, closed, stored length). `None` if it does not exist.
    pub async fn describe(&self, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let Some(record) = self.load_session(id).await? else {
            return Ok(None);
        };
        let (key, meta) = (self.keys.session(id), self.keys.streams(id));
        let (ttl, streams): (i64, HashMap<String, String>) = self
            .op(|mut c| async move {
                redis::pipe()
                    .pttl(key)
                    .hgetall(meta)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let mut list = Vec::new();
        for (name, last) in streams.iter().filter(|(k, _)| !k.ends_with(":closed")) {
            let log = self.keys.stream(id, name);
            let len: u64 = self.op(|mut c| async move { c.xlen(log).await }).await?;
            list.push(serde_json::json!({
                "stream": name,
                "last_seq": last.parse::<u64>().unwrap_or(0),
                "closed": streams.contains_key(&format!("{name}:closed")),
                "stored_events": len,
            }));
        }
        Ok(Some(serde_json::json!({
            "record": record,
            "ttl_ms": ttl,
            "keys": {
                "session": self.keys.session(id),
                "subscriptions": self.keys.subs(id),
                "streams": self.keys.streams(id),
                "stream_prefix": self.keys.stream_prefix(id),
            },
            "streams": list,
        })))
    }
}
