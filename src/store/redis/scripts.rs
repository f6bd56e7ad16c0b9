//! Lua scripts: each runs atomically on the keys of one session (one hash slot), so an append,
//! its trimming, its stream metadata and its wake-ups are one round trip and never half done.

use redis::aio::MultiplexedConnection;
use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, Script, ServerErrorKind};
use std::sync::LazyLock;

/// An `EVALSHA` of `script` with `keys` keys, for the caller to add the keys and arguments to
/// (written straight into the command's buffer; `Script::key`/`arg` copy each into a vector
/// of their own first, then into the command). Run it with [`invoke`].
pub fn evalsha(script: &Script, keys: usize) -> Cmd {
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(keys);
    cmd
}

/// Runs an [`evalsha`] command, loading `script` and trying again when Redis does not know it
/// (`NOSCRIPT`: a new or restarted Redis, or `SCRIPT FLUSH`), as `Script::invoke_async` does.
pub async fn invoke<T: FromRedisValue>(
    script: &Script,
    cmd: &Cmd,
    con: &mut MultiplexedConnection,
) -> RedisResult<T> {
    match cmd.query_async(con).await {
        Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            script.load_async(con).await?;
            cmd.query_async(con).await
        }
        other => other,
    }
}

/// The Lua function that announces an event to the stores watching its stream: `KEYS[6]` is the
/// session's watchers hash (`<stream> <origin>` → lease expiry, ms). Each store with a live
/// lease on `stream` gets `msg` on its own channel (`prefix .. origin`); expired leases of any
/// stream are dropped on the way. No lease, no `PUBLISH`: a stream read only where it is
/// written (a POST reply) costs no replica a message.
macro_rules! wake_lua {
    () => {
        r#"
local function wake(prefix, now, stream, msg)
  local w = redis.call('HGETALL', KEYS[6])
  for i = 1, #w, 2 do
    local field = w[i]
    if (tonumber(w[i + 1]) or 0) < now then
      redis.call('HDEL', KEYS[6], field)
    else
      local sp = string.find(field, ' ', 1, true)
      if sp and string.sub(field, 1, sp - 1) == stream then
        redis.call('PUBLISH', prefix .. string.sub(field, sp + 1), msg)
      end
    end
  end
end
"#
    };
}

/// Appends an event. KEYS: session, streams, stream, ended-marker, runners, watchers. ARGV:
/// stream id, data, close (0/1), max length, now (ms), max age (ms), session TTL (ms), wake-up
/// channel prefix, session id, closed-stream retention (ms), origin (the appending store's id,
/// echoed in the wake-up, which goes to the watching stores only: `wake_lua!`). Closing moves the stream's last sequence number from the `streams` hash to
/// the ended marker, so the hash only holds open streams. A stream whose first event ends it
/// (the usual SSE reply to a POST) gets no Redis stream at all: the marker holds
/// `1\n<data>` (see [`super::events`]), which spares Redis a stream key (Redis 7 allocates
/// 4 KiB for a new stream's first node) and the trimming and expiry commands. That path is the
/// one every SSE reply takes, so it is kept short: the marker is written with `NX`, which is
/// also the check that the stream has not ended, and the open-streams hash, which it does not
/// touch, keeps its TTL (slid by [`TOUCH`] and by the appends of the streams it holds).
/// Returns the new sequence number; errors `NOSESSION`, `CLOSED`.
pub static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        wake_lua!(),
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSESSION') end
if ARGV[3] == '1' and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  local keep = math.min(tonumber(ARGV[6]), tonumber(ARGV[10]))
  if not redis.call('SET', KEYS[4], '1\n' .. ARGV[2], 'PX', keep, 'NX') then
    return redis.error_reply('CLOSED')
  end
  redis.call('HDEL', KEYS[5], ARGV[1])
  wake(ARGV[8], tonumber(ARGV[5]), ARGV[1], 'w ' .. ARGV[9] .. ' ' .. ARGV[1] .. ' 1 ' .. ARGV[11])
  return 1
end
if redis.call('EXISTS', KEYS[4]) == 1 then return redis.error_reply('CLOSED') end
local seq = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[4], seq .. '-0', 'd', ARGV[2], 't', ARGV[5])
local cutoff = tonumber(ARGV[5]) - tonumber(ARGV[6])
local head = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 8)
for _, entry in ipairs(head) do
  if tonumber(entry[2][4]) < cutoff then redis.call('XDEL', KEYS[3], entry[1]) else break end
end
if ARGV[3] == '1' then
  local keep = math.min(tonumber(ARGV[6]), tonumber(ARGV[10]))
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[5], ARGV[1])
  redis.call('SET', KEYS[4], seq, 'PX', keep)
  redis.call('PEXPIRE', KEYS[3], keep)
else
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
redis.call('PEXPIRE', KEYS[2], ARGV[7])
wake(ARGV[8], tonumber(ARGV[5]), ARGV[1], 'w ' .. ARGV[9] .. ' ' .. ARGV[1] .. ' ' .. seq .. ' ' .. ARGV[11])
return seq
"#,
    ))
});

/// Ends a stream without a final event. KEYS: session, streams, stream, ended-marker, runners,
/// watchers. ARGV: stream id, session TTL (ms), wake-up channel prefix, session id,
/// closed-stream retention (ms), origin, now (ms). Errors `NOSESSION`.
pub static CLOSE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        wake_lua!(),
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSESSION') end
if redis.call('EXISTS', KEYS[4]) == 1 then return 1 end
local seq = redis.call('HGET', KEYS[2], ARGV[1]) or '0'
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('SET', KEYS[4], seq, 'PX', ARGV[5])
local ttl = redis.call('PTTL', KEYS[3])
if ttl > tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
wake(ARGV[3], tonumber(ARGV[7]), ARGV[1], 'w ' .. ARGV[4] .. ' ' .. ARGV[1] .. ' ' .. seq .. ' ' .. ARGV[6])
return 1
"#,
    ))
});

/// Creates a session record unless it exists. KEYS: session. ARGV: TTL (ms), then field/value
/// pairs. Returns 1, or 0 if it already existed.
pub static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"#,
    )
});

/// Slides a session's TTL. KEYS: session, subs, streams, index. ARGV: TTL (ms), expiry (ms),
/// session id. A session already gone leaves the index instead of being revived in it. The
/// index's own TTL is extended to the session's, so the index expires with its last session.
/// Returns 1 if the session lives, 0 otherwise.
pub static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then
  redis.call('ZREM', KEYS[4], ARGV[3])
  return 0
end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 'XX', ARGV[2], ARGV[3])
if redis.call('PTTL', KEYS[4]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[4], ARGV[1]) end
return 1
"#,
    )
});

/// Reserves a place in the session index under the cap. KEYS: index. ARGV: now (ms), cap
/// (0 = none), session id, expiry (ms). The index's TTL is extended to the new session's, so
/// the index expires with its last session. Returns 1, or 0 when full.
pub static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local cap = tonumber(ARGV[2])
if cap > 0 and redis.call('ZCARD', KEYS[1]) >= cap then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
local ttl = tonumber(ARGV[4]) - tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"#,
    )
});

/// Applies a patch. KEYS: session, subs. ARGV: op (`log_level`, `subscribe`, `unsubscribe`),
/// value, TTL (ms). Errors `NOSESSION`.
pub static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSESSION') end
if ARGV[1] == 'log_level' then redis.call('HSET', KEYS[1], 'log_level', ARGV[2])
elseif ARGV[1] == 'subscribe' then redis.call('SADD', KEYS[2], ARGV[2])
else redis.call('SREM', KEYS[2], ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return 1
"#,
    )
});

/// Records the outcome of `initialize` on a session opened before it. KEYS: session. ARGV:
/// protocol version, client info (JSON), client capabilities (JSON), TTL (ms). Errors
/// `NOSESSION`.
pub static INITIALIZED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOSESSION') end
redis.call('HSET', KEYS[1], 'protocol_version', ARGV[1], 'client_info', ARGV[2],
  'client_capabilities', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"#,
    )
});

/// Deletes a session and the logs of its open streams (ended streams' keys are removed by the
/// caller). KEYS: session, subs, streams. ARGV: stream-key prefix, channel, session id.
/// Returns 1 if the session existed.
pub static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local existed = redis.call('EXISTS', KEYS[1])
for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
  redis.call('DEL', ARGV[1] .. field)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('PUBLISH', ARGV[2], 'd ' .. ARGV[3])
return existed
"#,
    )
});
