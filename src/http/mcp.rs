//! The MCP endpoint of the session era (2025-03-26, 2025-06-18, 2025-11-25
//! `basic/transports.mdx`, "Streamable HTTP"):
//!
//! - `POST`: one JSON-RPC message (or, for 2025-03-26 sessions, a batch). `initialize` creates a
//!   session and returns its `Mcp-Session-Id`; notifications and responses get 202 with no body;
//!   requests are answered as JSON or as an SSE stream.
//! - `GET`: opens the standalone SSE stream, or resumes any stream with `Last-Event-ID`.
//! - `DELETE`: ends the session; later requests with its id get 404.
//!
//! A POST without a session whose version header or `_meta` names the stateless revision
//! (2026-07-28) goes to [`crate::http::stateless`] instead.
//!
//! Every handler takes a [`Caller`]: the request is authenticated before anything else is read
//! (2025-06-18+ `basic/authorization.mdx`), the session is bound to the principal that created
//! it (another principal's requests get 404, like an unknown session), `tools/call` checks the
//! tool's scopes (403 `insufficient_scope`), and SSE connections end when the token expires.

use crate::auth::{Authenticator, Caller};
use crate::config::ResponseMode;
use crate::http::McpState;
use crate::http::access_log::{tag, tag_rpc};
use crate::http::error::HttpError;
use crate::http::headers;
use crate::http::sse::{StreamRequest, respond};
use crate::protocol::effects::reads_only;
use crate::protocol::jsonrpc::{
    ErrorObject, Message, Payload, Request, error_value, response_value,
};
use crate::protocol::server::parse_initialize;
use crate::protocol::stateless::selects_stateless;
use crate::protocol::version::ProtocolVersion;
use crate::session::event_id::STANDALONE_STREAM;
use crate::session::{Check, NewSession, Parcel, PostReply, ReplyMode, SessionHandle};
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::Value;
use std::sync::Arc;

/// Methods answered over SSE in `auto` mode: those that may send progress, logs or
/// server-to-client requests before their result.
const STREAMING_METHODS: [&str; 3] = ["tools/call", "prompts/get", "resources/read"];

/// `POST /mcp`.
pub async fn post(
    req: HttpRequest,
    caller: Caller,
    auth: web::Data<Authenticator>,
    payload: web::Payload,
    state: web::Data<McpState>,
) -> Result<HttpResponse, HttpError> {
    let session_id = tag_session(&req, &caller);
    headers::require_json_content_type(&req)?;
    headers::require_post_accept(&req)?;
    let session_id = session_id?;
    let body = read_body(&req, payload, state.settings.server.max_body_bytes).await?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| HttpError::BadRequest(ErrorObject::parse_error(e)))?;
    tag_rpc(&req, &value);
    let raw_version = req
        .headers()
        .get(&headers::PROTOCOL_VERSION_NAME)
        .and_then(|v| v.to_str().ok());
    if session_id.is_none() && selects_stateless(raw_version, &value) {
        return crate::http::stateless::post(&req, caller, &auth, value, &state).await;
    }
    let header_version = headers::protocol_version(&req)?;
    let payload = Payload::from_value(value).map_err(HttpError::BadRequest)?;
    tag(&req, |t| {
        t.session.clone_from(&session_id);
        t.mcp_method = Some(match &payload {
            Payload::Batch(_) => "batch".to_owned(),
            Payload::Single(m) => m.method().unwrap_or("response").to_owned(),
        });
    });
    for message in payload.messages() {
        authorize_call(&state, &auth, &caller, message)?;
    }

    if let Payload::Single(Message::Request(r)) = &payload
        && r.method == "initialize"
    {
        if session_id.is_some() {
            return Err(HttpError::BadRequest(ErrorObject::invalid_request(
                "initialize must be sent without an Mcp-Session-Id header",
            )));
        }
        return initialize(&req, &state, r, caller).await;
    }
    if payload
        .messages()
        .iter()
        .any(|m| m.method() == Some("initialize"))
    {
        return Err(HttpError::BadRequest(ErrorObject::invalid_request(
            "initialize must not be part of a JSON-RPC batch",
        )));
    }

    let session_id = session_id
        .ok_or_else(|| HttpError::bad_request("Bad Request: Mcp-Session-Id header is required"))?;
    let mode = reply_mode(state.settings.protocol.response_mode, payload.messages());
    let check = session_check(&state, mode, payload.messages());
    let found = state
        .sessions
        .find(&session_id, caller.principal(), check)
        .await?;
    let (handle, unconfirmed) = (found.handle, found.unconfirmed);
    let batch = matches!(payload, Payload::Batch(_));
    // Batches: only when the negotiated (or, header-less, default) version is 2025-03-26.
    let batch_version = header_version
        .unwrap_or(handle.version())
        .min(handle.version());
    if batch && !batch_version.allows_batches() {
        return Err(HttpError::BadRequest(ErrorObject::invalid_request(
            format!(
                "JSON-RPC batches are not supported in protocol version {}",
                handle.version()
            ),
        )));
    }
    let messages = payload.into_messages();
    let prime = handle.version().sends_priming_event();
    let (parcel, principal) = (
        Parcel::decoded_from(messages, body),
        caller.shared_principal(),
    );
    let reply = state
        .sessions
        .with_retry(handle, |h| {
            let (parcel, principal) = (parcel.clone(), principal.clone());
            async move { h.post(parcel, mode, principal).await }
        })
        .await?;
    match reply {
        PostReply::Accepted => Ok(HttpResponse::Accepted().finish()),
        PostReply::Json(receivers) => {
            let mut values = Vec::with_capacity(receivers.len());
            for rx in receivers {
                values.push(rx.await.map_err(|_| {
                    // Only an ended session drops a reply: it was deleted meanwhile.
                    HttpError::SessionNotFound
                })?);
            }
            let body = if batch {
                Value::Array(values)
            } else {
                values.pop().unwrap_or(Value::Null)
            };
            Ok(HttpResponse::Ok().json(body))
        }
        PostReply::Stream { stream, connection } => {
            respond(
                &state,
                StreamRequest {
                    session: session_id,
                    stream,
                    after: Some(0),
                    prime,
                    connection,
                    fresh: true,
                    unconfirmed,
                    token_lifetime: caller.token_lifetime(),
                },
            )
            .await
        }
    }
}

/// Records the session header (when well-formed) and the caller for the access log before any
/// other check can fail, and returns the parsed header for the handler (parsed once: 400 when
/// malformed, to be raised after the checks that come first).
fn tag_session(req: &HttpRequest, caller: &Caller) -> Result<Option<String>, HttpError> {
    let session = headers::session_id(req);
    let tagged = session.as_ref().ok().and_then(Clone::clone);
    let who = caller
        .principal()
        .and_then(|p| p.subject.clone().or_else(|| p.client_id.clone()));
    tag(req, |t| {
        t.session = tagged;
        t.caller = who;
    });
    session
}

fn reply_mode(mode: ResponseMode, messages: &[Message]) -> ReplyMode {
    match mode {
        ResponseMode::Json => ReplyMode::Json,
        ResponseMode::Sse => ReplyMode::Sse,
        ResponseMode::Auto => {
            let streams = messages.iter().any(|m| match m {
                Message::Request(r) => STREAMING_METHODS.contains(&r.method.as_str()),
                _ => false,
            });
            if streams {
                ReplyMode::Sse
            } else {
                ReplyMode::Json
            }
        }
    }
}

/// How the session of a POST is confirmed to still exist (with a shared store and
/// `session.verify_each_request`): by the store's write of the reply when every message is a
/// request that changes nothing ([`reads_only`]) answered over SSE — one Redis round trip per
/// such call instead of two — and before the messages run otherwise (a JSON reply is not
/// stored; a notification or response takes effect at once).
fn session_check(state: &McpState, mode: ReplyMode, messages: &[Message]) -> Check {
    if mode != ReplyMode::Sse {
        return Check::First;
    }
    let registry = &state.sessions.server().registry;
    let reads_only = messages.iter().all(|m| match m {
        Message::Request(r) => reads_only(registry, r),
        _ => false,
    });
    if reads_only {
        Check::ByReply
    } else {
        Check::First
    }
}

async fn initialize(
    req: &HttpRequest,
    state: &McpState,
    r: &Request,
    caller: Caller,
) -> Result<HttpResponse, HttpError> {
    let requested = match parse_initialize(&r.params) {
        Ok(v) => v,
        Err(e) => return Ok(HttpResponse::Ok().json(error_value(Some(&r.id), &e))),
    };
    let version = ProtocolVersion::negotiate(requested);
    let handle = state
        .sessions
        .create(NewSession {
            version,
            client_info: r.params.get("clientInfo").cloned().unwrap_or(Value::Null),
            client_capabilities: r.params.get("capabilities").cloned().unwrap_or(Value::Null),
            principal: caller.into_principal().map(Arc::unwrap_or_clone),
        })
        .await?;
    tag(req, |t| {
        t.session = Some(handle.id().to_owned());
        t.protocol_version = Some(version.as_str().to_owned());
    });
    tracing::info!(session = handle.id(), version = %version, requested, "session created");
    let result = state.sessions.server().initialize_result(version);
    Ok(HttpResponse::Ok()
        .insert_header((headers::SESSION_ID_NAME, handle.id()))
        .json(response_value(&r.id, result)))
}

/// A `tools/call` needs the tool's scopes: the configured ones and those the tool declares
/// (403 `insufficient_scope` otherwise); other messages need nothing beyond the endpoint scope.
pub(crate) fn authorize_call(
    state: &McpState,
    auth: &Authenticator,
    caller: &Caller,
    message: &Message,
) -> Result<(), crate::auth::Rejection> {
    if let Message::Request(r) = message
        && r.method == "tools/call"
        && let Some(tool) = r.params.get("name").and_then(Value::as_str)
    {
        let declared = state
            .sessions
            .server()
            .registry
            .tool(tool)
            .map(|t| t.required_scopes.clone())
            .unwrap_or_default();
        auth.authorize_tool(caller, tool, &declared)?;
    }
    Ok(())
}

/// Finds the session (404 when unknown, expired, deleted or created by another principal).
async fn resolve(state: &McpState, id: &str, caller: &Caller) -> Result<SessionHandle, HttpError> {
    Ok(state.sessions.get(id, caller.principal()).await?)
}

/// Reads a POST body, refusing more than `limit` bytes (413), by `Content-Length` first.
pub(crate) async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, HttpError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(HttpError::PayloadTooLarge(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            HttpError::bad_request(format!("Bad Request: could not read body: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(HttpError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// `GET /mcp`: the standalone stream, or a resumed stream with `Last-Event-ID`.
pub async fn get(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<McpState>,
) -> Result<HttpResponse, HttpError> {
    let Some(session_id) = tag_session(&req, &caller)? else {
        return Ok(without_session("GET"));
    };
    headers::require_get_accept(&req)?;
    headers::protocol_version(&req)?;
    let last = headers::last_event_id(&req)?;
    tag(&req, |t| {
        t.session = Some(session_id.clone());
        t.mcp_method = Some("GET".into());
        t.last_event_id = last.as_ref().map(ToString::to_string);
    });
    let handle = resolve(&state, &session_id, &caller).await?;
    let (stream, after) = match last {
        None => (STANDALONE_STREAM.to_owned(), None),
        Some(id) => {
            let info = state
                .sessions
                .events()
                .stream_info(&session_id, &id.stream)
                .await?;
            match info {
                Some(info) if id.seq > info.last_seq => {
                    return Err(HttpError::bad_request(
                        "Bad Request: Last-Event-ID is ahead of its stream",
                    ));
                }
                None if id.stream != STANDALONE_STREAM => {
                    return Err(HttpError::bad_request(
                        "Bad Request: Last-Event-ID refers to an unknown stream",
                    ));
                }
                _ => {
                    let stored = info.map_or(0, |i| i.last_seq.saturating_sub(id.seq));
                    tag(&req, |t| t.replayed = Some(stored));
                    (id.stream, Some(id.seq))
                }
            }
        }
    };
    let prime = handle.version().sends_priming_event();
    let connection = state
        .sessions
        .with_retry(handle, |h| {
            let stream = stream.clone();
            async move { h.attach(&stream).await }
        })
        .await?;
    respond(
        &state,
        StreamRequest {
            session: session_id,
            stream,
            after,
            prime,
            connection,
            fresh: false,
            unconfirmed: false,
            token_lifetime: caller.token_lifetime(),
        },
    )
    .await
}

/// `DELETE /mcp`: ends the session.
pub async fn delete(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<McpState>,
) -> Result<HttpResponse, HttpError> {
    let Some(session_id) = tag_session(&req, &caller)? else {
        return Ok(without_session("DELETE"));
    };
    headers::protocol_version(&req)?;
    tag(&req, |t| {
        t.session = Some(session_id.clone());
        t.mcp_method = Some("DELETE".into());
    });
    let handle = resolve(&state, &session_id, &caller).await?;
    // The session's age, for the session-duration metric (best effort: one store read).
    let metered = req
        .app_data::<web::Data<crate::metrics::Metrics>>()
        .is_some();
    let created = match metered {
        true => state.sessions.sessions().load_session(&session_id).await,
        false => Ok(None),
    }
    .ok()
    .flatten()
    .map(|r| r.created_at_ms);
    state
        .sessions
        .with_retry(handle, |h| async move { h.terminate().await })
        .await?;
    if let Some(created) = created {
        let age = crate::store::record::now_ms().saturating_sub(created);
        tag(&req, |t| {
            t.session_lifetime = Some(std::time::Duration::from_millis(age));
        });
    }
    tracing::info!(session = %session_id, "session deleted");
    Ok(HttpResponse::Ok().finish())
}

/// GET or DELETE without `Mcp-Session-Id`: there is nothing to stream or end. 405, as the
/// 2026-07-28 transport asks of GET/DELETE (`streamable-http.mdx` §Backward Compatibility) and
/// the session era allows for a GET the server does not serve (2025-11-25 `transports.mdx`).
fn without_session(method: &str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((actix_web::http::header::ALLOW, "POST"))
        .json(error_value(
            None,
            &ErrorObject::new(
                crate::protocol::jsonrpc::codes::SERVER_ERROR,
                format!(
                    "Method Not Allowed: {method} needs an Mcp-Session-Id (session-era clients); \
                     2026-07-28 clients only POST"
                ),
            ),
        ))
}

/// Any other method on the endpoint.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((actix_web::http::header::ALLOW, "GET, POST, DELETE, OPTIONS"))
        .json(error_value(
            None,
            &ErrorObject::new(
                crate::protocol::jsonrpc::codes::SERVER_ERROR,
                "Method Not Allowed",
            ),
        ))
}
