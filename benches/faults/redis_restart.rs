//! The `redis` part: redis-server (with an append-only file) killed and started again under
//! open-loop load on two replicas; every call classified, and `/readyz` of both replicas
//! sampled.

use crate::fleet::{self, RedisProc};
use crate::support::{self, Server};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REDIS_SESSIONS: usize = 200;
pub(crate) const RATE_PER_SEC: u64 = 100;
const BEFORE: Duration = Duration::from_secs(10);
const OUTAGE: Duration = Duration::from_secs(5);
const AFTER: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    Ok,
    /// 503 with a `Retry-After` header.
    Unavailable,
    /// Another status (with whether `Retry-After` was present).
    Status(u16, bool),
    /// No HTTP answer (connection refused or reset).
    Transport,
    /// 200 with an unexpected body.
    BadBody,
}

pub(crate) struct Call {
    pub(crate) sent: Instant,
    pub(crate) done: Instant,
    pub(crate) outcome: Outcome,
    pub(crate) detail: String,
}

async fn one_call(http: &reqwest::Client, url: &str, sid: &str, n: u64) -> Call {
    let sent = Instant::now();
    let body = if n % 2 == 0 {
        fleet::tool_call(n, "add", json!({"a": 1, "b": 2}))
    } else {
        json!({"jsonrpc": "2.0", "id": n, "method": "tools/list"})
    };
    let (outcome, detail) = match fleet::post(http, url, Some(sid), &body).send().await {
        Err(e) => (Outcome::Transport, e.to_string()),
        Ok(res) => {
            let status = res.status().as_u16();
            let retry = res.headers().contains_key("retry-after");
            let text = res.text().await.unwrap_or_default();
            if status == 503 && retry {
                (Outcome::Unavailable, text)
            } else if status != 200 {
                (Outcome::Status(status, retry), text)
            } else if (n % 2 == 0 && text.contains("\"result\":3"))
                || (n % 2 == 1 && text.contains("\"tools\""))
            {
                (Outcome::Ok, String::new())
            } else {
                (Outcome::BadBody, text)
            }
        }
    };
    Call {
        sent,
        done: Instant::now(),
        outcome,
        detail: detail.chars().take(200).collect(),
    }
}

pub(crate) struct RedisRestart {
    pub(crate) calls: Vec<Call>,
    pub(crate) start: Instant,
    pub(crate) down: Instant,
    pub(crate) up: Instant,
    /// (replica, time, ready) samples of `/readyz`.
    pub(crate) ready: Vec<(usize, Instant, bool)>,
    pub(crate) skipped: u64,
}

pub(crate) async fn redis_restart(bin: &Path) -> RedisRestart {
    let mut redis = RedisProc::start(true).await;
    let env = vec![("REDIS_URL", redis.url())];
    let replicas = [
        Server::start(bin, &env).await,
        Server::start(bin, &env).await,
    ];
    let http = support::http_client();
    let mut sessions = Vec::new();
    for i in 0..REDIS_SESSIONS {
        let sid = support::initialize(&http, &replicas[i % 2].mcp)
            .await
            .expect("create a session");
        sessions.push(sid);
    }
    // The append-only file is synced every second.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sessions = Arc::new(sessions);
    let urls: Arc<Vec<String>> = Arc::new(replicas.iter().map(|r| r.mcp.clone()).collect());
    let stop = tokio_util::sync::CancellationToken::new();
    // /readyz of both replicas.
    let probe = {
        let (stop, http) = (stop.clone(), http.clone());
        let urls: Vec<String> = urls.iter().map(|u| u.replace("/mcp", "/readyz")).collect();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.is_cancelled() {
                for (i, u) in urls.iter().enumerate() {
                    let ok = tokio::time::timeout(Duration::from_millis(500), http.get(u).send())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .is_some_and(|r| r.status().is_success());
                    samples.push((i, Instant::now(), ok));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            samples
        })
    };
    // Open-loop load.
    let load = {
        let (stop, http) = (stop.clone(), http.clone());
        let (sessions, urls) = (Arc::clone(&sessions), Arc::clone(&urls));
        tokio::spawn(async move {
            let limit = Arc::new(tokio::sync::Semaphore::new(400));
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SEC));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let (mut calls, mut skipped, mut n) = (Vec::new(), 0u64, 0u64);
            while !stop.is_cancelled() {
                tick.tick().await;
                n += 1;
                let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
                    skipped += 1;
                    continue;
                };
                let (http, sessions, urls) =
                    (http.clone(), Arc::clone(&sessions), Arc::clone(&urls));
                calls.push(tokio::spawn(async move {
                    let sid = &sessions[(n as usize / 2) % sessions.len()];
                    let url = &urls[(n as usize) % urls.len()];
                    let call = one_call(&http, url, sid, n).await;
                    drop(permit);
                    call
                }));
            }
            let mut done = Vec::new();
            for c in calls {
                done.push(c.await.expect("a call task"));
            }
            (done, skipped)
        })
    };
    let start = Instant::now();
    tokio::time::sleep(BEFORE).await;
    let down = Instant::now();
    redis.kill().await;
    tokio::time::sleep(OUTAGE).await;
    redis.restart().await;
    let up = Instant::now();
    tokio::time::sleep(AFTER).await;
    stop.cancel();
    let (calls, skipped) = load.await.expect("the load task");
    let ready = probe.await.expect("the readiness probe");
    for r in replicas {
        r.stop().await;
    }
    redis.kill().await;
    RedisRestart {
        calls,
        start,
        down,
        up,
        ready,
        skipped,
    }
}
