//! [`RunnerStore`] on Redis: runner records in the hash `<p>:{<sid>}:runners` (field = stream
//! id, dropped by the append and close scripts when the stream ends, TTL of the session), and
//! liveness leases `<p>:replica:<id>` (a string with a TTL).

use super::{RedisStore, ms};
use crate::store::StoreError;
use crate::store::runner::RunnerStore;
use async_trait::async_trait;
use redis::AsyncCommands;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// Compare-and-set of one runner record. KEYS: runners hash. ARGV: stream, expected, new.
static REPLACE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"#,
    )
});

#[async_trait]
impl RunnerStore for RedisStore {
    async fn set_runner(
        &self,
        session: &str,
        stream: &str,
        record: Arc<str>,
    ) -> Result<(), StoreError> {
        let key = self.keys.runners(session);
        let ttl = ms(self.config.session_ttl);
        self.op("runners.set", |mut c| async move {
            redis::pipe()
                .atomic()
                .hset(&key, stream, &*record)
                .ignore()
                .pexpire(&key, ttl.try_into().unwrap_or(i64::MAX))
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn runner(&self, session: &str, stream: &str) -> Result<Option<Arc<str>>, StoreError> {
        let key = self.keys.runners(session);
        let record: Option<String> = self
            .op(
                "runners.get",
                |mut c| async move { c.hget(key, stream).await },
            )
            .await?;
        Ok(record.map(Arc::from))
    }

    async fn replace_runner(
        &self,
        session: &str,
        stream: &str,
        expected: &str,
        record: Arc<str>,
    ) -> Result<bool, StoreError> {
        let key = self.keys.runners(session);
        let swapped: i64 = self
            .op("runners.replace", |mut c| async move {
                REPLACE
                    .key(key)
                    .arg(stream)
                    .arg(expected)
                    .arg(&*record)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(swapped == 1)
    }

    async fn beat(&self, replica: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = self.keys.replica(replica);
        let ttl = ms(ttl);
        self.op("replica.beat", |mut c| async move {
            c.pset_ex::<_, _, ()>(key, 1, ttl).await
        })
        .await
    }

    async fn alive(&self, replica: &str) -> Result<bool, StoreError> {
        let key = self.keys.replica(replica);
        self.op("replica.alive", |mut c| async move { c.exists(key).await })
            .await
    }
}
