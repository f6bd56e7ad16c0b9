//! [`TaskStore`] on Redis: one hash per task (`<p>:task:{<id>}`, see [`super::keys`]) whose
//! expiry is set once, at creation, to the task's TTL; updates are compare-and-set on the
//! `version` field inside a Lua script, so concurrent writers on different replicas never
//! overwrite each other (HSET keeps the key's TTL, so updates do not extend it).

use super::{RedisStore, ms};
use crate::store::StoreError;
use crate::store::record::now_ms;
use crate::store::task::{TaskRecord, TaskStore};
use async_trait::async_trait;
use redis::{AsyncCommands, Script};
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

/// Creates a task unless it exists. KEYS: task. ARGV: TTL left (ms), then field/value pairs.
/// Returns 1, or 0 if the id is taken.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"#,
    )
});

/// Compare-and-set. KEYS: task. ARGV: expected version, status, payload, updated_at_ms.
/// Returns 1 when applied, 0 when the version differs, -1 when the task is gone.
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'payload', ARGV[3], 'updated_at_ms', ARGV[4],
  'version', tonumber(ARGV[1]) + 1)
return 1
"#,
    )
});

fn corrupt(field: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "task record field {field:?} is missing or malformed"
    ))
}

fn decode(mut hash: HashMap<String, String>) -> Result<TaskRecord, StoreError> {
    let mut take = |k: &str| hash.remove(k).ok_or_else(|| corrupt(k));
    let number = |k: &str, v: String| v.parse::<u64>().map_err(|_| corrupt(k));
    let payload = take("payload")?;
    Ok(TaskRecord {
        id: take("id")?,
        owner: take("owner")?,
        status: take("status")?,
        payload: serde_json::from_str(&payload).map_err(|_| corrupt("payload"))?,
        created_at_ms: number("created_at_ms", take("created_at_ms")?)?,
        updated_at_ms: number("updated_at_ms", take("updated_at_ms")?)?,
        ttl_ms: number("ttl_ms", take("ttl_ms")?)?,
        version: number("version", take("version")?)?,
    })
}

#[async_trait]
impl TaskStore for RedisStore {
    async fn create_task(&self, record: &TaskRecord) -> Result<(), StoreError> {
        let left = record.expires_at_ms().saturating_sub(now_ms()).max(1);
        let key = self.keys.task(&record.id);
        let fields: [(&str, String); 8] = [
            ("id", record.id.clone()),
            ("owner", record.owner.clone()),
            ("status", record.status.clone()),
            ("payload", record.payload.to_string()),
            ("created_at_ms", record.created_at_ms.to_string()),
            ("updated_at_ms", record.updated_at_ms.to_string()),
            ("ttl_ms", record.ttl_ms.to_string()),
            ("version", "1".to_owned()),
        ];
        let created: i64 = self
            .op("task.create", |mut c| async move {
                let mut inv = CREATE.key(key);
                inv.arg(ms(Duration::from_millis(left)));
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

    async fn load_task(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let key = self.keys.task(id);
        let hash: HashMap<String, String> = self
            .op("task.load", |mut c| async move { c.hgetall(key).await })
            .await?;
        if hash.is_empty() {
            return Ok(None);
        }
        decode(hash).map(Some)
    }

    async fn update_task(&self, record: &TaskRecord) -> Result<bool, StoreError> {
        let key = self.keys.task(&record.id);
        let payload = record.payload.to_string();
        let applied: i64 = self
            .op("task.update", |mut c| async move {
                UPDATE
                    .key(key)
                    .arg(record.version)
                    .arg(&record.status)
                    .arg(payload)
                    .arg(record.updated_at_ms)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        match applied {
            1 => Ok(true),
            0 => Ok(false),
            _ => Err(StoreError::NotFound),
        }
    }

    async fn delete_task(&self, id: &str) -> Result<bool, StoreError> {
        let key = self.keys.task(id);
        let n: i64 = self
            .op("task.delete", |mut c| async move { c.del(key).await })
            .await?;
        Ok(n > 0)
    }
}
