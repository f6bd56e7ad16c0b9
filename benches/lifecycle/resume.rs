//! The `resume` part: trials of a stream resumed with `Last-Event-ID` on another replica after
//! the replica holding it was SIGKILLed mid-call, with the replay, takeover and first new event
//! timed and the event ids checked.

use crate::fleet::{self, Next, Sse};
use crate::server_env;
use crate::support::{self, Redis, Server};
use std::path::Path;
use std::time::{Duration, Instant};

/// Resume trials (`LIFECYCLE_TRIALS` overrides it for a quick try).
fn trial_count() -> usize {
    std::env::var("LIFECYCLE_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

pub(crate) struct Trial {
    /// Reconnect sent → first replayed event.
    pub(crate) replay_ms: f64,
    /// Events replayed (stored by the killed replica after the client's last one).
    pub(crate) replayed: u64,
    /// Kill → the survivor's runner record replaced the dead one's.
    pub(crate) adopt_ms: Option<f64>,
    /// Kill → first event produced by the takeover.
    pub(crate) first_new_ms: f64,
    /// Notifications the rerun had to drop before its first new one (its catch-up).
    pub(crate) skipped: u64,
}

async fn hget(redis: &Redis, key: &str, field: &str) -> Option<String> {
    let client = redis::Client::open(redis.url()).ok()?;
    let mut c = client.get_multiplexed_async_connection().await.ok()?;
    redis::cmd("HGET")
        .arg(key)
        .arg(field)
        .query_async(&mut c)
        .await
        .ok()?
}

fn replica_of(runner: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(runner)
        .ok()?
        .get("replica")?
        .as_str()
        .map(str::to_owned)
}

async fn one_trial(
    http: &reqwest::Client,
    redis: &Redis,
    holder: Server,
    other: &Server,
    stop_at_progress: u64,
) -> Result<Trial, String> {
    let sid = support::initialize(http, &holder.mcp).await?;
    let res = fleet::send_ok(
        fleet::post(
            http,
            &holder.mcp,
            Some(&sid),
            &fleet::count_call(7, 150, 20),
        ),
        "count",
    )
    .await?;
    let mut sse = Sse::new(res);
    let mut last: Option<(String, u64)> = None;
    loop {
        match sse.next(Duration::from_secs(10)).await {
            Next::Event(e) => {
                if let Some(id) = e.seq() {
                    last = Some(id);
                }
                if e.json().and_then(|m| m["params"]["progress"].as_u64()) >= Some(stop_at_progress)
                {
                    break;
                }
            }
            other => return Err(format!("count stream: {other:?}")),
        }
    }
    drop(sse);
    let (stream, seen) = last.ok_or("no event ids")?;
    let key = |what: &str| format!("mcp:{{{sid}}}:{what}");
    let dead = hget(redis, &key("runners"), &stream)
        .await
        .and_then(|r| replica_of(&r))
        .ok_or("no runner record for the stream")?;
    // The holder keeps storing events the client never read.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed = Instant::now();
    holder.stop().await;
    let stored: u64 = hget(redis, &key("streams"), &stream)
        .await
        .and_then(|v| v.parse().ok())
        .ok_or("no last sequence number after the kill")?;
    // Who owns the stream, polled in Redis.
    let watch = {
        let (url, key, field) = (redis.url(), key("runners"), stream.clone());
        tokio::spawn(async move {
            let client = redis::Client::open(url).ok()?;
            let mut c = client.get_multiplexed_async_connection().await.ok()?;
            let deadline = killed + Duration::from_secs(15);
            while Instant::now() < deadline {
                let raw: Option<String> = redis::cmd("HGET")
                    .arg(&key)
                    .arg(&field)
                    .query_async(&mut c)
                    .await
                    .ok()?;
                if raw
                    .as_deref()
                    .and_then(replica_of)
                    .is_some_and(|r| r != dead)
                {
                    return Some(killed.elapsed().as_secs_f64() * 1000.0);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            None
        })
    };
    let sent = Instant::now();
    let res = fleet::send_ok(
        fleet::get(http, &other.mcp, &sid, Some(&format!("{stream}-{seen}"))),
        "resume",
    )
    .await?;
    let mut sse = Sse::new(res);
    let (mut replay_ms, mut expected) = (None, seen + 1);
    let first_new_ms = loop {
        match sse.next(Duration::from_secs(15)).await {
            Next::Event(e) => {
                let Some((s, seq)) = e.seq() else { continue };
                if e.data.is_empty() {
                    continue;
                }
                if s != stream || seq != expected {
                    return Err(format!("expected {stream}-{expected}, got {s}-{seq}"));
                }
                expected += 1;
                replay_ms.get_or_insert_with(|| (e.at - sent).as_secs_f64() * 1000.0);
                if seq > stored {
                    break (e.at - killed).as_secs_f64() * 1000.0;
                }
            }
            other => return Err(format!("resumed stream: {other:?}")),
        }
    };
    drop(sse);
    let adopt_ms = watch.await.ok().flatten();
    // Every event the holder stored was a notification (the call had not answered): the rerun
    // drops that many.
    let skipped = stored;
    Ok(Trial {
        replay_ms: replay_ms.ok_or("nothing replayed")?,
        replayed: stored - seen,
        adopt_ms,
        first_new_ms,
        skipped,
    })
}

pub(crate) struct Resume {
    pub(crate) trials: Vec<Trial>,
    pub(crate) failures: Vec<String>,
}

pub(crate) async fn resume(bin: &Path) -> Resume {
    let redis = Redis::start().await;
    let env = server_env(Some(&redis), &[]);
    let http = support::http_client();
    let mut replicas = [
        Some(Server::start(bin, &env).await),
        Some(Server::start(bin, &env).await),
    ];
    let (mut trials, mut failures) = (Vec::new(), Vec::new());
    for t in 0..trial_count() {
        let (h, o) = (t % 2, 1 - t % 2);
        let holder = replicas[h].take().expect("the holder runs");
        let other = replicas[o].as_ref().expect("the other replica runs");
        match one_trial(&http, &redis, holder, other, 5 + (t as u64 % 10)).await {
            Ok(trial) => trials.push(trial),
            Err(e) => failures.push(format!("trial {t}: {e}")),
        }
        replicas[h] = Some(Server::start(bin, &env).await);
        eprintln!("  resume trial {}/{}", t + 1, trial_count());
    }
    for s in replicas.into_iter().flatten() {
        s.stop().await;
    }
    redis.stop().await;
    Resume { trials, failures }
}
