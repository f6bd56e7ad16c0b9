//! One log line per HTTP request: method, path, MCP method, session, status and latency.
//!
//! Handlers record what they learned from the body in a [`RequestTag`] request extension; this
//! middleware reads it once the response is ready. For SSE responses the latency is the time to
//! the response head, not the stream's lifetime. Tokens and bodies are never logged.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest};
use std::time::Instant;

/// What the MCP handler learned about a request, for the access log.
#[derive(Debug, Clone, Default)]
pub struct RequestTag {
    /// The JSON-RPC method (or `batch`, `response`).
    pub mcp_method: Option<String>,
    /// The session id.
    pub session: Option<String>,
    /// The resumed event id, for GET.
    pub last_event_id: Option<String>,
    /// The authenticated caller (token subject, or client id), never the token.
    pub caller: Option<String>,
    /// The tool of a `tools/call` (for metrics, bounded by the registry there).
    pub tool: Option<String>,
    /// The protocol revision of the request when the handler knows it better than the
    /// `MCP-Protocol-Version` header (`initialize`: the negotiated one).
    pub protocol_version: Option<String>,
    /// Events stored after `Last-Event-ID` when a GET resumed a stream.
    pub replayed: Option<u64>,
    /// The lifetime of the session this request ended (DELETE).
    pub session_lifetime: Option<std::time::Duration>,
}

/// Records the JSON-RPC method (`batch` for an array) and, for `tools/call`, the tool name of
/// a parsed body.
pub fn tag_rpc(req: &HttpRequest, body: &serde_json::Value) {
    let method = match body {
        serde_json::Value::Array(_) => Some("batch"),
        other => other.get("method").and_then(serde_json::Value::as_str),
    };
    let tool = (method == Some("tools/call"))
        .then(|| {
            crate::protocol::jsonrpc::member(body, &["params", "name"])
                .and_then(serde_json::Value::as_str)
        })
        .flatten();
    tag(req, |t| {
        t.mcp_method = Some(method.unwrap_or("response").to_owned());
        t.tool = tool.map(str::to_owned);
    });
}

/// Records a tag on the request.
pub fn tag(req: &HttpRequest, update: impl FnOnce(&mut RequestTag)) {
    let mut ext = req.extensions_mut();
    if let Some(t) = ext.get_mut::<RequestTag>() {
        update(t);
    } else {
        let mut t = RequestTag::default();
        update(&mut t);
        ext.insert(t);
    }
}

/// The access-log middleware. When `info` is off for this module (`RUST_LOG=warn`, say) it
/// only passes the request on: the line's fields are not even collected.
pub async fn log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !tracing::enabled!(tracing::Level::INFO) {
        return next.call(req).await;
    }
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let res = next.call(req).await?;
    let latency_ms = (start.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    let status = res.status().as_u16();
    let extensions = res.request().extensions();
    let tag = extensions.get::<RequestTag>();
    let field = |f: fn(&RequestTag) -> Option<&str>| tag.and_then(f).unwrap_or("-");
    tracing::info!(
        http.method = %method,
        http.path = %path,
        mcp.method = field(|t| t.mcp_method.as_deref()),
        mcp.session = field(|t| t.session.as_deref()),
        last_event_id = field(|t| t.last_event_id.as_deref()),
        caller = field(|t| t.caller.as_deref()),
        http.status = status,
        latency_ms,
        "request"
    );
    drop(extensions);
    Ok(res)
}
