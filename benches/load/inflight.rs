//! Many requests in flight on one session: `load inflight`.
//!
//! A client may start many slow calls at once on one session (an agent fanning out tool calls),
//! and every one of them is state of the session's actor. This measures what they cost the
//! calls that keep arriving on the same session: for each `held` count, a new session sets its
//! log level to `emergency` (so the slow calls write nothing), starts `held` calls of the
//! `count` demo tool that sleep between two steps (one connection each), and then `clients`
//! connections call `add` on the same session back to back. The table gives the `add` rate,
//! its latency and the server's CPU time per `add` next to the `held = 0` row: a server whose
//! cost per message grows with the requests a session has in flight shows it here.
//!
//! The held calls are abandoned (their connections closed) after each measurement; the next
//! `held` count starts on a new session.

use crate::drive::{self, AddCall, CpuProbe, Outcome, Placement};
use crate::mcp::{self, Endpoint, Session};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The environment of a started mcp-hive that may hold any number of calls on one session
/// (`session.max_requests_in_flight`, 1,000 by default, would refuse the rest).
pub fn uncapped() -> Vec<(&'static str, String)> {
    vec![("MCP_HIVE__SESSION__MAX_REQUESTS_IN_FLIGHT", "0".to_owned())]
}

/// The interval of the held `count` calls: the demo tool's maximum.
const HELD_INTERVAL_MS: u64 = 10_000;

/// The request a held call sends: `count` to `steps` with the longest interval.
fn held_request(ep: &Endpoint, session: &Session, id: u64, steps: u64) -> Vec<u8> {
    let body = json!({"jsonrpc": "2.0", "id": format!("held-{id}"), "method": "tools/call",
        "params": {"name": "count",
                   "arguments": {"number": steps, "intervalMs": HELD_INTERVAL_MS}}});
    mcp::post_request(ep, session, body.to_string().as_bytes())
}

/// One measurement: `held` slow calls in flight on a new session while `clients` connections
/// call `add` on it for `warmup + duration`.
pub async fn measure(
    ep: &Endpoint,
    held: usize,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    probe: Option<CpuProbe>,
) -> Result<Outcome, String> {
    let mut conn = ep.conn();
    let session = mcp::initialize(&mut conn, ep, None).await?;
    let quiet = json!({"jsonrpc": "2.0", "id": "quiet", "method": "logging/setLevel",
        "params": {"level": "emergency"}});
    mcp::request(&mut conn, ep, &session, &quiet).await?;
    // Long enough to outlast the set-up and the measurement: the first step runs at once,
    // each further one after the interval.
    let window = Duration::from_secs(5) + warmup + duration;
    let steps = 2 + window.as_millis() as u64 / HELD_INTERVAL_MS;
    let held_tasks: Vec<_> = (0..held)
        .map(|i| {
            let (ep, session) = (ep.clone(), session.clone());
            tokio::spawn(async move {
                let mut conn = ep.conn();
                let limit = window + Duration::from_secs(30);
                conn.request(&held_request(&ep, &session, i as u64, steps), limit)
                    .await
                    .map(|res| res.head.status)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    // The held requests are sent as their tasks first run; give the server a moment to have
    // them all before the warm-up starts.
    tokio::time::sleep(Duration::from_millis(200 + held as u64 / 10)).await;
    if let Some(finished) = held_tasks
        .iter()
        .position(tokio::task::JoinHandle::is_finished)
    {
        return Err(format!("held call {finished} ended before the measurement"));
    }
    // Every connection calls the one session.
    let op = Arc::new(AddCall::new(
        ep.clone(),
        vec![session],
        Placement::Setup,
        clients,
    ));
    let outcome = drive::closed_loop(ep, op, clients, warmup, duration, probe).await;
    let ended = held_tasks.iter().filter(|t| t.is_finished()).count();
    for t in held_tasks {
        t.abort();
    }
    if ended > 0 {
        return Err(format!(
            "{ended} of {held} held calls ended during the measurement"
        ));
    }
    Ok(outcome)
}
