//! The `kill` part: SIGKILL cycles of the replica holding a busy `count` POST stream and a
//! subscribed `GET` stream, both resumed on the other replica, with every event id, progress
//! step and result checked across the run.

use crate::fleet::{self, Next, Sse};
use crate::reader::{gaps_and_repeats, read_all};
use crate::support::{self, Redis, Server};
use crate::{COUNT_INTERVAL_MS, COUNT_STEPS, cycles};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) struct KillCycle {
    /// Kill → first event of the resumed POST stream, and → its response.
    pub(crate) post_first_ms: Option<f64>,
    pub(crate) post_done_ms: Option<f64>,
    /// Kill → first event of the resumed GET stream.
    pub(crate) get_first_ms: Option<f64>,
    /// Events of the POST stream before / after the kill.
    pub(crate) before: usize,
    pub(crate) after: usize,
}

pub(crate) struct Kill {
    pub(crate) cycles: Vec<KillCycle>,
    /// Over all POST streams: events, lost and repeated ids.
    pub(crate) post_events: u64,
    pub(crate) post_lost: u64,
    pub(crate) post_dup: u64,
    /// Progress steps missing or repeated, results missing or wrong.
    pub(crate) progress_lost: u64,
    pub(crate) progress_dup: u64,
    pub(crate) bad_results: u64,
    /// The GET stream over the whole run.
    pub(crate) get_events: u64,
    pub(crate) get_lost: u64,
    pub(crate) get_dup: u64,
    pub(crate) notes: Vec<String>,
    pub(crate) restart_ms: Vec<f64>,
}

pub(crate) async fn kill_cycles(bin: &Path) -> Kill {
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
