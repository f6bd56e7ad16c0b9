//! The Redis key layout. Every key of one session shares the hash tag `{<session-id>}`, so they
//! live in one Redis Cluster slot and Lua scripts may touch them together; every key has a TTL.
//!
//! | key | type | content | TTL |
//! |---|---|---|---|
//! | `<p>:{<sid>}:session` | hash | the [`SessionRecord`](crate::store::SessionRecord) fields | session idle timeout, slides with activity |
//! | `<p>:{<sid>}:subs` | set | subscribed resource URIs | same |
//! | `<p>:{<sid>}:streams` | hash | `<stream>` → last sequence number, for streams still open | same |
//! | `<p>:{<sid>}:ended:<stream>` | string | last sequence number of an ended stream; `1`, newline, the event's data when that only event ended it (no `stream:` key then) | closed-stream retention |
//! | `<p>:{<sid>}:stream:<stream>` | stream | SSE events, entry id `<seq>-0`, fields `d` (data) and `t` (ms) | event max age, from the last append |
//! | `<p>:{<sid>}:runners` | hash | `<stream>` → runner record (replica id and the requests it runs), for open POST streams | same as the session |
//! | `<p>:{<sid>}:watchers` | hash | `<stream> <origin>` → lease expiry (ms): store `<origin>` has a reader of `<stream>` that another replica's appends must wake ([`super::watchers`]) | the watch lease, from the last registration |
//! | `<p>:replica:<id>` | string | liveness lease of a replica (renewed every second) | 3 s |
//! | `<p>:sessions` | sorted set | session ids scored by expiry (ms) | none: entries are pruned by score |
//! | `<p>:rl:{<key>}` | string | rate-limit bucket of one (hashed) key: its theoretical arrival time, ms | until the bucket is full again |
//! | `<p>:task:{<task-id>}` | hash | a task of the tasks extension: `id`, `owner` (binding key), `status`, `payload` (JSON), `created_at_ms`, `updated_at_ms`, `ttl_ms`, `version` | the task's `ttlMs`, from creation |
//!
//! Pub/sub channel `<p>:bus` carries deletions (`d <sid>`) and bus messages (`m <topic>` newline
//! payload) to every replica; channel `<p>:wake:<origin>` carries wake-ups (`w <sid> <stream>
//! <seq> <origin>`) to the one store that registered a watcher of the stream, so an append costs
//! no replica anything unless it reads that stream.

/// A key of one session, `<prefix>:{<sid>}:<kind><tail>`, written straight into a command's
/// buffer: the per-call scripts name six keys, and six `format!`ed `String`s a call were a
/// visible share of an SSE reply's CPU. The `String` methods of [`Keys`] render the same value,
/// so the layout is spelled once ([`Keys::at`]).
#[derive(Debug, Clone, Copy)]
pub struct SessionKey<'a> {
    prefix: &'a str,
    sid: &'a str,
    kind: &'static str,
    tail: &'a str,
}

impl SessionKey<'_> {
    fn parts(&self) -> [&str; 6] {
        [self.prefix, ":{", self.sid, "}:", self.kind, self.tail]
    }
}

impl std::fmt::Display for SessionKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.parts().iter().try_for_each(|p| f.write_str(p))
    }
}

impl redis::ToRedisArgs for SessionKey<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        use bytes::BufMut as _;
        let parts = self.parts();
        let mut arg = out.bufmut_for_next_arg(parts.iter().map(|p| p.len()).sum());
        for part in parts {
            arg.put_slice(part.as_bytes());
        }
    }
}

/// Key and channel names under a prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Names under `prefix` (default `mcp`).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// `<prefix>:{<sid>}:<kind><tail>` without an allocation (see [`SessionKey`]): the one
    /// spelling of a session's keys, which the named methods below choose the kind of.
    fn at<'a>(&'a self, sid: &'a str, kind: &'static str, tail: &'a str) -> SessionKey<'a> {
        SessionKey {
            prefix: &self.prefix,
            sid,
            kind,
            tail,
        }
    }

    /// The session hash, written into a command without an allocation.
    pub fn session_at<'a>(&'a self, sid: &'a str) -> SessionKey<'a> {
        self.at(sid, "session", "")
    }

    /// The stream-metadata hash, written into a command without an allocation.
    pub fn streams_at<'a>(&'a self, sid: &'a str) -> SessionKey<'a> {
        self.at(sid, "streams", "")
    }

    /// The event log of one stream, written into a command without an allocation.
    pub fn stream_at<'a>(&'a self, sid: &'a str, stream: &'a str) -> SessionKey<'a> {
        self.at(sid, "stream:", stream)
    }

    /// The ended marker of one stream, written into a command without an allocation.
    pub fn ended_at<'a>(&'a self, sid: &'a str, stream: &'a str) -> SessionKey<'a> {
        self.at(sid, "ended:", stream)
    }

    /// The runner records, written into a command without an allocation.
    pub fn runners_at<'a>(&'a self, sid: &'a str) -> SessionKey<'a> {
        self.at(sid, "runners", "")
    }

    /// The watcher leases, written into a command without an allocation.
    pub fn watchers_at<'a>(&'a self, sid: &'a str) -> SessionKey<'a> {
        self.at(sid, "watchers", "")
    }

    /// The session hash.
    pub fn session(&self, sid: &str) -> String {
        self.session_at(sid).to_string()
    }

    /// The subscriptions set.
    pub fn subs(&self, sid: &str) -> String {
        self.at(sid, "subs", "").to_string()
    }

    /// The stream-metadata hash.
    pub fn streams(&self, sid: &str) -> String {
        self.streams_at(sid).to_string()
    }

    /// The event log of one stream.
    pub fn stream(&self, sid: &str, stream: &str) -> String {
        self.stream_at(sid, stream).to_string()
    }

    /// Runner records of the session's open streams ([`crate::store::runner`]).
    pub fn runners(&self, sid: &str) -> String {
        self.runners_at(sid).to_string()
    }

    /// Watcher leases of the session's streams ([`super::watchers`]).
    pub fn watchers(&self, sid: &str) -> String {
        self.watchers_at(sid).to_string()
    }

    /// The liveness lease of a replica.
    pub fn replica(&self, id: &str) -> String {
        format!("{}:replica:{id}", self.prefix)
    }

    /// The marker of an ended stream (its last sequence number).
    pub fn ended(&self, sid: &str, stream: &str) -> String {
        self.ended_at(sid, stream).to_string()
    }

    /// The prefix of every stream key of a session (used by the delete script).
    pub fn stream_prefix(&self, sid: &str) -> String {
        self.stream_at(sid, "").to_string()
    }

    /// The index of live sessions.
    pub fn index(&self) -> String {
        format!("{}:sessions", self.prefix)
    }

    /// A task record of the tasks extension.
    pub fn task(&self, id: &str) -> String {
        format!("{}:task:{{{id}}}", self.prefix)
    }

    /// A rate-limit bucket (`key` is already a hash: no identity is stored).
    pub fn rate(&self, key: &str) -> String {
        format!("{}:rl:{{{key}}}", self.prefix)
    }

    /// The pub/sub channel every replica listens to.
    pub fn channel(&self) -> String {
        format!("{}:bus", self.prefix)
    }

    /// The prefix of the wake-up channels (an origin follows).
    pub fn wake_prefix(&self) -> String {
        format!("{}:wake:", self.prefix)
    }

    /// The wake-up channel of one store (`origin`: its random id).
    pub fn wake_channel(&self, origin: &str) -> String {
        format!("{}{origin}", self.wake_prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tags_group_a_session() {
        let k = Keys::new("mcp");
        assert_eq!(k.session("ab"), "mcp:{ab}:session");
        assert_eq!(k.subs("ab"), "mcp:{ab}:subs");
        assert_eq!(k.ended("ab", "0"), "mcp:{ab}:ended:0");
        assert_eq!(k.stream("ab", "0"), "mcp:{ab}:stream:0");
        assert!(k.stream("ab", "0").starts_with(&k.stream_prefix("ab")));
        assert_eq!(k.index(), "mcp:sessions");
        assert_eq!(k.watchers("ab"), "mcp:{ab}:watchers");
        assert_eq!(k.wake_channel("f00"), "mcp:wake:f00");
        assert!(k.wake_channel("f00").starts_with(&k.wake_prefix()));
    }

    #[test]
    fn a_session_key_written_into_a_command_is_its_text() {
        let k = Keys::new("mcp");
        let cases = [
            (k.session_at("ab"), "mcp:{ab}:session"),
            (k.streams_at("ab"), "mcp:{ab}:streams"),
            (k.stream_at("ab", "7f"), "mcp:{ab}:stream:7f"),
            (k.ended_at("ab", "7f"), "mcp:{ab}:ended:7f"),
            (k.runners_at("ab"), "mcp:{ab}:runners"),
            (k.watchers_at("ab"), "mcp:{ab}:watchers"),
        ];
        for (key, text) in cases {
            assert_eq!(key.to_string(), text);
            let mut cmd = redis::cmd("EXISTS");
            cmd.arg(key);
            let mut plain = redis::cmd("EXISTS");
            plain.arg(text);
            assert_eq!(
                cmd.get_packed_command(),
                plain.get_packed_command(),
                "{text}"
            );
        }
    }
}
