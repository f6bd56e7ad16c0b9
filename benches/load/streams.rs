//! Delivery latency of server-initiated notifications to many open SSE streams.
//!
//! `consumers` sessions each subscribe to a quiet resource (`test://watched-resource` of the
//! conformance fixtures: nothing else announces it, unlike the demo clock) and hold their
//! standalone GET stream open on its own connection. A publisher session then calls the `notify`
//! demo tool `notifies` times, one at a time: the server announces the update (to every replica
//! with Redis: through the store's fan-out) and returns the time of the announcement from its
//! clock (µs since the Unix epoch). Each consumer stamps the arrival of the
//! `notifications/resources/updated` event with the same host's clock. Reported:
//!
//! - *delivery latency*: arrival − announcement, for every (notification, consumer) pair;
//! - *last consumer*: per notification, the latency of the slowest consumer (fan-out complete);
//! - *spread*: per notification, last arrival − first arrival.
//!
//! The publisher waits until every consumer got a notification (or 5 s passed) before the next
//! one, so notifications never queue behind each other: this measures fan-out cost, not a
//! saturated stream. A stream delivers its notifications in order, so the n-th update a
//! consumer reads is the n-th notification: one that arrives after its round's 5 s is counted
//! as *late* (with its true latency), and after the last round the publisher keeps reading
//! until 5 s pass without an arrival (at most 60 s) before counting the pairs never delivered
//! as *missing* (lost). Arrival times include the generator's own scheduling of the reader tasks
//! (all consumers share the generator's threads), so they are an upper bound.

use crate::drive::{CpuProbe, histogram};
use crate::http::Conn;
use crate::mcp::{self, Endpoint, Session};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// The resource the consumers subscribe to.
pub const QUIET_URI: &str = "test://watched-resource";

/// What the measurement produced.
pub struct StreamsOutcome {
    /// Open streams.
    pub consumers: usize,
    /// Notifications published.
    pub notifies: usize,
    /// (notification, consumer) pairs delivered within their round's 5 s.
    pub delivered: u64,
    /// Pairs delivered after their round's 5 s (included in the latency histogram).
    pub late: u64,
    /// Pairs never delivered (not even 5 s after the last round).
    pub missing: u64,
    /// Delivery latency of every pair (µs).
    pub delivery: Histogram<u64>,
    /// Latency of the last consumer per notification (µs).
    pub last: Histogram<u64>,
    /// Last − first arrival per notification (µs).
    pub spread: Histogram<u64>,
    /// Time to set up the sessions and streams (s).
    pub setup_secs: f64,
    /// Server CPU (s) from the first notification to the end of the last round, when probed.
    pub server_cpu_secs: Option<f64>,
    /// The generator's own CPU (s) over the same interval: consumers, publisher, bookkeeping.
    pub generator_cpu_secs: f64,
}

/// Microseconds since the Unix epoch, this host's clock (the echo's announcements use it too).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// One update read by a consumer: its index, arrival (µs), and which of its updates it is
/// (0-based: the round of the notification).
type Arrival = (usize, u64, usize);

/// Opens one consumer: session, subscription, GET stream; its reader sends an [`Arrival`] per
/// update until the stream ends.
async fn consumer(
    ep: Endpoint,
    index: usize,
    uri: &'static str,
    tx: mpsc::UnboundedSender<Arrival>,
) -> Result<(), String> {
    let mut conn = ep.conn();
    let session = mcp::initialize(&mut conn, &ep, None).await?;
    mcp::subscribe(&mut conn, &ep, &session, uri).await?;
    let mut stream = ep.conn();
    let head = stream
        .send_head(&mcp::get_stream_request(&ep, &session))
        .await
        .map_err(|e| format!("GET stream: {e}"))?;
    if head.status != 200 || !head.is_sse() {
        return Err(format!("GET stream: HTTP {}", head.status));
    }
    // The priming event (2025-11-25) shows the stream is attached.
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next_chunk())
        .await
        .map_err(|_| "no priming event within 10 s".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut pending = String::from_utf8_lossy(&first.unwrap_or_default()).into_owned();
    // Only the stream's connection stays open: 10,000 consumers must fit in the open-files limit.
    drop(conn);
    tokio::spawn(async move {
        let mut updates = 0;
        loop {
            while let Some(end) = pending.find("\n\n") {
                let event: String = pending.drain(..end + 2).collect();
                if event.contains("notifications/resources/updated") {
                    let _ = tx.send((index, now_us(), updates));
                    updates += 1;
                }
            }
            match stream.next_chunk().await {
                Ok(Some(chunk)) => pending.push_str(&String::from_utf8_lossy(&chunk)),
                _ => break,
            }
        }
    });
    Ok(())
}

/// Runs the measurement against `ep`; `probe` reads the server's CPU seconds.
pub async fn run(
    ep: &Endpoint,
    consumers: usize,
    notifies: usize,
    pause: Duration,
    probe: Option<CpuProbe>,
) -> Result<StreamsOutcome, String> {
    let started = std::time::Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let opened: Vec<Result<(), String>> = futures_util::stream::iter(0..consumers)
        .map(|i| consumer(ep.clone(), i, QUIET_URI, tx.clone()))
        .buffer_unordered(32)
        .collect()
        .await;
    drop(tx);
    if let Some(Err(e)) = opened.into_iter().find(Result::is_err) {
        return Err(format!("open a consumer stream: {e}"));
    }
    let setup_secs = started.elapsed().as_secs_f64();
    let mut conn: Conn = ep.conn();
    let publisher: Session = mcp::initialize(&mut conn, ep, None).await?;
    let (mut delivery, mut last, mut spread) = (histogram(), histogram(), histogram());
    let (mut delivered, mut late) = (0u64, 0u64);
    // Announcement time per round, and which consumers got each round's notification.
    let mut announced_at: Vec<u64> = Vec::with_capacity(notifies);
    let mut seen: Vec<Vec<bool>> = Vec::with_capacity(notifies);
    let own_cpu = || crate::support::process_cpu_secs(std::process::id());
    let cpu_before = (probe.as_ref().map(|p| p()), own_cpu());
    for k in 0..notifies {
        let announced = mcp::notify(&mut conn, ep, &publisher, QUIET_URI, k as u64 + 10).await?;
        announced_at.push(announced);
        seen.push(vec![false; consumers]);
        let (mut first, mut latest, mut count) = (u64::MAX, 0u64, 0usize);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while count < consumers {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((i, at, round))) => {
                    // A round not announced yet cannot have been delivered: a stray update.
                    let Some(was) = seen.get_mut(round).map(|r| &mut r[i]) else {
                        continue;
                    };
                    if std::mem::replace(was, true) {
                        continue;
                    }
                    delivery.saturating_record(at.saturating_sub(announced_at[round]).max(1));
                    if round < k {
                        late += 1;
                        continue;
                    }
                    count += 1;
                    first = first.min(at);
                    latest = latest.max(at);
                }
                _ => break,
            }
        }
        delivered += count as u64;
        if count > 0 {
            last.saturating_record(latest.saturating_sub(announced).max(1));
            spread.saturating_record(latest.saturating_sub(first).max(1));
        }
        tokio::time::sleep(pause).await;
    }
    let server_cpu_secs = probe.as_ref().zip(cpu_before.0).map(|(p, b)| p() - b);
    let generator_cpu_secs = own_cpu() - cpu_before.1;
    // Stragglers: delivered, but after their round's 5 s. Wait while they keep coming (5 s
    // after the latest, at most 60 s), so "missing" means not delivered at all.
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    let outstanding = |seen: &[Vec<bool>]| seen.iter().flatten().filter(|s| !**s).count();
    while outstanding(&seen) > 0 {
        let grace = (tokio::time::Instant::now() + Duration::from_secs(5)).min(give_up);
        match tokio::time::timeout_at(grace, rx.recv()).await {
            Ok(Some((i, at, round))) => {
                if let Some(was) = seen.get_mut(round).map(|r| &mut r[i])
                    && !std::mem::replace(was, true)
                {
                    delivery.saturating_record(at.saturating_sub(announced_at[round]).max(1));
                    late += 1;
                }
            }
            _ => break,
        }
    }
    let missing = outstanding(&seen) as u64;
    Ok(StreamsOutcome {
        consumers,
        notifies,
        delivered,
        late,
        missing,
        delivery,
        last,
        spread,
        setup_secs,
        server_cpu_secs,
        generator_cpu_secs,
    })
}
