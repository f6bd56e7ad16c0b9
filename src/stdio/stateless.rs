//! The stateless lane of MCP 2026-07-28 over stdio (`basic/transports/stdio.mdx`): a request
//! whose `params._meta` names `io.modelcontextprotocol/protocolVersion` is served without the
//! session, like the same request on the HTTP endpoint. stdio has no header layer ("all request
//! metadata for the stdio transport is carried inline"), so the header checks of
//! [`stateless::validate`] are satisfied from the body itself and only the body rules apply.
//!
//! Notifications about the request (progress, log messages at or above the `_meta` log level)
//! go to stdout before its response. Multi round-trip requests work as on HTTP
//! ([`crate::protocol::mrtr::round`]; the process's own sealer). `subscriptions/listen` shares
//! stdout with everything else, so every message of a subscription carries its id
//! (`patterns/subscriptions.mdx` §stdio); `notifications/cancelled` for the listen request ends
//! it without a response, and end of input ends it with the completion result.

use super::output::Output;
use crate::protocol::context::{ClientPeer, LogLevel, PeerError, RequestContext, RequestInfo};
use crate::protocol::jsonrpc::{Request, notification_value};
use crate::protocol::mrtr::round::Round;
use crate::protocol::mrtr::state::Sealer;
use crate::protocol::server::{McpServer, Outcome};
use crate::protocol::stateless::listen::{Filter, completion};
use crate::protocol::stateless::{self, Failure, Headers};
use crate::protocol::version::ProtocolVersion;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The client side of one stateless request over stdio.
struct StdioPeer {
    out: Output,
    level: Option<LogLevel>,
}

#[async_trait]
impl ClientPeer for StdioPeer {
    async fn notify(&self, method: &str, params: Value) -> Result<(), PeerError> {
        self.out.send(&notification_value(method, params)).await;
        Ok(())
    }

    async fn request(&self, method: &str, _params: Value) -> Result<Value, PeerError> {
        Err(PeerError::Delivery(format!(
            "{method} is not available to stateless (2026-07-28) requests over stdio"
        )))
    }

    fn log_level(&self) -> LogLevel {
        // Without a `_meta` log level the client gets no log notifications.
        self.level.unwrap_or(LogLevel::Emergency)
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a stateless request over stdio needs besides itself.
#[derive(Clone)]
pub struct Lane {
    /// Seals `requestState`.
    pub sealer: Arc<Sealer>,
    /// Cancelled at end of input: subscriptions answer with their completion result.
    pub ending: CancellationToken,
}

/// Serves one stateless request and writes its response (or error) to `out`.
pub async fn serve(
    server: &McpServer,
    lane: &Lane,
    out: &Output,
    request: Request,
    cancel: CancellationToken,
) {
    let id = request.id.clone();
    let meta_version = request
        .params
        .pointer("/_meta/io.modelcontextprotocol~1protocolVersion")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let name = match request.method.as_str() {
        "tools/call" | "prompts/get" => request.params.get("name"),
        "resources/read" => request.params.get("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => request.params.get("taskId"),
        _ => None,
    }
    .and_then(Value::as_str)
    .map(str::to_owned);
    let method = request.method.clone();
    // No headers on stdio: the body is the only source, so the mirrors always agree with it.
    let headers = Headers {
        version: Some(meta_version.as_deref().unwrap_or_default()),
        method: Some(&method),
        name: name.as_deref(),
    };
    let valid = match stateless::validate(headers, request) {
        Ok(v) => v,
        Err(Failure::Invalid(e) | Failure::UnknownMethod(e)) => {
            out.send(&stateless::error_message(Some(&id), &e)).await;
            return;
        }
    };
    let request = valid.request;
    if request.method == "subscriptions/listen" {
        return listen(server, lane, out, &request, cancel).await;
    }
    let round = match Round::begin(
        &lane.sealer,
        &request.method,
        &request.params,
        String::new(),
        now_secs(),
    ) {
        Ok(r) => r,
        Err(e) => {
            out.send(&stateless::error_message(Some(&id), &e)).await;
            return;
        }
    };
    let outcome = if request.method == "server/discover" {
        Outcome::Result(server.discover_result())
    } else {
        let info = RequestInfo {
            request_id: request.id.clone(),
            session_id: None,
            protocol_version: ProtocolVersion::LATEST,
            client_capabilities: Arc::new(valid.client_capabilities),
            principal: None,
        };
        let peer = Arc::new(StdioPeer {
            out: out.clone(),
            level: valid.log_level,
        });
        let mut ctx = RequestContext::new(info, &request.params, cancel, peer);
        if let Some(round) = &round {
            ctx = ctx.with_inputs(Arc::clone(&round.inputs));
        }
        server
            .handle(ctx, &request.method, request.params.clone())
            .await
    };
    let (name, version) = (&server.info.name, &server.info.version);
    let instead = round.as_ref().and_then(|r| r.end(&lane.sealer, now_secs()));
    let outcome = match instead {
        Some(Ok(input_required)) => {
            let result = stateless::input_required(input_required, name, version);
            out.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
                .await;
            return;
        }
        Some(Err(e)) => Outcome::Error(e),
        None => outcome,
    };
    let message = match outcome {
        Outcome::Result(result) => json!({
            "jsonrpc": "2.0",
            "id": id,
            "result": stateless::complete(&request.method, result, &server.info.name, &server.info.version),
        }),
        Outcome::Error(e) => stateless::error_message(Some(&id), &stateless::modern_error(e)),
        // A cancelled request gets no response (2026-07-28 `patterns/cancellation.mdx`).
        Outcome::Cancelled => {
            out.forget(&id);
            return;
        }
    };
    out.send(&message).await;
}

/// `subscriptions/listen` over stdio: the acknowledgment, then the requested notifications
/// until the client cancels the request (no response) or input ends (completion result).
async fn listen(
    server: &McpServer,
    lane: &Lane,
    out: &Output,
    request: &Request,
    cancel: CancellationToken,
) {
    let id = request.id.clone();
    let filter = match Filter::parse(&request.params) {
        Ok(f) => f,
        Err(e) => {
            out.send(&stateless::error_message(Some(&id), &e)).await;
            return;
        }
    };
    let mut events = server.registry.subscribe();
    out.send(&filter.acknowledgment(&id)).await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => {
                out.forget(&id);
                return;
            }
            () = lane.ending.cancelled() => break,
            received = events.recv() => match received {
                Ok(event) => {
                    if let Some(n) = filter.notification(&event, &id) {
                        out.send(&n).await;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "a stdio subscription lagged");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    out.send(&completion(&id)).await;
}
