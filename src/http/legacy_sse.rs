//! The HTTP+SSE transport of MCP 2024-11-05 (`basic/transports.mdx`, "HTTP with SSE"), kept for
//! old clients beside the Streamable HTTP endpoint as 2025-11-25 `basic/transports.mdx`
//! ("Backwards Compatibility") suggests:
//!
//! - `GET <base>/sse` opens a session (before `initialize`, [`SessionRegistry::open`]) and
//!   answers with an SSE stream whose first event is `endpoint`, carrying the URI of
//!   `POST <base>/messages?sessionId=<id>`; every message of the session then arrives as a
//!   `message` event: responses, notifications and server-to-client requests;
//! - `POST <base>/messages?sessionId=<id>` takes one JSON-RPC message and answers 202 with no
//!   body; the session's actor writes the replies to its standalone stream
//!   ([`ReplyMode::Standalone`]), an event log in the store. The `/sse` connection is a reader
//!   of that log, so a POST served by another replica sharing Redis reaches it like any
//!   standalone-stream message of Streamable HTTP.
//!
//! Both routes take a [`Caller`] (same OAuth rules as the MCP endpoint; the session is bound to
//! its principal, another principal gets 404) and sit behind the Origin guard. Closing the `/sse`
//! connection ends the session at once (no grace period: this transport cannot resume a
//! stream, so the session is unreachable afterwards); so does the replica's shutdown and the
//! expiry of the caller's token. `SSE_MAX_CONNECTION_SECS` does not apply here.
//!
//! [`SessionRegistry::open`]: crate::session::SessionRegistry::open

use crate::auth::{Authenticator, Caller};
use crate::config::{LegacySsePaths, Settings};
use crate::http::McpState;
use crate::http::access_log::{tag, tag_rpc};
use crate::http::error::HttpError;
use crate::http::{headers, origin};
use crate::protocol::jsonrpc::{ErrorObject, Message, codes, error_value};
use crate::session::registry::is_valid_session_id;
use crate::session::stream::{Frame, ReaderOptions, ReaderSource, StopOn, reader_stream};
use crate::session::{Connection, Parcel, ReplyMode, SessionHandle};
use actix_web::middleware::from_fn;
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse, Responder};
use actix_web_lab::sse::{Data, Event, Sse};
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Where the transport's routes are, and the `endpoint` URI announced to clients.
#[derive(Debug, Clone)]
pub struct LegacyRoutes {
    /// The routes on this server.
    pub paths: LegacySsePaths,
    /// The `POST` path as clients reach it: the path of `PUBLIC_URL` (behind a proxy that adds
    /// a prefix) followed by the messages route.
    pub endpoint: String,
}

impl LegacyRoutes {
    /// The routes for these settings (beside `server.mcp_path`, under `server.public_url`).
    pub fn new(settings: &Settings) -> Self {
        let paths = LegacySsePaths::beside(&settings.server.mcp_path);
        let public = &settings.server.public_url;
        let after_scheme = public.split_once("://").map_or("", |(_, rest)| rest);
        let prefix = after_scheme
            .find('/')
            .map_or("", |i| &after_scheme[i..])
            .trim_end_matches('/');
        Self {
            endpoint: format!("{prefix}{}", paths.messages),
            paths,
        }
    }
}

/// Registers `GET /sse` and `POST /messages` behind the Origin guard.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    routes: &LegacyRoutes,
    policy: origin::OriginPolicy,
) {
    let data = web::Data::new(routes.clone());
    cfg.service(
        web::resource(routes.paths.sse.as_str())
            .app_data(web::Data::new(policy.clone()))
            .app_data(data.clone())
            .wrap(from_fn(origin::guard))
            .route(web::get().to(open))
            .default_service(web::to(|| not_allowed("GET, OPTIONS"))),
    )
    .service(
        web::resource(routes.paths.messages.as_str())
            .app_data(web::Data::new(policy))
            .app_data(data)
            .wrap(from_fn(origin::guard))
            .route(web::post().to(post))
            .default_service(web::to(|| not_allowed("POST, OPTIONS"))),
    );
}

async fn not_allowed(allow: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((actix_web::http::header::ALLOW, allow))
        .json(error_value(
            None,
            &ErrorObject::new(codes::SERVER_ERROR, "Method Not Allowed"),
        ))
}

/// `GET /sse`: opens a session and streams its messages, after the `endpoint` event.
pub async fn open(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<McpState>,
    routes: web::Data<LegacyRoutes>,
) -> Result<HttpResponse, HttpError> {
    require_event_stream(&req)?;
    let handle = state.sessions.open(caller.principal().cloned()).await?;
    let session = handle.id().to_owned();
    tag(&req, |t| {
        t.session = Some(session.clone());
        t.mcp_method = Some("GET /sse".into());
    });
    tracing::info!(session = %session, "HTTP+SSE session opened");
    let connection = handle.attach_carrier().await?;
    let endpoint = format!("{}?sessionId={session}", routes.endpoint);
    Ok(stream(&req, &state, &caller, session, endpoint, connection))
}

/// `Accept` may be absent; when present it must allow `text/event-stream`.
fn require_event_stream(req: &HttpRequest) -> Result<(), HttpError> {
    if req.headers().get(actix_web::http::header::ACCEPT).is_none() {
        return Ok(());
    }
    let accepted = crate::http::headers::media_types(req).any(|m| {
        ["text/event-stream", "text/*", "*/*"]
            .iter()
            .any(|w| m.eq_ignore_ascii_case(w))
    });
    if accepted {
        Ok(())
    } else {
        Err(HttpError::NotAcceptable(
            "the client must accept text/event-stream",
        ))
    }
}

/// The `/sse` response: the `endpoint` event, then every event of the session's standalone
/// stream from its beginning as a `message` event, with keep-alive comments.
fn stream(
    req: &HttpRequest,
    state: &McpState,
    caller: &Caller,
    session: String,
    endpoint: String,
    connection: Connection,
) -> HttpResponse {
    let options = ReaderOptions {
        prime: false,
        // The connection is the session here: only the token's expiry closes it early.
        max_connection: caller.token_lifetime(),
        batch: 256,
        keep_alive: state.settings.keep_alive(),
        fresh: false,
    };
    let stop = StopOn {
        connection: connection.ticket,
        shutdown: state.shutdown.clone(),
    };
    let source = ReaderSource {
        events: Arc::clone(state.sessions.events()),
        session: Arc::from(session.as_str()),
        stream: crate::session::event_id::STANDALONE_STREAM.to_owned(),
        after: Some(0),
    };
    let first: Event = Data::new(endpoint).event("endpoint").into();
    let messages = reader_stream(source, options, stop, connection.guard).map(|frame| -> Event {
        match frame {
            Frame::Event { data, .. } => Data::new(data.to_string()).event("message").into(),
            Frame::KeepAlive => Event::Comment("keep-alive".into()),
        }
    });
    Sse::from_infallible_stream(futures_util::stream::once(async move { first }).chain(messages))
        .customize()
        .insert_header(("X-Accel-Buffering", "no"))
        .respond_to(req)
        .map_into_boxed_body()
}

/// `POST /messages?sessionId=<id>`: one JSON-RPC message for the session; 202.
pub async fn post(
    req: HttpRequest,
    caller: Caller,
    auth: web::Data<Authenticator>,
    payload: web::Payload,
    state: web::Data<McpState>,
) -> Result<HttpResponse, HttpError> {
    let session = session_param(&req)?;
    tag(&req, |t| t.session = Some(session.clone()));
    let handle = state.sessions.get(&session, caller.principal()).await?;
    headers::require_json_content_type(&req)?;
    let body =
        crate::http::mcp::read_body(&req, payload, state.settings.server.max_body_bytes).await?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| HttpError::BadRequest(ErrorObject::parse_error(e)))?;
    tag_rpc(&req, &value);
    if value.is_array() {
        return Err(HttpError::BadRequest(ErrorObject::invalid_request(
            "JSON-RPC batches are not part of the HTTP+SSE transport (2024-11-05)",
        )));
    }
    let message = Message::from_value(value).map_err(HttpError::BadRequest)?;
    tag(&req, |t| {
        t.mcp_method = Some(message.method().unwrap_or("response").to_owned());
    });
    crate::http::mcp::authorize_call(&state, &auth, &caller, &message)?;
    deliver(&state, handle, message, caller).await?;
    Ok(HttpResponse::Accepted().finish())
}

async fn deliver(
    state: &McpState,
    handle: SessionHandle,
    message: Message,
    caller: Caller,
) -> Result<(), HttpError> {
    let (parcel, principal) = (Parcel::new(vec![message]), caller.into_principal());
    state
        .sessions
        .with_retry(handle, |h| {
            let (parcel, principal) = (parcel.clone(), principal.clone());
            async move { h.post(parcel, ReplyMode::Standalone, principal).await }
        })
        .await?;
    Ok(())
}

/// The `sessionId` query parameter: 400 when missing or malformed.
fn session_param(req: &HttpRequest) -> Result<String, HttpError> {
    session_param_from_query(req.query_string())
}

/// The `sessionId` parameter of a raw (percent-encoded) query string: 400 when the query does not
/// decode, or the parameter is missing or not a valid session id.
pub fn session_param_from_query(query: &str) -> Result<String, HttpError> {
    let query = web::Query::<HashMap<String, String>>::from_query(query)
        .map_err(|_| HttpError::bad_request("Bad Request: malformed query string"))?;
    let id = query.get("sessionId").ok_or_else(|| {
        HttpError::bad_request("Bad Request: sessionId query parameter is required")
    })?;
    if !is_valid_session_id(id) {
        return Err(HttpError::bad_request(
            "Bad Request: malformed sessionId query parameter",
        ));
    }
    Ok(id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(mcp_path: &str, public_url: &str) -> LegacyRoutes {
        let mut env = HashMap::new();
        env.insert("MCP_PATH".to_owned(), mcp_path.to_owned());
        env.insert("PUBLIC_URL".to_owned(), public_url.to_owned());
        LegacyRoutes::new(&Settings::load_from(&env, None).unwrap())
    }

    #[test]
    fn endpoint_follows_mcp_path_and_public_url() {
        assert_eq!(routes("/mcp", "").endpoint, "/messages");
        assert_eq!(routes("/api/mcp", "").endpoint, "/api/messages");
        let r = routes("/api/mcp", "https://gw.example.com/tenant/");
        assert_eq!(r.endpoint, "/tenant/api/messages");
        assert_eq!(r.paths.sse, "/api/sse");
        assert_eq!(
            routes("/mcp", "https://gw.example.com").endpoint,
            "/messages"
        );
    }

    #[test]
    fn session_query_parameter() {
        assert_eq!(
            session_param_from_query("sessionId=abc%2Ddef&x=1").unwrap(),
            "abc-def"
        );
        for bad in ["", "x=1", "sessionId=", "sessionId=a%20b", "sessionId=%FF"] {
            assert!(session_param_from_query(bad).is_err(), "{bad:?}");
        }
    }
}
