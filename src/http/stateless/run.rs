//! Runs one stateless request through the protocol core and answers it.
//!
//! - The reply is `application/json`, or `text/event-stream` when the request asked for
//!   notifications (`_meta.progressToken` or `io.modelcontextprotocol/logLevel`) and accepts SSE:
//!   progress and log messages of the request, then its response, which ends the stream
//!   (2026-07-28 `streamable-http.mdx`: notifications on a response stream relate to its request;
//!   no requests are ever sent on it).
//! - Closing the connection cancels the request (`cancellation.mdx`: a client disconnect is the
//!   cancellation): a drop guard held by the response fires the request's cancellation token.
//! - `notifications/message` is only sent when the request carried a log level, at or above it.
//! - `tools/call`, `resources/read` and `prompts/get` may end as multi round-trip requests
//!   ([`crate::protocol::mrtr`]): answers come from `inputResponses` and the sealed
//!   `requestState`; a run with unanswered questions ends with an input-required result whose
//!   new `requestState` carries the answers so far; a run that needed an undeclared client
//!   capability ends with `-32021` (HTTP 400).
//! - A task-capable `tools/call` (tasks extension, [`super::tasks`]) may instead be answered
//!   with a `CreateTaskResult` while its handler goes on in the background; the SSE reply then
//!   ends with it, and later notifications of the handler are dropped.

use super::tasks::{self, Ran};
use super::{McpState, bad_request, reply};
use crate::auth::Caller;
use crate::http::{event_stream, sse};
use crate::protocol::context::{ClientPeer, LogLevel, PeerError, RequestContext, RequestInfo};
use crate::protocol::jsonrpc::{ErrorObject, RequestId, codes};
use crate::protocol::mrtr::round::Round;
use crate::protocol::mrtr::state::Sealer;
use crate::protocol::server::{Outcome, ServerInfo};
use crate::protocol::stateless::{self, StatelessRequest};
use crate::protocol::version::ProtocolVersion;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use async_trait::async_trait;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Methods whose reply may stream notifications.
const STREAMING: [&str; 4] = [
    "tools/call",
    "prompts/get",
    "resources/read",
    "completion/complete",
];

/// The client side of a stateless request: notifications go to the SSE reply when there is
/// one (dropped otherwise); there are no server-to-client requests in this revision.
struct StatelessPeer {
    tx: Option<mpsc::UnboundedSender<Value>>,
    log_level: Option<LogLevel>,
}

#[async_trait]
impl ClientPeer for StatelessPeer {
    async fn notify(&self, method: &str, params: Value) -> Result<(), PeerError> {
        if method == "notifications/message" && self.log_level.is_none() {
            return Ok(());
        }
        if let Some(tx) = &self.tx {
            // The stream may be gone (client disconnected): the request is being cancelled.
            let _ = tx.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
        }
        Ok(())
    }

    async fn request(&self, method: &str, _params: Value) -> Result<Value, PeerError> {
        Err(PeerError::Delivery(format!(
            "{method} cannot be sent to a stateless (2026-07-28) client outside tools/call, \
             resources/read and prompts/get"
        )))
    }

    fn log_level(&self) -> LogLevel {
        self.log_level.unwrap_or(LogLevel::Emergency)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn wants_sse(req: &HttpRequest, state: &McpState, valid: &StatelessRequest) -> bool {
    use crate::config::ResponseMode;
    if !STREAMING.contains(&valid.request.method.as_str()) {
        return false;
    }
    let accepts = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    let notifies = valid.log_level.is_some()
        || crate::protocol::jsonrpc::member(&valid.request.params, &["_meta", "progressToken"])
            .is_some();
    accepts
        && match state.settings.protocol.response_mode {
            ResponseMode::Json => false,
            ResponseMode::Sse => true,
            ResponseMode::Auto => notifies,
        }
}

/// What a finished run answers: the HTTP status (for JSON replies) and the message.
fn finish(
    sealer: &Sealer,
    server: &ServerInfo,
    id: &RequestId,
    method: &str,
    outcome: Outcome,
    round: Option<&Round>,
) -> (StatusCode, Value) {
    match round.and_then(|r| r.end(sealer, now_secs())) {
        Some(Err(missing)) => {
            return (
                StatusCode::BAD_REQUEST,
                stateless::error_message(Some(id), &missing),
            );
        }
        Some(Ok(input_required)) => {
            let result = stateless::input_required(input_required, &server.name, &server.version);
            return (
                StatusCode::OK,
                json!({"jsonrpc": "2.0", "id": id, "result": result}),
            );
        }
        None => {}
    }
    let body = match outcome {
        Outcome::Result(result) => json!({
            "jsonrpc": "2.0",
            "id": id,
            "result": stateless::complete(method, result, &server.name, &server.version),
        }),
        Outcome::Error(e) => stateless::error_message(Some(id), &stateless::modern_error(e)),
        Outcome::Cancelled => stateless::error_message(
            Some(id),
            &ErrorObject::new(codes::REQUEST_CANCELLED, "cancelled"),
        ),
    };
    (StatusCode::OK, body)
}

/// Runs a validated request and builds its reply.
pub async fn run(
    req: &HttpRequest,
    state: &McpState,
    caller: Caller,
    valid: StatelessRequest,
) -> HttpResponse {
    let principal = caller.into_principal();
    let sub = principal
        .as_ref()
        .map(|p| p.binding_key())
        .unwrap_or_default();
    let id = valid.request.id.clone();
    let round = match Round::begin(
        &state.stateless.sealer,
        &valid.request.method,
        &valid.request.params,
        sub,
        now_secs(),
    ) {
        Ok(r) => r,
        Err(e) => return bad_request(Some(&id), &e),
    };
    let sse = wants_sse(req, state, &valid);
    let (tx, rx) = if sse {
        let (tx, rx) = mpsc::unbounded_channel();
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let peer = Arc::new(StatelessPeer {
        tx: tx.clone(),
        log_level: valid.log_level,
    });
    let info = RequestInfo {
        request_id: id.clone(),
        session_id: None,
        // The stateless revision builds on the latest session-era rules (structured output,
        // tool errors as results).
        protocol_version: ProtocolVersion::LATEST,
        client_capabilities: Arc::new(valid.client_capabilities.clone()),
        principal,
    };
    let cancel = CancellationToken::new();
    let mut ctx = RequestContext::new(info, &valid.request.params, cancel.clone(), peer);
    if let Some(round) = &round {
        ctx = ctx.with_inputs(Arc::clone(&round.inputs));
    }
    // Tasks extension: a task-capable call may end as a task (`super::tasks`).
    let launch = round
        .as_ref()
        .and_then(|r| tasks::launch(state, &valid, &ctx, &r.inputs, r.sub()));
    let server = state.sessions.server().clone();
    let method = valid.request.method.clone();
    let params = valid.request.params.clone();
    let timeout = Duration::from_secs(state.settings.session.request_timeout_secs.max(1));
    let task_id = id.clone();
    let work = async move {
        let ran = async {
            match launch {
                Some(launch) => tasks::run_launch(launch, &task_id, &server.info).await,
                None => Ran::Outcome(server.handle(ctx, &method, params).await),
            }
        };
        match tokio::time::timeout(timeout, ran).await {
            Ok(ran) => ran,
            Err(_) => Ran::Outcome(Outcome::Error(ErrorObject::internal(format!(
                "the request did not finish within {} s",
                timeout.as_secs()
            )))),
        }
    };
    let guard = cancel.drop_guard();
    let sealer = Arc::clone(&state.stateless.sealer);
    let info = state.sessions.server().info.clone();
    let method = valid.request.method;
    let (Some(tx), Some(rx)) = (tx, rx) else {
        let ran = work.await;
        drop(guard.disarm());
        let (status, body) = match ran {
            Ran::Outcome(outcome) => finish(&sealer, &info, &id, &method, outcome, round.as_ref()),
            Ran::Reply(status, body) => (status, body),
        };
        return reply(status, body);
    };
    actix_web::rt::spawn(async move {
        let body = match work.await {
            Ran::Outcome(outcome) => {
                finish(&sealer, &info, &id, &method, outcome, round.as_ref()).1
            }
            Ran::Reply(_, body) => body,
        };
        let _ = tx.send(body);
    });
    sse_reply(rx, guard).await
}

/// The SSE reply: the request's notifications, then its response. The head waits for the first
/// message up to [`sse::HEAD_HOLD`], so a quick reply leaves in one write with it.
async fn sse_reply(
    rx: mpsc::UnboundedReceiver<Value>,
    guard: tokio_util::sync::DropGuard,
) -> HttpResponse {
    // The stream ends after the response (a task's handler may outlive it and hold a sender).
    let messages = futures_util::stream::unfold(Some((rx, guard)), |open| async move {
        let (mut rx, guard) = open?;
        let message = rx.recv().await?;
        let last = message.get("id").is_some();
        Some((message, (!last).then_some((rx, guard))))
    })
    .boxed();
    let (head, rest) = sse::held_head(messages, sse::HEAD_HOLD, |_| true).await;
    let to_event = |message: Value| event_stream::named_message(message.to_string());
    event_stream::respond(
        None,
        head.into_iter().map(to_event).collect(),
        rest.map(to_event),
    )
}
