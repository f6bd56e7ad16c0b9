//! [`SessionStore`] on Redis: records in a hash, subscriptions in a set, the live-session index
//! with its cap, TTL sliding, deletion of every key of a session, and the operator view.

use super::{RedisStore, ms, scripts, unavailable};
use crate::store::record::now_ms;
use crate::store::{SessionPatch, SessionRecord, SessionStore, StoreError};
use async_trait::async_trait;
use redis::AsyncCommands;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

impl RedisStore {
    /// Every key of a session (SCAN over its hash tag; for operator commands and deletion).
    async fn session_keys(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}*", self.keys.session(id).trim_end_matches("session"));
        self.op("session.keys", |mut c| async move {
            let mut keys = Vec::new();
            let mut iter: redis::AsyncIter<String> = c.scan_match(pattern).await?;
            while let Some(item) = iter.next_item().await {
                keys.push(item?);
            }
            Ok(keys)
        })
        .await
    }

    async fn stream_view(
        &self,
        id: &str,
        name: &str,
        last: &str,
        ended: bool,
    ) -> Result<serde_json::Value, StoreError> {
        let log = self.keys.stream(id, name);
        let len: u64 = self
            .op("events.length", |mut c| async move { c.xlen(log).await })
            .await?;
        // An ended stream's marker may hold its only event (see `events::Ended`).
        let (last, in_marker) = match super::events::Ended::parse(last) {
            Ok(e) => (e.last, u64::from(e.data.is_some())),
            Err(_) => (0, 0),
        };
        Ok(serde_json::json!({
            "stream": name,
            "last_seq": last,
            "closed": ended,
            "stored_events": len + in_marker,
        }))
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

#[async_trait]
impl SessionStore for RedisStore {
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let ttl = ms(self.config.session_ttl);
        let now = now_ms();
        let (index, key) = (self.keys.index(), self.keys.session(&record.id));
        let cap = self.config.max_sessions;
        let reserved: i64 = self
            .op("session.create", |mut c| async move {
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
            .op("session.create", |mut c| async move {
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
            .op("session.load", |mut c| async move {
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
            SessionPatch::Initialized {
                protocol_version,
                client_info,
                client_capabilities,
            } => {
                let (key, ttl) = (self.keys.session(id), ms(self.config.session_ttl));
                let (info, caps) = (client_info.to_string(), client_capabilities.to_string());
                let _: i64 = self
                    .op("session.update", |mut c| async move {
                        scripts::INITIALIZED
                            .key(key)
                            .arg(protocol_version)
                            .arg(info)
                            .arg(caps)
                            .arg(ttl)
                            .invoke_async(&mut c)
                            .await
                    })
                    .await?;
                return Ok(());
            }
        };
        let (key, subs, ttl) = (
            self.keys.session(id),
            self.keys.subs(id),
            ms(self.config.session_ttl),
        );
        let _: i64 = self
            .op("session.update", |mut c| async move {
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
        let (index, expiry) = (self.keys.index(), now_ms() + ttl);
        let alive: i64 = self
            .op("session.touch", |mut c| async move {
                scripts::TOUCH
                    .key(&keys[0])
                    .key(&keys[1])
                    .key(&keys[2])
                    .key(index)
                    .arg(ttl)
                    .arg(expiry)
                    .arg(id)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(alive == 1)
    }

    async fn session_exists(&self, id: &str) -> Result<bool, StoreError> {
        let key = self.keys.session(id);
        let found: i64 = self
            .op("session.exists", |mut c| async move {
                redis::cmd("EXISTS").arg(&key).query_async(&mut c).await
            })
            .await?;
        Ok(found == 1)
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
            .op("session.delete", |mut c| async move {
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
        // Ended streams are no longer listed in the session's hash: remove their keys too.
        for key in self.session_keys(id).await? {
            let _: i64 = self
                .op("session.delete", |mut c| async move { c.del(key).await })
                .await?;
        }
        self.local.forget_session(id);
        Ok(existed == 1)
    }

    async fn list_sessions(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        let index = self.keys.index();
        let now = now_ms();
        self.op("session.list", |mut c| async move {
            c.zrangebyscore_limit(index, now, "+inf", 0, limit as isize)
                .await
        })
        .await
    }

    async fn count_sessions(&self) -> Result<u64, StoreError> {
        let index = self.keys.index();
        let now = now_ms();
        self.op("session.count", |mut c| async move {
            c.zcount(index, now, "+inf").await
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self
            .op("ping", |mut c| async move {
                redis::cmd("PING").query_async(&mut c).await
            })
            .await?;
        if !self.listening.load(Ordering::Acquire) {
            return Err(unavailable("the Redis pub/sub listener is not connected"));
        }
        Ok(())
    }

    async fn take_token(
        &self,
        key: &str,
        rate: f64,
        burst: u32,
    ) -> Result<crate::store::RateDecision, StoreError> {
        self.take_token_on_redis(key, rate, burst).await
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
            .op("session.describe", |mut c| async move {
                redis::pipe()
                    .pttl(key)
                    .hgetall(meta)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let mut list = Vec::new();
        for (name, last) in &streams {
            list.push(self.stream_view(id, name, last, false).await?);
        }
        let marker = self.keys.ended(id, "");
        for key in self.session_keys(id).await? {
            if let Some(name) = key.strip_prefix(&marker) {
                let k = key.clone();
                let last: String = self
                    .op("session.describe", |mut c| async move { c.get(k).await })
                    .await?;
                list.push(self.stream_view(id, name, &last, true).await?);
            }
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
