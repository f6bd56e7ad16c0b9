//! The fault benchmark: what clients see when a replica is SIGKILLed under a busy stream, and
//! when Redis goes away for a few seconds under load.
//!
//! Run with `cargo bench --bench faults` (about 8 minutes after the build), or one part:
//! `cargo bench --bench faults -- kill` / `-- redis` (`FAULTS_CYCLES=5` for a quick try of
//! `kill`). It starts its own `redis-server` and
//! release `mcp-hive serve` processes (see `benches/support`), prints the tables and rewrites
//! `BENCHMARKS.md` between `<!-- faults_kill:begin -->` / `<!-- faults_kill:end -->` and
//! `<!-- faults_redis:begin -->` / `<!-- faults_redis:end -->`.
//!
//! - `kill`: two replicas on one Redis, one session subscribed to `demo://clock` (a
//!   `notifications/resources/updated` per second on its standalone `GET` stream). 50 cycles: the
//!   client holds the `GET` stream and a `count` POST stream (100 steps 30 ms apart: a progress
//!   notification and a log message each) on one replica; after 0.4 to 2 s that replica is
//!   SIGKILLed; the client resumes both streams on the other replica with `Last-Event-ID` (the
//!   POST stream is taken over there and `count`, read-only, runs again), reads the call to its
//!   result, and the killed replica is started again. Across all cycles, the event ids of each
//!   stream must be consecutive: a missing sequence number is a lost event, a repeated one a
//!   duplicate. The progress steps of each call must arrive once each, in order, followed by the
//!   result.
//! - `redis`: Redis with an append-only file (so sessions outlive the restart), two replicas,
//!   200 sessions, 100 calls/s (alternately `tools/call` of `add`, answered over SSE, and
//!   `tools/list`, answered as JSON; sessions and replicas round-robin). After 10 s redis-server
//!   is killed, started again on the same port 5 s later, and the load goes on for 20 s. Every
//!   call is classified (ok, 503 with `Retry-After`, other status, connection error); reported:
//!   the window in which calls failed against the outage window, the time to the first success
//!   once Redis answers again, and `/readyz` of both replicas sampled every 100 ms.

mod fleet;
mod support;

use fleet::{Next, RedisProc, Sse};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Redis, Server};
use tokio::task::JoinHandle;

/// Kill cycles (`FAULTS_CYCLES` overrides it for a quick try).
fn cycles() -> usize {
    std::env::var("FAULTS_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}
/// Steps of each `count` call, and milliseconds between them.
const COUNT_STEPS: u32 = 100;
const COUNT_INTERVAL_MS: u64 = 30;

// ---------------------------------------------------------------------------------------------
// kill: SIGKILL under busy streams
// ---------------------------------------------------------------------------------------------

/// What a reader saw on one connection.
struct Seen {
    /// (sequence number, message) of each event with data, in arrival order.
    events: Vec<(u64, Value)>,
    /// The stream, from the ids.
    stream: Option<String>,
    /// When the first event with data arrived.
    first_at: Option<std::time::Instant>,
    /// How the connection ended.
    end: String,
}

fn read_all(mut sse: Sse, until_id: Option<u64>) -> JoinHandle<Seen> {
    tokio::spawn(async move {
        let mut seen = Seen {
            events: Vec::new(),
            stream: None,
            first_at: None,
            end: String::new(),
        };
        loop {
            match sse.next(Duration::from_secs(30)).await {
                Next::Event(e) => {
                    let Some((stream, seq)) = e.seq() else {
                        continue;
                    };
                    seen.stream.get_or_insert(stream);
                    let Some(m) = e.json() else { continue };
                    seen.first_at.get_or_insert(e.at);
                    let done = until_id.is_some_and(|id| m["id"].as_u64() == Some(id));
                    seen.events.push((seq, m));
                    if done {
                        seen.end = "answered".into();
                        return seen;
                    }
                }
                Next::Ended => {
                    seen.end = "ended".into();
                    return seen;
                }
                Next::Timeout => {
                    seen.end = "stalled 30 s".into();
                    return seen;
                }
                Next::Broken(e) => {
                    seen.end = format!("broken: {e}");
                    return seen;
                }
            }
        }
    })
}

/// Lost and repeated sequence numbers in a list that should be consecutive from `first`.
fn gaps_and_repeats(seqs: &[u64], first: u64) -> (u64, u64, Vec<String>) {
    let (mut lost, mut dup, mut notes) = (0, 0, Vec::new());
    let mut expected = first;
    for &s in seqs {
        if s == expected {
            expected += 1;
        } else if s > expected {
            lost += s - expected;
            notes.push(format!("missing {expected}..{}", s - 1));
            expected = s + 1;
        } else {
            dup += 1;
            notes.push(format!("repeated {s}"));
        }
    }
    (lost, dup, notes)
}

struct KillCycle {
    /// Kill → first event of the resumed POST stream, and → its response.
    post_first_ms: Option<f64>,
    post_done_ms: Option<f64>,
    /// Kill → first event of the resumed GET stream.
    get_first_ms: Option<f64>,
    /// Events of the POST stream before / after the kill.
    before: usize,
    after: usize,
}

struct Kill {
    cycles: Vec<KillCycle>,
    /// Over all POST streams: events, lost and repeated ids.
    post_events: u64,
    post_lost: u64,
    post_dup: u64,
    /// Progress steps missing or repeated, results missing or wrong.
    progress_lost: u64,
    progress_dup: u64,
    bad_results: u64,
    /// The GET stream over the whole run.
    get_events: u64,
    get_lost: u64,
    get_dup: u64,
    notes: Vec<String>,
    restart_ms: Vec<f64>,
}

async fn kill_cycles(bin: &Path) -> Kill {
    let redis = Redis::start().await;
    let env = vec![("REDIS_URL", redis.url())];
    let http = support::http_client();
    let mut replicas = [
        Some(Server::start(bin, &env).await),
        Some(Server::start(bin, &env).await),
    ];
    let first = replicas[0].as_ref().expect("replica 0");
    let sid = support::initialize(&http, &first.mcp)
        .await
        .expect("initialize the session");
    fleet::subscribe(&http, &first.mcp, &sid, "demo://clock")
        .await
        .expect("subscribe to the clock");
    let res = fleet::send_ok(fleet::get(&http, &first.mcp, &sid, None), "GET stream")
        .await
        .expect("open the GET stream");
    // The GET stream is read all the time, by one reader per connection.
    let mut get_reader = read_all(Sse::new(res), None);
    let mut previous_kill: Option<Instant> = None;
    let mut get_seqs: Vec<u64> = Vec::new();
    let mut get_last = "0-0".to_owned();
    let mut out = Kill {
        cycles: Vec::new(),
        post_events: 0,
        post_lost: 0,
        post_dup: 0,
        progress_lost: 0,
        progress_dup: 0,
        bad_results: 0,
        get_events: 0,
        get_lost: 0,
        get_dup: 0,
        notes: Vec::new(),
        restart_ms: Vec::new(),
    };
    for c in 0..cycles() {
        let (h, o) = (c % 2, 1 - c % 2);
        let holder = replicas[h].take().expect("the holder runs");
        let id = 1000 + c as u64;
        let post = fleet::send_ok(
            fleet::post(
                &http,
                &holder.mcp,
                Some(&sid),
                &fleet::count_call(id, COUNT_STEPS, COUNT_INTERVAL_MS),
            ),
            "count",
        )
        .await
        .expect("start count");
        let post_reader = read_all(Sse::new(post), Some(id));
        // 0.4 .. 2.0 s into the call, spread over the cycles.
        let delay = 400 + (c as u64 * 379) % 1600;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let killed = Instant::now();
        holder.stop().await;
        let restart = {
            let (bin, env) = (bin.to_owned(), env.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let s = Server::start(&bin, &env).await;
                (s, t.elapsed().as_secs_f64() * 1000.0)
            })
        };
        let get_before = get_reader.await.expect("GET reader");
        // The previous cycle's resumed GET connection: when its first event came.
        if let (Some(prev), Some(first), Some(cycle)) =
            (previous_kill, get_before.first_at, out.cycles.last_mut())
        {
            cycle.get_first_ms = Some((first - prev).as_secs_f64() * 1000.0);
        }
        let post_before = post_reader.await.expect("POST reader");
        let other = replicas[o].as_ref().expect("the other replica runs");
        for (seq, _) in &get_before.events {
            get_seqs.push(*seq);
            get_last = format!("0-{seq}");
        }
        // Resume both streams on the other replica.
        let res = fleet::send_ok(
            fleet::get(&http, &other.mcp, &sid, Some(&get_last)),
            "resume GET",
        )
        .await
        .expect("resume the GET stream");
        get_reader = read_all(Sse::new(res), None);
        previous_kill = Some(killed);
        let stream = post_before.stream.clone().expect("the POST stream's id");
        let answered = post_before.end == "answered";
        let post_last = post_before.events.last().map_or(0, |e| e.0);
        let (post_after, post_first_ms, post_done_ms) = if answered {
            (Vec::new(), None, None)
        } else {
            let res = fleet::send_ok(
                fleet::get(
                    &http,
                    &other.mcp,
                    &sid,
                    Some(&format!("{stream}-{post_last}")),
                ),
                "resume POST stream",
            )
            .await
            .expect("resume the POST stream");
            let mut sse = Sse::new(res);
            let mut events = Vec::new();
            let mut first = None;
            let done = loop {
                match sse.next(Duration::from_secs(30)).await {
                    Next::Event(e) => {
                        let Some((_, seq)) = e.seq() else { continue };
                        let Some(m) = e.json() else { continue };
                        first.get_or_insert((e.at - killed).as_secs_f64() * 1000.0);
                        let last = m["id"].as_u64() == Some(id);
                        events.push((seq, m));
                        if last {
                            break Some((e.at - killed).as_secs_f64() * 1000.0);
                        }
                    }
                    other => {
                        out.notes
                            .push(format!("cycle {c}: resumed POST stream {other:?}"));
                        break None;
                    }
                }
            };
            (events, first, done)
        };
        // Check the POST stream: ids 1.. consecutive, progress 1..N once each, the result.
        let all: Vec<&(u64, Value)> = post_before.events.iter().chain(&post_after).collect();
        let seqs: Vec<u64> = all.iter().map(|e| e.0).collect();
        let (lost, dup, notes) = gaps_and_repeats(&seqs, 1);
        out.post_events += seqs.len() as u64;
        out.post_lost += lost;
        out.post_dup += dup;
        out.notes.extend(
            notes
                .into_iter()
                .map(|n| format!("cycle {c}, POST stream: {n}")),
        );
        let progress: Vec<u64> = all
            .iter()
            .filter(|e| e.1["method"] == "notifications/progress")
            .filter_map(|e| e.1["params"]["progress"].as_u64())
            .collect();
        let (p_lost, p_dup, p_notes) = gaps_and_repeats(&progress, 1);
        let p_lost = p_lost
            + (u64::from(COUNT_STEPS)).saturating_sub(progress.iter().max().copied().unwrap_or(0));
        out.progress_lost += p_lost;
        out.progress_dup += p_dup;
        out.notes.extend(
            p_notes
                .into_iter()
                .map(|n| format!("cycle {c}, progress: {n}")),
        );
        let result_ok = all.last().is_some_and(|e| {
            e.1["id"].as_u64() == Some(id)
                && e.1["result"]["content"][0]["text"] == format!("Counted to {COUNT_STEPS}")
        });
        if !result_ok {
            out.bad_results += 1;
            out.notes.push(format!(
                "cycle {c}: no result (before the kill: {}, after: {} events)",
                post_before.end,
                post_after.len()
            ));
        }
        out.cycles.push(KillCycle {
            post_first_ms,
            post_done_ms,
            get_first_ms: None,
            before: post_before.events.len(),
            after: post_after.len(),
        });
        let (server, ms) = restart.await.expect("restart the killed replica");
        out.restart_ms.push(ms);
        replicas[h] = Some(server);
        eprintln!(
            "  cycle {}/{}: {} + {} POST events, GET up to {get_last}",
            c + 1,
            cycles(),
            post_before.events.len(),
            post_after.len()
        );
    }
    // Stopping the replicas ends the last GET connection and its reader.
    for s in replicas.iter_mut().filter_map(Option::take) {
        s.stop().await;
    }
    let last = get_reader.await.expect("GET reader");
    if let (Some(prev), Some(first), Some(cycle)) =
        (previous_kill, last.first_at, out.cycles.last_mut())
    {
        cycle.get_first_ms = Some((first - prev).as_secs_f64() * 1000.0);
    }
    get_seqs.extend(last.events.iter().map(|e| e.0));
    let (lost, dup, notes) = gaps_and_repeats(&get_seqs, get_seqs.first().copied().unwrap_or(1));
    out.get_events = get_seqs.len() as u64;
    out.get_lost = lost;
    out.get_dup = dup;
    out.notes
        .extend(notes.into_iter().map(|n| format!("GET stream: {n}")));
    redis.stop().await;
    out
}

// ---------------------------------------------------------------------------------------------
// redis: Redis restarted under load
// ---------------------------------------------------------------------------------------------

const REDIS_SESSIONS: usize = 200;
const RATE_PER_SEC: u64 = 100;
const BEFORE: Duration = Duration::from_secs(10);
const OUTAGE: Duration = Duration::from_secs(5);
const AFTER: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
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

struct Call {
    sent: Instant,
    done: Instant,
    outcome: Outcome,
    detail: String,
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

struct RedisRestart {
    calls: Vec<Call>,
    start: Instant,
    down: Instant,
    up: Instant,
    /// (replica, time, ready) samples of `/readyz`.
    ready: Vec<(usize, Instant, bool)>,
    skipped: u64,
}

async fn redis_restart(bin: &Path) -> RedisRestart {
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

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

fn render_kill(k: &Kill) -> String {
    let mut out = String::new();
    let w = &mut out;
    let ms = |v: Vec<f64>| fleet::distribution_ms(&v);
    let post_first: Vec<f64> = k.cycles.iter().filter_map(|c| c.post_first_ms).collect();
    let post_done: Vec<f64> = k.cycles.iter().filter_map(|c| c.post_done_ms).collect();
    let get_first: Vec<f64> = k.cycles.iter().filter_map(|c| c.get_first_ms).collect();
    let resumed = k.cycles.iter().filter(|c| c.after > 0).count();
    let before = fleet::sorted(&k.cycles.iter().map(|c| c.before as f64).collect::<Vec<_>>());
    let after = fleet::sorted(&k.cycles.iter().map(|c| c.after as f64).collect::<Vec<_>>());
    let ok = |v: u64| if v == 0 { "met" } else { "**missed**" };
    let _ = writeln!(
        w,
        "{} SIGKILL cycles; {resumed} POST streams were taken over mid-call (the others had already answered when the kill came). Events per `count` stream received before the kill: median {:.0} (min {:.0}, max {:.0}); after it, on the other replica: median {:.0}.\n",
        k.cycles.len(),
        fleet::quantile(&before, 0.5),
        before.first().copied().unwrap_or(0.0),
        before.last().copied().unwrap_or(0.0),
        fleet::quantile(&after, 0.5),
    );
    let _ = writeln!(w, "| Check | Count | Goal | |");
    let _ = writeln!(w, "|---|---|---|---|");
    let _ = writeln!(
        w,
        "| POST stream events received ({} calls) | {} | | |",
        k.cycles.len(),
        k.post_events
    );
    let _ = writeln!(
        w,
        "| POST stream event ids lost / duplicated | **{} / {}** | 0 / 0 | {} |",
        k.post_lost,
        k.post_dup,
        ok(k.post_lost + k.post_dup)
    );
    let _ = writeln!(
        w,
        "| Progress steps lost / duplicated (each call: 1..{COUNT_STEPS} once, in order) | **{} / {}** | 0 / 0 | {} |",
        k.progress_lost,
        k.progress_dup,
        ok(k.progress_lost + k.progress_dup)
    );
    let _ = writeln!(
        w,
        "| Calls without their result | **{}** | 0 | {} |",
        k.bad_results,
        ok(k.bad_results)
    );
    let _ = writeln!(
        w,
        "| GET stream events received (clock, one per second, over the whole run) | {} | | |",
        k.get_events
    );
    let _ = writeln!(
        w,
        "| GET stream event ids lost / duplicated | **{} / {}** | 0 / 0 | {} |",
        k.get_lost,
        k.get_dup,
        ok(k.get_lost + k.get_dup)
    );
    let _ = writeln!(w, "\n| Timing | Distribution |");
    let _ = writeln!(w, "|---|---|");
    let _ = writeln!(
        w,
        "| Kill → first event on the resumed POST stream (replayed or new) | {} |",
        ms(post_first)
    );
    let _ = writeln!(
        w,
        "| Kill → the call's result on the resumed POST stream | {} |",
        ms(post_done)
    );
    let _ = writeln!(
        w,
        "| Kill → first event on the resumed GET stream (the clock ticks once a second) | {} |",
        ms(get_first)
    );
    let _ = writeln!(
        w,
        "| Restart of the killed replica (spawn → `/readyz` 200) | {} |",
        ms(k.restart_ms.clone())
    );
    if !k.notes.is_empty() {
        let _ = writeln!(w, "\nFindings:\n");
        for n in k.notes.iter().take(30) {
            let _ = writeln!(w, "- {n}");
        }
    }
    out
}

fn render_redis(r: &RedisRestart) -> String {
    let mut out = String::new();
    let w = &mut out;
    let at = |t: Instant| (t - r.start).as_secs_f64();
    let errors: Vec<&Call> = r
        .calls
        .iter()
        .filter(|c| c.outcome != Outcome::Ok)
        .collect();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for c in &errors {
        let kind = match &c.outcome {
            Outcome::Ok => unreachable!(),
            Outcome::Unavailable => "503 with Retry-After".to_owned(),
            Outcome::Status(s, retry) => {
                format!("HTTP {s}{}", if *retry { " with Retry-After" } else { "" })
            }
            Outcome::Transport => "no HTTP answer".to_owned(),
            Outcome::BadBody => "200 with an unexpected body".to_owned(),
        };
        *by_kind.entry(kind).or_default() += 1;
    }
    let first_error = errors.iter().map(|c| c.sent).min();
    let last_error = errors.iter().map(|c| c.done).max();
    let first_ok_after = r
        .calls
        .iter()
        .filter(|c| c.outcome == Outcome::Ok && c.done >= r.up)
        .map(|c| c.done)
        .min();
    let after_last_error: Vec<&Call> = r
        .calls
        .iter()
        .filter(|c| last_error.is_some_and(|l| c.sent > l))
        .collect();
    let outside: Vec<&&Call> = errors
        .iter()
        .filter(|c| c.done < r.down || c.sent > r.up + Duration::from_secs(5))
        .collect();
    let not_ready: Vec<f64> = r.ready.iter().filter(|s| !s.2).map(|s| at(s.1)).collect();
    let _ = writeln!(
        w,
        "Timeline (seconds from the start of the load): redis-server killed at **{:.2}**, answering again at **{:.2}** (outage {:.2} s: 5 s down plus its start and AOF load).\n",
        at(r.down),
        at(r.up),
        (r.up - r.down).as_secs_f64()
    );
    let _ = writeln!(w, "| Measurement | Result |");
    let _ = writeln!(w, "|---|---|");
    let _ = writeln!(
        w,
        "| Calls sent ({RATE_PER_SEC}/s, half `tools/call` over SSE, half `tools/list` as JSON) | {} ({} not sent: 400 already in flight) |",
        r.calls.len(),
        r.skipped
    );
    let _ = writeln!(
        w,
        "| Failed calls, by kind | {} |",
        if by_kind.is_empty() {
            "none".to_owned()
        } else {
            by_kind
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    match (first_error, last_error) {
        (Some(f), Some(l)) => {
            let _ = writeln!(
                w,
                "| Error window (first failed call sent → last failed call answered) | **{:.2} → {:.2}** ({:.2} s; outage {:.2} → {:.2}) |",
                at(f),
                at(l),
                (l - f).as_secs_f64(),
                at(r.down),
                at(r.up)
            );
        }
        _ => {
            let _ = writeln!(w, "| Error window | no call failed |");
        }
    }
    let _ = writeln!(
        w,
        "| Failed calls outside the outage (answered before the kill, or sent more than 5 s after Redis answered again) | **{}** |",
        outside.len()
    );
    if let Some(t) = first_ok_after {
        let _ = writeln!(
            w,
            "| Redis answering again → first successful call | **{:.0} ms** |",
            (t - r.up).as_secs_f64() * 1000.0
        );
    }
    if let Some(l) = last_error {
        let _ = writeln!(
            w,
            "| Redis answering again → last failed call answered | {:.0} ms |",
            (l.saturating_duration_since(r.up)).as_secs_f64() * 1000.0
        );
    }
    let ok_after = after_last_error
        .iter()
        .filter(|c| c.outcome == Outcome::Ok)
        .count();
    let _ = writeln!(
        w,
        "| Calls sent after the last failure that succeeded (full recovery, same sessions) | {ok_after} of {} |",
        after_last_error.len()
    );
    if let (Some(f), Some(l)) = (not_ready.first(), not_ready.last()) {
        let _ = writeln!(
            w,
            "| `/readyz` 503 (either replica, sampled every 100 ms) | {f:.2} → {l:.2} ({} samples) |",
            not_ready.len()
        );
    } else {
        let _ = writeln!(w, "| `/readyz` 503 | never |");
    }
    if let Some(c) = errors.iter().find(|c| c.outcome != Outcome::Unavailable) {
        let _ = writeln!(
            w,
            "\nFirst failure other than 503: `{:?}` `{}`",
            c.outcome, c.detail
        );
    }
    if let Some(c) = errors.iter().find(|c| c.outcome == Outcome::Unavailable) {
        let _ = writeln!(w, "\nA 503 body: `{}`", c.detail.trim());
    }
    out
}

#[tokio::main]
async fn main() {
    let bin = support::server_binary();
    if fleet::wants("kill") {
        let started = Instant::now();
        let load = support::load_average();
        eprintln!("faults: {} SIGKILL cycles", cycles());
        let k = kill_cycles(&bin).await;
        let report = format!(
            "{}\n\n{}",
            fleet::run_header(started, &load),
            render_kill(&k)
        );
        println!("{report}");
        support::write_report("faults_kill", &report);
    }
    if fleet::wants("redis") {
        let started = Instant::now();
        let load = support::load_average();
        eprintln!("faults: Redis restarted under load");
        let r = redis_restart(&bin).await;
        let report = format!(
            "{}\n\n{}",
            fleet::run_header(started, &load),
            render_redis(&r)
        );
        println!("{report}");
        support::write_report("faults_redis", &report);
    }
}
