//! Where the authorization server keeps its state (clients, codes, tokens, revocations, the
//! signing key): a small key-value interface with per-key expiry, an atomic take (single-use
//! codes, rotating refresh tokens) and set-if-absent, implemented in memory (one replica) and on
//! Redis (`REDIS_URL`: any number of replicas). Values are JSON strings; the typed layer is
//! [`super::state`]. Keys are prefixed with `authserver.key_prefix`.

use deadpool_redis::{Pool, PoolConfig, Runtime, Timeouts};
use parking_lot::Mutex;
use redis::AsyncCommands;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The store could not be used.
#[derive(Debug, thiserror::Error)]
#[error("authorization server store unavailable: {0}")]
pub struct KvError(pub String);

/// Key-value storage with expiry.
#[async_trait::async_trait]
pub trait Kv: Send + Sync {
    /// Stores `value` under `key` for `ttl`.
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError>;
    /// The value, if present and not expired.
    async fn get(&self, key: &str) -> Result<Option<String>, KvError>;
    /// Removes and returns the value, atomically: of concurrent takers, one gets it.
    async fn take(&self, key: &str) -> Result<Option<String>, KvError>;
    /// Stores `value` only if `key` is absent; returns the value now stored.
    async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<String, KvError>;
    /// Removes the key.
    async fn delete(&self, key: &str) -> Result<(), KvError>;
}

/// The in-process store.
#[derive(Default)]
pub struct MemoryKv {
    entries: Mutex<HashMap<String, (String, Option<Instant>)>>,
}

impl MemoryKv {
    /// An empty store that drops expired entries every minute.
    pub fn new() -> Arc<Self> {
        let kv = Arc::new(Self::default());
        let weak = Arc::downgrade(&kv);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(kv) = weak.upgrade() else { break };
                let now = Instant::now();
                kv.entries
                    .lock()
                    .retain(|_, (_, exp)| exp.is_none_or(|e| e > now));
            }
        });
        kv
    }

    fn live(entry: &(String, Option<Instant>)) -> bool {
        entry.1.is_none_or(|e| e > Instant::now())
    }
}

#[async_trait::async_trait]
impl Kv for MemoryKv {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError> {
        self.entries.lock().insert(
            key.to_owned(),
            (value.to_owned(), Some(Instant::now() + ttl)),
        );
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        Ok(self
            .entries
            .lock()
            .get(key)
            .filter(|e| Self::live(e))
            .map(|e| e.0.clone()))
    }

    async fn take(&self, key: &str) -> Result<Option<String>, KvError> {
        Ok(self
            .entries
            .lock()
            .remove(key)
            .filter(Self::live)
            .map(|e| e.0))
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<String, KvError> {
        let mut entries = self.entries.lock();
        if let Some(e) = entries.get(key).filter(|e| Self::live(e)) {
            return Ok(e.0.clone());
        }
        entries.insert(
            key.to_owned(),
            (value.to_owned(), ttl.map(|t| Instant::now() + t)),
        );
        Ok(value.to_owned())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.entries.lock().remove(key);
        Ok(())
    }
}

/// The Redis store: a small pool of multiplexed connections.
pub struct RedisKv {
    pool: Pool,
    timeout: Duration,
}

impl RedisKv {
    /// Connects lazily to `url`.
    pub fn new(url: &str, timeout: Duration) -> Result<Arc<Self>, KvError> {
        let mut config = deadpool_redis::Config::from_url(url);
        let mut pc = PoolConfig::new(4);
        pc.timeouts = Timeouts {
            wait: Some(timeout),
            create: Some(timeout),
            recycle: Some(timeout),
        };
        config.pool = Some(pc);
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| KvError(format!("invalid REDIS_URL: {e}")))?;
        Ok(Arc::new(Self { pool, timeout }))
    }

    async fn run<T, F, Fut>(&self, op: F) -> Result<T, KvError>
    where
        F: FnOnce(deadpool_redis::Connection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let work = async {
            let conn = self.pool.get().await.map_err(|e| KvError(e.to_string()))?;
            op(conn).await.map_err(|e| KvError(e.to_string()))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| KvError("Redis timed out".into()))?
    }
}

#[async_trait::async_trait]
impl Kv for RedisKv {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.run(|mut c| async move { c.pset_ex::<_, _, ()>(key, value, ms).await })
            .await
    }

    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.run(|mut c| async move { c.get(key).await }).await
    }

    async fn take(&self, key: &str) -> Result<Option<String>, KvError> {
        self.run(|mut c| async move { c.get_del(key).await }).await
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<String, KvError> {
        self.run(|mut c| async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(value).arg("NX");
            if let Some(t) = ttl {
                cmd.arg("PX")
                    .arg(u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1));
            }
            let set: Option<String> = cmd.query_async(&mut c).await?;
            match set {
                Some(_) => Ok(value.to_owned()),
                None => {
                    let current: Option<String> = c.get(key).await?;
                    Ok(current.unwrap_or_else(|| value.to_owned()))
                }
            }
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.run(|mut c| async move { c.del::<_, ()>(key).await })
            .await
    }
}
