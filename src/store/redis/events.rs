//! [`EventStore`] and [`Bus`] on Redis: appends through the [`scripts::APPEND`] script (stored,
//! trimmed and announced in one round trip), except a fresh stream's only event, which is one
//! pipelined `EXISTS` and `SET` ([`EventStore::append_sole`]), reads with `XRANGE` unless the local cache already
//! has the next events, watchers woken by the listener (registered in Redis when another
//! replica may append, [`super::watchers`]), and bus messages on the shared channel.
//!
//! An ended stream's marker (`…:ended:<stream>`) holds its last sequence number; for a stream
//! whose only event ended it, it holds `1`, a newline and that event's data, and there is no
//! Redis stream (see [`scripts::APPEND`]). [`Ended::parse`] reads both forms.

use super::{RedisStore, ms, scripts};
use crate::store::bus::{Bus, Subscription};
use crate::store::record::now_ms;
use crate::store::{
    EventBatch, EventStore, StoreError, StoredEvent, StreamInfo, StreamWatch, WatchScope,
};
use async_trait::async_trait;
use redis::AsyncCommands;
use std::sync::Arc;

/// An ended stream's marker: its last sequence number and, when the stream's only event is
/// kept in the marker, that event's data.
#[derive(Debug, PartialEq)]
pub(crate) struct Ended {
    /// The last sequence number.
    pub(crate) last: u64,
    /// The data of event `last` (= 1) when it lives in the marker.
    pub(crate) data: Option<Arc<str>>,
}

impl Ended {
    /// Parses `<seq>` or `<seq>\n<data>`.
    pub(crate) fn parse(marker: &str) -> Result<Self, StoreError> {
        let (seq, data) = match marker.split_once('\n') {
            Some((seq, data)) => (seq, Some(Arc::from(data))),
            None => (marker, None),
        };
        let last = seq
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("ended-stream marker {seq:?}")))?;
        Ok(Self { last, data })
    }
}

/// The marker of a stream ended by its only event, `1\n<data>` ([`Ended::parse`] reads it),
/// written straight into the command's buffer as one argument.
struct SoleMarker<'a>(&'a str);

impl redis::ToRedisArgs for SoleMarker<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        use std::io::Write as _;
        let mut arg = out.writer_for_next_arg();
        // Writing into the command's byte buffer cannot fail.
        let _ = arg.write_all(b"1\n");
        let _ = arg.write_all(self.0.as_bytes());
    }
}

/// Interprets a stream's metadata replies (last sequence number in the open-streams hash, the
/// ended marker, whether the session exists).
fn stream_meta(
    open_last: Option<u64>,
    ended_last: Option<u64>,
    session_exists: bool,
) -> Result<Option<StreamInfo>, StoreError> {
    if !session_exists {
        return Err(StoreError::NotFound);
    }
    Ok(open_last.or(ended_last).map(|last_seq| StreamInfo {
        last_seq,
        closed: ended_last.is_some(),
    }))
}

impl RedisStore {
    /// Adds the commands [`stream_meta`] interprets to a pipeline.
    fn meta_commands(&self, pipe: &mut redis::Pipeline, session: &str, stream: &str) {
        pipe.hget(self.keys.streams(session), stream)
            .get(self.keys.ended(session, stream))
            .exists(self.keys.session(session));
    }

    /// An `EVALSHA` of [`scripts::APPEND`] or [`scripts::CLOSE`] with their six keys (session,
    /// open streams, the stream, its ended marker, runners, watchers), for the caller to add
    /// the arguments to.
    fn stream_script(&self, script: &redis::Script, session: &str, stream: &str) -> redis::Cmd {
        let k = &self.keys;
        let mut cmd = scripts::evalsha(script, 6);
        cmd.arg(k.session_at(session))
            .arg(k.streams_at(session))
            .arg(k.stream_at(session, stream))
            .arg(k.ended_at(session, stream))
            .arg(k.runners_at(session))
            .arg(k.watchers_at(session));
        cmd
    }

    /// After a failed append or close: when Redis may still run it (unreachable, timed out),
    /// the stream's readers here must learn of it from its pub/sub echo; when the session is
    /// gone (deleted on another replica, expired), what this replica keeps of it is stale, and
    /// its readers here end now rather than when the deletion signal arrives.
    fn unsettled(&self, error: &StoreError, session: &str, stream: &str) {
        match error {
            StoreError::Unavailable(_) => self.local.unsettled(session, stream),
            StoreError::NotFound => self.local.forget_session(session),
            _ => {}
        }
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
        let mut cmd = self.stream_script(&scripts::APPEND, session, stream);
        cmd.arg(stream)
            .arg(&*data)
            .arg(if close { "1" } else { "0" })
            .arg(self.config.event_max_len)
            .arg(now_ms())
            .arg(ms(self.config.event_max_age))
            .arg(ms(self.config.session_ttl))
            .arg(self.wake_prefix.as_bytes())
            .arg(session)
            .arg(ms(self.config.closed_retention))
            .arg(&*self.origin);
        let seq: u64 = self
            .op("events.append", |mut c| async move {
                scripts::invoke(&scripts::APPEND, &cmd, &mut c).await
            })
            .await
            .inspect_err(|e| self.unsettled(e, session, stream))?;
        self.local
            .cache_append(session, stream, StoredEvent { seq, data }, close);
        self.local.wake(session, stream, seq);
        Ok(seq)
    }

    /// Two commands in one pipeline instead of [`scripts::APPEND`]: `EXISTS` on the session
    /// and `SET <ended marker> 1\n<data> PX <keep> NX` (the `NX` is the check that the stream
    /// has not ended). The rest of the script is moot for such a stream: it is in no
    /// open-streams hash (nothing was appended), it has no runner record to delete, and no
    /// other replica holds a watcher lease on it to wake (a replica learns that a stream exists
    /// from its events or its runner record, and it has neither). Redis runs the pair in less
    /// than half the CPU time of the script (BENCHMARKS.md, "A POST's only event without the
    /// script"). The pair is not atomic: when the session turns out to be gone, the marker just
    /// written is deleted again, so nothing of it outlives the session.
    async fn append_sole(
        &self,
        session: &str,
        stream: &str,
        data: Arc<str>,
    ) -> Result<u64, StoreError> {
        let keep = self.config.event_max_age.min(self.config.closed_retention);
        let mut pipe = redis::pipe();
        pipe.exists(self.keys.session_at(session))
            .cmd("SET")
            .arg(self.keys.ended_at(session, stream))
            .arg(SoleMarker(&data))
            .arg("PX")
            .arg(ms(keep))
            .arg("NX");
        let (exists, set): (bool, redis::Value) = self
            .op("events.append", |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await
            .inspect_err(|e| self.unsettled(e, session, stream))?;
        let written = set != redis::Value::Nil;
        if !exists {
            if written {
                let marker = self.keys.ended(session, stream);
                let removed = self
                    .op("events.append", |mut c| async move {
                        c.del::<_, i64>(marker).await
                    })
                    .await;
                if let Err(e) = removed {
                    // It expires after `keep` anyway.
                    tracing::warn!(session, stream, error = %e, "could not remove the marker of a stream whose session is gone");
                }
            }
            let gone = StoreError::NotFound;
            self.unsettled(&gone, session, stream);
            return Err(gone);
        }
        if !written {
            return Err(StoreError::Corrupt("stream is closed".into()));
        }
        self.local
            .cache_append(session, stream, StoredEvent { seq: 1, data }, true);
        self.local.wake(session, stream, 1);
        Ok(1)
    }

    fn opened(&self, session: &str, stream: &str) {
        self.local.cache_open(session, stream);
    }

    async fn close_stream(&self, session: &str, stream: &str) -> Result<(), StoreError> {
        let mut cmd = self.stream_script(&scripts::CLOSE, session, stream);
        cmd.arg(stream)
            .arg(ms(self.config.session_ttl))
            .arg(self.wake_prefix.as_bytes())
            .arg(session)
            .arg(ms(self.config.closed_retention))
            .arg(&*self.origin)
            .arg(now_ms());
        let _: i64 = self
            .op("events.close", |mut c| async move {
                scripts::invoke(&scripts::CLOSE, &cmd, &mut c).await
            })
            .await
            .inspect_err(|e| self.unsettled(e, session, stream))?;
        self.local.cache_close(session, stream);
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
        let log = self.keys.stream(session, stream);
        let start = format!("{}-0", after.saturating_add(1));
        let mut pipe = redis::pipe();
        pipe.cmd("XRANGE")
            .arg(log)
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(limit);
        self.meta_commands(&mut pipe, session, stream);
        type Reply = (
            Vec<(String, Vec<String>)>,
            Option<u64>,
            Option<String>,
            bool,
        );
        let (entries, open_last, ended, exists): Reply = self
            .op("events.read", |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await?;
        let ended = ended.as_deref().map(Ended::parse).transpose()?;
        let info = stream_meta(open_last, ended.as_ref().map(|e| e.last), exists)?;
        let mut events: Vec<StoredEvent> = entries
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
        if let Some(Ended {
            last,
            data: Some(data),
        }) = ended
            && events.is_empty()
            && last > after
            && limit > 0
        {
            events.push(StoredEvent { seq: last, data });
        }
        let last = info.map_or(0, |i| i.last_seq);
        let drained = events.last().is_none_or(|e| e.seq >= last);
        Ok(EventBatch {
            events,
            closed: info.is_some_and(|i| i.closed) && drained,
        })
    }

    async fn stream_info(
        &self,
        session: &str,
        stream: &str,
    ) -> Result<Option<StreamInfo>, StoreError> {
        let mut pipe = redis::pipe();
        self.meta_commands(&mut pipe, session, stream);
        pipe.hexists(self.keys.runners(session), stream);
        type Reply = (Option<u64>, Option<String>, bool, bool);
        let (open_last, ended, exists, running): Reply = self
            .op("events.info", |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await?;
        let ended = ended.as_deref().map(Ended::parse).transpose()?;
        let stored = stream_meta(open_last, ended.map(|e| e.last), exists)?;
        // Opened but with nothing stored yet: known here from the cache, and on any replica
        // once its runner record is stored. A stream with events is whatever Redis says: the
        // cache may remember one whose keys have expired since.
        Ok(stored.or_else(|| {
            (running || self.local.opened_unwritten(session, stream)).then_some(StreamInfo {
                last_seq: 0,
                closed: false,
            })
        }))
    }

    fn read_local(
        &self,
        session: &str,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Option<EventBatch> {
        self.local
            .cached_after(session, stream, after, limit)
            .map(|(events, closed)| EventBatch { events, closed })
    }

    async fn watch(
        &self,
        session: &str,
        stream: &str,
        scope: WatchScope,
    ) -> Result<StreamWatch, StoreError> {
        // The local watch first: the lease renewal keeps leases of streams read here.
        let watch = self.local.watch(session, stream);
        if scope == WatchScope::Any {
            self.watch_remote(session, stream).await?;
        }
        Ok(watch)
    }
}

#[async_trait]
impl Bus for RedisStore {
    async fn publish(&self, topic: &str, payload: Arc<str>) -> Result<(), StoreError> {
        let channel = self.keys.channel();
        let message = format!("m {topic}\n{payload}");
        let _: i64 = self
            .op("bus.publish", |mut c| async move {
                c.publish(channel, message).await
            })
            .await?;
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        self.local.topics.subscribe(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_markers_parse_in_both_forms() {
        assert_eq!(
            Ended::parse("7").unwrap(),
            Ended {
                last: 7,
                data: None
            }
        );
        let kept = Ended::parse("1\n{\"id\":1,\"result\":{\"a\":\"x\\ny\"}}").unwrap();
        assert_eq!(kept.last, 1);
        assert_eq!(
            kept.data.as_deref(),
            Some("{\"id\":1,\"result\":{\"a\":\"x\\ny\"}}")
        );
        // Data may itself contain newlines: only the first one separates.
        let raw = Ended::parse("1\na\nb").unwrap();
        assert_eq!(raw.data.as_deref(), Some("a\nb"));
        assert!(matches!(Ended::parse(""), Err(StoreError::Corrupt(_))));
        assert!(matches!(Ended::parse("x\n1"), Err(StoreError::Corrupt(_))));
    }
}
