//! Taking over the POST streams of a replica that died (see [`crate::store::runner`]).
//!
//! With a shared store, the actor that opens a POST stream records a runner record: this
//! replica's id, the stream's requests and the caller. Every replica renews a liveness lease
//! ([`spawn_heartbeat`]). An actor to which a client reattached a POST stream with
//! `Last-Event-ID` checks the record every [`WATCH_EVERY`] while the connection lasts; once the
//! recorded replica's lease has lapsed it swaps in its own record (only one replica wins) and
//! finishes the stream:
//!
//! - requests that are safe to run again — every method that changes nothing or sets a value
//!   (`tools/list`, `resources/read`, `prompts/get`, `logging/setLevel`, ...), and `tools/call`
//!   of tools annotated `readOnlyHint` or `idempotentHint` (MCP 2025-06-18 `server/tools.mdx`,
//!   tool annotations) — run again here; their first `k` notifications, already in the stream
//!   from the first run, are dropped, so the client sees each notification once (handlers must
//!   be deterministic up to their notifications, as for multi round-trip replays);
//! - other requests get a JSON-RPC error saying the request may or may not have taken effect,
//!   instead of a stream that never ends.
//!
//! Responses already in the stream are not sent again. A replica that is only slow (no lease
//! renewal for [`LEASE`]) can be taken over while still running: the request then runs twice.

use super::SessionActor;
use crate::principal::Principal;
use crate::protocol::effects::safe_to_repeat;
use crate::protocol::jsonrpc::{ErrorObject, Message, Payload, Request, RequestId, codes};
use crate::protocol::server::Outcome;
use crate::session::deps::SessionDeps;
use crate::session::request::{PostStream, ReplyTarget};
use crate::store::StoreError;
use actix::prelude::*;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How long a replica's liveness lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(3);
/// How often a replica renews its lease.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);
/// How often a resumed POST stream's runner is checked.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);
/// Most events read back when taking a stream over.
const MAX_REPLAYED: usize = 100_000;

/// What a runner record holds (JSON in the store).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunnerRecord {
    /// The replica running the stream's requests.
    pub replica: String,
    /// The JSON-RPC requests of the POST.
    pub requests: Vec<Value>,
    /// The caller of the POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
}

impl RunnerRecord {
    /// The record as stored.
    pub fn encode(&self) -> Arc<str> {
        Arc::from(serde_json::to_string(self).unwrap_or_default())
    }
}

/// Where the requests of a record not stored yet come from. Most POST streams end before
/// their record would be stored ([`crate::session::runner_gate`]), so the requests are turned
/// into JSON values only when it is: from the POST body they were decoded from (a shared
/// buffer, not a copy), or, for a transport that gives no body, values made at once.
pub(crate) enum RecordedRequests {
    /// The JSON body of the POST (a message or a batch), as received.
    Body(Bytes),
    /// The requests themselves.
    Values(Vec<Value>),
}

impl RecordedRequests {
    /// The requests among `messages`, decoded from `body` when the record is stored if there
    /// is one.
    pub(crate) fn of(body: Option<&Bytes>, messages: &[Message]) -> Self {
        match body {
            Some(body) => Self::Body(body.clone()),
            None => Self::Values(request_values(messages)),
        }
    }

    /// The requests as the record holds them.
    pub(crate) fn into_values(self) -> Vec<Value> {
        match self {
            Self::Values(values) => values,
            Self::Body(body) => {
                let decoded = serde_json::from_slice::<Value>(&body)
                    .map_err(|e| e.to_string())
                    .and_then(|v| Payload::from_value(v).map_err(|e| e.message));
                match decoded {
                    Ok(payload) => request_values(payload.messages()),
                    // The same bytes were decoded before the POST was accepted.
                    Err(e) => {
                        tracing::warn!(error = %e, "a runner record's body no longer decodes");
                        Vec::new()
                    }
                }
            }
        }
    }
}

fn request_values(messages: &[Message]) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| m.is_request())
        .map(Message::to_value)
        .collect()
}

/// Renews this replica's lease until the process ends.
pub fn spawn_heartbeat(deps: Arc<SessionDeps>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(BEAT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = deps.runners.beat(&deps.replica, LEASE).await {
                tracing::debug!(error = %e, "could not renew the replica lease");
            }
        }
    });
}

/// What a check of a resumed stream found.
enum Verdict {
    /// Keep watching.
    Watch,
    /// Nothing to do any more (this replica runs it).
    Done,
    /// This replica now owns the stream: finish it.
    Adopted(RunnerRecord),
}

async fn check(deps: &SessionDeps, session: &str, stream: &str) -> Result<Verdict, StoreError> {
    let Some(raw) = deps.runners.runner(session, stream).await? else {
        return Ok(Verdict::Watch);
    };
    let Ok(mut record) = serde_json::from_str::<RunnerRecord>(&raw) else {
        tracing::warn!(session, stream, "ignored an undecodable runner record");
        return Ok(Verdict::Done);
    };
    if record.replica == *deps.replica {
        return Ok(Verdict::Done);
    }
    if deps.runners.alive(&record.replica).await? {
        return Ok(Verdict::Watch);
    }
    let dead = std::mem::replace(&mut record.replica, deps.replica.to_string());
    if !deps
        .runners
        .replace_runner(session, stream, &raw, record.encode())
        .await?
    {
        return Ok(Verdict::Watch);
    }
    tracing::warn!(session, stream, replica = %dead, "took over a stream whose replica stopped renewing its lease");
    Ok(Verdict::Adopted(record))
}

/// What the stream already holds: how many notifications, and which requests were answered.
async fn progress_so_far(
    deps: &SessionDeps,
    session: &str,
    stream: &str,
) -> Result<(u64, HashSet<RequestId>), StoreError> {
    let batch = deps
        .events
        .read_after(session, stream, 0, MAX_REPLAYED)
        .await?;
    let mut notifications = 0;
    let mut answered = HashSet::new();
    for event in batch.events {
        match serde_json::from_str::<Value>(&event.data).map(Message::from_value) {
            Ok(Ok(Message::Notification(_))) => notifications += 1,
            Ok(Ok(Message::Response(r))) => {
                answered.insert(r.id);
            }
            Ok(Ok(Message::Error(e))) => {
                if let Some(id) = e.id {
                    answered.insert(id);
                }
            }
            _ => {}
        }
    }
    Ok((notifications, answered))
}

impl SessionActor {
    /// Watches the runner of a POST stream a client reattached to, while connection `conn` is
    /// attached to it.
    pub(super) fn watch_runner(&mut self, ctx: &mut Context<Self>, stream: String, conn: u64) {
        if self.attached(&stream).map(|c| c.id) != Some(conn) {
            return;
        }
        let deps = Arc::clone(&self.deps);
        let session = Arc::clone(&self.facts.id);
        let work = async move {
            let verdict = check(&deps, &session, &stream).await;
            (stream, verdict)
        };
        ctx.spawn(
            work.into_actor(self)
                .map(move |(stream, verdict), act, ctx| match verdict {
                    Ok(Verdict::Done) => {}
                    Ok(Verdict::Adopted(record)) => act.adopt(ctx, stream, record),
                    Ok(Verdict::Watch) | Err(_) => {
                        ctx.run_later(WATCH_EVERY, move |act, ctx| {
                            act.watch_runner(ctx, stream, conn)
                        });
                    }
                }),
        );
    }

    /// Finishes a stream taken over from a dead replica.
    fn adopt(&mut self, ctx: &mut Context<Self>, stream: String, record: RunnerRecord) {
        let deps = Arc::clone(&self.deps);
        let session = Arc::clone(&self.facts.id);
        let name = stream.clone();
        let read = async move { progress_so_far(&deps, &session, &name).await };
        ctx.spawn(read.into_actor(self).map(move |found, act, ctx| {
            let (skip, answered) = match found {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(stream = %stream, error = %e, "could not read a stream taken over");
                    return;
                }
            };
            let pending: Vec<Request> = record
                .requests
                .iter()
                .filter_map(|v| match Message::from_value(v.clone()) {
                    Ok(Message::Request(r)) if !answered.contains(&r.id) => Some(r),
                    _ => None,
                })
                .collect();
            let writer = act.writer(&stream).skipping(skip);
            if pending.is_empty() {
                ctx.spawn(
                    async move {
                        let _ = writer.close().await;
                    }
                    .into_actor(act),
                );
                return;
            }
            let post = Arc::new(PostStream::new(writer, pending.len()));
            for req in pending {
                let target = ReplyTarget::Stream(Arc::clone(&post));
                if safe_to_repeat(&act.deps.server.registry, &req) {
                    let related = post.writer.clone();
                    act.start_request(ctx, req, target, related, record.principal.clone().map(Arc::new));
                } else {
                    let error = ErrorObject::new(
                        codes::INTERNAL_ERROR,
                        "the replica running this request stopped before it answered; the \
                         request may or may not have taken effect, and it was not run again \
                         (its tool is not marked read-only or idempotent)",
                    );
                    ctx.spawn(target.deliver(req.id, Outcome::Error(error)).into_actor(act));
                }
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decoded(body: &Value) -> (Bytes, Vec<Message>) {
        let bytes = Bytes::from(body.to_string());
        let payload = Payload::from_value(body.clone()).unwrap();
        (bytes, payload.into_messages())
    }

    #[test]
    fn requests_decoded_from_the_body_are_those_made_at_once() {
        let batch = json!([
            {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
             "params": {"name": "echo", "arguments": {"text": "é \"q\""}}},
            {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}},
            {"jsonrpc": "2.0", "id": "r-1", "result": {}},
            {"jsonrpc": "2.0", "id": "s", "method": "ping"}
        ]);
        let (body, messages) = decoded(&batch);
        let eager = RecordedRequests::of(None, &messages).into_values();
        let lazy = RecordedRequests::of(Some(&body), &messages).into_values();
        assert_eq!(
            eager.len(),
            2,
            "the notification and the response are no requests"
        );
        assert_eq!(lazy, eager);
        assert_eq!(lazy[0]["params"]["arguments"]["text"], "é \"q\"");
        assert_eq!(lazy[1]["id"], "s");

        let single = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        let (body, messages) = decoded(&single);
        let lazy = RecordedRequests::of(Some(&body), &messages).into_values();
        assert_eq!(lazy, [single]);
    }
}
