//! The stateless lane of MCP 2026-07-28 over stdio (`basic/transports/stdio.mdx`): a request
//! whose `params._meta` names `io.modelcontextprotocol/protocolVersion` is served without the
//! session, like the same request on the HTTP endpoint. stdio has no header layer ("all request
//! metadata for the stdio transport is carried inline"), so the header checks of
//! [`stateless::validate`] are satisfied from the body itself and only the body rules apply.
//!
//! Notifications about the request (progress, log messages at or above the `_meta` log level)
//! go to stdout before its response. Not here yet: multi round-trip (`input_required`) results
//! and `subscriptions/listen`; a tool that needs client input gets an error result.

use super::output::Output;
use crate::protocol::context::{ClientPeer, LogLevel, PeerError, RequestContext, RequestInfo};
use crate::protocol::jsonrpc::{Request, notification_value};
use crate::protocol::server::{McpServer, Outcome};
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

/// Serves one stateless request and writes its response (or error) to `out`.
pub async fn serve(server: &McpServer, out: &Output, request: Request, cancel: CancellationToken) {
    let id = request.id.clone();
    let meta_version = request
        .params
        .pointer("/_meta/io.modelcontextprotocol~1protocolVersion")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let name = match request.method.as_str() {
        "tools/call" | "prompts/get" => request.params.get("name"),
        "resources/read" => request.params.get("uri"),
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
        let ctx = RequestContext::new(info, &request.params, cancel, peer);
        server
            .handle(ctx, &request.method, request.params.clone())
            .await
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
