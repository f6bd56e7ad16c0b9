//! The stateless lane of MCP 2026-07-28 on the MCP endpoint: a POST without `Mcp-Session-Id`
//! whose version header is not a session-era revision, or whose `params._meta` names a protocol
//! version, is answered here without a session (`basic/transports/streamable-http.mdx`,
//! `basic/versioning.mdx` "dual-era" servers). The request is authenticated like any other
//! (the [`Caller`] extractor ran before), validated by [`crate::protocol::stateless`], run by the
//! protocol core, and answered as JSON: 200 with the result (or a handler's JSON-RPC error), 400
//! for invalid requests, 404 for unknown methods, 202 for notifications.
//!
//! First step of issue 6: no `subscriptions/listen`, no multi-round-trip results, no SSE
//! replies (progress and log notifications are not sent), no `Mcp-Param-*` checks yet.

use crate::auth::{Authenticator, Caller};
use crate::http::McpState;
use crate::http::error::HttpError;
use crate::protocol::context::{ClientPeer, LogLevel, PeerError, RequestContext, RequestInfo};
use crate::protocol::jsonrpc::{ErrorObject, Message};
use crate::protocol::server::Outcome;
use crate::protocol::stateless::{self, Failure, Headers};
use crate::protocol::version::ProtocolVersion;
use actix_web::{HttpRequest, HttpResponse, web};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The peer of a stateless JSON reply: notifications have nowhere to go, and server-to-client
/// requests do not exist in this revision (they become `input_required` results).
struct NoPeer;

#[async_trait]
impl ClientPeer for NoPeer {
    async fn notify(&self, _method: &str, _params: Value) -> Result<(), PeerError> {
        Ok(())
    }

    async fn request(&self, method: &str, _params: Value) -> Result<Value, PeerError> {
        Err(PeerError::Delivery(format!(
            "{method} cannot be sent to a stateless (2026-07-28) client"
        )))
    }

    fn log_level(&self) -> LogLevel {
        LogLevel::Emergency
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn reply(status: actix_web::http::StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// Serves one stateless POST (its body already parsed as JSON).
pub async fn post(
    req: &HttpRequest,
    caller: Caller,
    auth: &web::Data<Authenticator>,
    body: Value,
    state: &McpState,
) -> Result<HttpResponse, HttpError> {
    use actix_web::http::StatusCode;
    let message = match Message::from_value(body) {
        Ok(m) => m,
        Err(e) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                stateless::error_message(None, &e),
            ));
        }
    };
    let request = match message {
        Message::Request(r) => r,
        Message::Notification(_) => return Ok(HttpResponse::Accepted().finish()),
        Message::Response(_) | Message::Error(_) => {
            let e = ErrorObject::invalid_request(
                "a stateless POST carries a request or a notification, not a response",
            );
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                stateless::error_message(None, &e),
            ));
        }
    };
    let id = request.id.clone();
    let headers = Headers {
        version: header(req, "mcp-protocol-version"),
        method: header(req, "mcp-method"),
        name: header(req, "mcp-name"),
    };
    let valid = match stateless::validate(headers, request) {
        Ok(v) => v,
        Err(Failure::Invalid(e)) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                stateless::error_message(Some(&id), &e),
            ));
        }
        Err(Failure::UnknownMethod(e)) => {
            return Ok(reply(
                StatusCode::NOT_FOUND,
                stateless::error_message(Some(&id), &e),
            ));
        }
    };
    let request = valid.request;
    if request.method == "tools/call"
        && let Some(tool) = request.params.get("name").and_then(Value::as_str)
    {
        let declared = state
            .sessions
            .server()
            .registry
            .tool(tool)
            .map(|t| t.required_scopes.clone())
            .unwrap_or_default();
        auth.authorize_tool(&caller, tool, &declared)?;
    }
    let server = state.sessions.server();
    let outcome = if request.method == "server/discover" {
        Outcome::Result(server.discover_result())
    } else {
        let info = RequestInfo {
            request_id: request.id.clone(),
            session_id: None,
            // The stateless revision builds on the latest session-era rules (structured
            // output, tool errors as results).
            protocol_version: ProtocolVersion::LATEST,
            client_capabilities: Arc::new(valid.client_capabilities),
            principal: caller.into_principal(),
        };
        let ctx = RequestContext::new(
            info,
            &request.params,
            CancellationToken::new(),
            Arc::new(NoPeer),
        );
        server
            .handle(ctx, &request.method, request.params.clone())
            .await
    };
    let body = match outcome {
        Outcome::Result(result) => json!({
            "jsonrpc": "2.0",
            "id": id,
            "result": stateless::complete(&request.method, result, &server.info.name, &server.info.version),
        }),
        Outcome::Error(e) => stateless::error_message(Some(&id), &e),
        Outcome::Cancelled => {
            let e = ErrorObject::new(
                crate::protocol::jsonrpc::codes::REQUEST_CANCELLED,
                "cancelled",
            );
            stateless::error_message(Some(&id), &e)
        }
    };
    Ok(reply(StatusCode::OK, body))
}
