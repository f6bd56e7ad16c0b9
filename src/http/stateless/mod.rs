//! The stateless lane of MCP 2026-07-28 on the MCP endpoint: a POST without `Mcp-Session-Id`
//! whose version header is not a session-era revision, or whose `params._meta` names a protocol
//! version, is answered here without a session (`basic/transports/streamable-http.mdx`,
//! `basic/versioning.mdx` "dual-era" servers).
//!
//! The request is authenticated like any other (the [`Caller`] extractor ran before), validated
//! by [`crate::protocol::stateless`] (headers, `_meta`, version, method; `Mcp-Param-*` against
//! the tool's `x-mcp-header` arguments), then:
//! - `server/discover` is answered at once;
//! - `subscriptions/listen` opens a notification stream ([`listen`]);
//! - `tasks/get`, `tasks/update`, `tasks/cancel` of the tasks extension are served by
//!   [`tasks`], which also decides whether a `tools/call` may become a task;
//! - everything else runs through the protocol core ([`run`]): JSON, or SSE when the request
//!   asked for progress or log notifications; multi round-trip requests end with an
//!   input-required result carrying a sealed `requestState`.
//!
//! Status codes: 200 with the result (or a handler's JSON-RPC error), 400 for invalid requests
//! (`-32600`, `-32602`, `-32020`, `-32021`, `-32022`), 404 with `-32601` for unknown or removed
//! methods, 202 for notifications.

mod listen;
mod run;
mod tasks;

use crate::auth::{Authenticator, Caller};
use crate::http::McpState;
use crate::http::error::HttpError;
use crate::protocol::jsonrpc::{ErrorObject, Message, RequestId};
use crate::protocol::mrtr::state::Sealer;
use crate::protocol::stateless::{self, Failure, Headers, errors, params};
use crate::protocol::tasks::service::TaskService;
use actix_web::http::StatusCode;
use actix_web::http::header::{AsHeaderName, HeaderName};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;
use std::sync::Arc;

/// What the lane needs besides the session registry: the `requestState` sealer (its key is
/// shared by every replica through configuration) and the task service.
pub struct StatelessLane {
    /// Seals and opens `requestState`.
    pub sealer: Arc<Sealer>,
    /// The tasks extension (`io.modelcontextprotocol/tasks`): task records and their runs.
    pub tasks: TaskService,
}

/// `Mcp-Method` and `Mcp-Name` (2026-07-28 standard headers) as header names: a lookup by
/// `&str` parses and copies the name every time (see [`crate::http::headers::SESSION_ID_NAME`]).
const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

fn header(req: &HttpRequest, name: impl AsHeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A JSON reply of the lane.
pub(crate) fn reply(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// A `400 Bad Request` with a JSON-RPC error.
pub(crate) fn bad_request(id: Option<&RequestId>, e: &ErrorObject) -> HttpResponse {
    reply(StatusCode::BAD_REQUEST, stateless::error_message(id, e))
}

/// Serves one stateless POST (its body already parsed as JSON).
pub async fn post(
    req: &HttpRequest,
    caller: Caller,
    auth: &web::Data<Authenticator>,
    body: Value,
    state: &McpState,
) -> Result<HttpResponse, HttpError> {
    let message = match Message::from_value(body) {
        Ok(m) => m,
        Err(e) => return Ok(bad_request(None, &e)),
    };
    let request = match message {
        Message::Request(r) => r,
        Message::Notification(_) => return Ok(HttpResponse::Accepted().finish()),
        Message::Response(_) | Message::Error(_) => {
            let e = ErrorObject::invalid_request(
                "a stateless POST carries a request or a notification, not a response",
            );
            return Ok(bad_request(None, &e));
        }
    };
    let id = request.id.clone();
    let headers = Headers {
        version: header(req, &crate::http::headers::PROTOCOL_VERSION_NAME),
        method: header(req, &MCP_METHOD),
        name: header(req, &MCP_NAME),
    };
    let valid = match stateless::validate(headers, request) {
        Ok(v) => v,
        Err(Failure::Invalid(e)) => return Ok(bad_request(Some(&id), &e)),
        Err(Failure::UnknownMethod(e)) => {
            return Ok(reply(
                StatusCode::NOT_FOUND,
                stateless::error_message(Some(&id), &e),
            ));
        }
    };
    let server = state.sessions.server();
    if valid.request.method == "tools/call"
        && let Some(tool) = valid.request.params.get("name").and_then(Value::as_str)
        && let Some(def) = server.registry.tool(tool)
    {
        if let Err(r) = auth.authorize_tool(&caller, tool, &def.required_scopes) {
            return Err(r.for_request(Some(serde_json::json!(id)), true).into());
        }
        if let Some(refused) = tasks::refuse_required(&def, &valid) {
            return Ok(refused);
        }
        let declared = params::declared(&def.input_schema);
        let arguments = valid
            .request
            .params
            .get("arguments")
            .cloned()
            .unwrap_or(Value::Null);
        if let Err(m) = params::check(&declared, &arguments, |n| header(req, n)) {
            return Ok(bad_request(
                Some(&id),
                &ErrorObject::new(errors::HEADER_MISMATCH, m),
            ));
        }
    } else if valid.request.method == "tools/call" {
        // Unknown tools still need the scopes configured for every tool.
        let tool = valid
            .request
            .params
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Err(r) = auth.authorize_tool(&caller, tool, &[]) {
            return Err(r.for_request(Some(serde_json::json!(id)), true).into());
        }
    }
    let token_lifetime = caller.token_lifetime();
    match valid.request.method.as_str() {
        "server/discover" => {
            let mut discovered = server.discover_result();
            tasks::advertise(&mut discovered);
            let result = stateless::complete(
                "server/discover",
                discovered,
                &server.info.name,
                &server.info.version,
            );
            Ok(reply(
                StatusCode::OK,
                serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result}),
            ))
        }
        "subscriptions/listen" => {
            let owner = caller
                .principal()
                .map(|p| p.binding_key())
                .unwrap_or_default();
            Ok(listen::open(req, state, &valid, owner, token_lifetime).await)
        }
        "tasks/get" | "tasks/update" | "tasks/cancel" => {
            Ok(tasks::serve(state, caller, valid).await)
        }
        _ => Ok(run::run(req, state, caller, valid).await),
    }
}
