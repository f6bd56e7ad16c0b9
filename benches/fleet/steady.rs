//! Steady load: sessions calling a tool at a fixed rate for a while, with what they saw.

use super::*;

/// What a [`steady_load`] recorded.
#[derive(Default)]
pub struct LoadResults {
    /// Per call: seconds since the load started, latency in ms, success.
    pub calls: Mutex<Vec<(f32, f32, bool)>>,
    /// The first few failures.
    pub first_errors: Mutex<Vec<String>>,
}

/// One call of the steady load: `tools/call` of `add` (answered over SSE in `auto` mode) or
/// `tools/list` (answered as JSON); checks the answer.
pub async fn steady_call(
    http: &reqwest::Client,
    url: &str,
    sid: &str,
    n: u64,
    sse: bool,
) -> Result<(), String> {
    if sse {
        return crate::support::call_add(http, url, sid, n).await;
    }
    let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/list"});
    let res = post(http, url, Some(sid), &body)
        .send()
        .await
        .map_err(|e| format!("tools/list: {e}"))?;
    let status = res.status();
    let text = res.text().await.map_err(|e| format!("tools/list: {e}"))?;
    if status.is_success() && text.contains("\"tools\"") {
        Ok(())
    } else {
        Err(format!(
            "tools/list: HTTP {status}: {}",
            text.chars().take(200).collect::<String>()
        ))
    }
}

/// Starts an open-loop load of `rate` calls/s until `stop`: the sessions in turn (each gets a
/// call every `sessions / rate` seconds), the replica alternating from one visit of a session to
/// the next, half [`steady_call`]s over SSE and half as JSON. At most `max_in_flight` calls run
/// at once; the task returns how many ticks found that many and sent nothing.
pub fn steady_load(
    http: reqwest::Client,
    urls: Arc<Vec<String>>,
    sessions: Arc<Vec<String>>,
    rate: u64,
    max_in_flight: usize,
    stop: CancellationToken,
) -> (Arc<LoadResults>, tokio::task::JoinHandle<u64>) {
    let results = Arc::new(LoadResults::default());
    let recorded = Arc::clone(&results);
    let task = tokio::spawn(async move {
        let start = Instant::now();
        let limit = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let (mut n, mut not_sent) = (0u64, 0u64);
        let mut tasks = futures_util::stream::FuturesUnordered::new();
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
                Some(_) = tasks.next(), if !tasks.is_empty() => continue,
            }
            let count = sessions.len() as u64;
            let (round, s) = (n / count, (n % count) as usize);
            n += 1;
            let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
                not_sent += 1;
                continue;
            };
            let replica = (s as u64 + round) as usize % urls.len();
            let sse = ((s as u64 >> 1) + round) % 2 == 0;
            let (http, urls, sessions) = (http.clone(), Arc::clone(&urls), Arc::clone(&sessions));
            let results = Arc::clone(&recorded);
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let r = steady_call(&http, &urls[replica], &sessions[s], n, sse).await;
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                let at = (sent - start).as_secs_f32();
                results.calls.lock().push((at, ms as f32, r.is_ok()));
                if let Err(e) = r {
                    let mut f = results.first_errors.lock();
                    if f.len() < 5 {
                        f.push(format!("{at:.1} s: {e}"));
                    }
                }
                drop(permit);
            }));
        }
        while tasks.next().await.is_some() {}
        not_sent
    });
    (results, task)
}
