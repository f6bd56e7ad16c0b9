//! The stateless lane of MCP 2026-07-28 (`basic/index.mdx`, `basic/versioning.mdx`,
//! `basic/transports/streamable-http.mdx`): every request carries its protocol version and
//! client capabilities in `params._meta`, the transport mirrors the version and method into
//! headers, and there is no session. This module decides which era a request belongs to,
//! validates a modern request in the order the revision's error table implies, and wraps
//! results (`resultType`, the server's identity in `_meta`, cache hints). It knows no HTTP: the
//! caller maps [`Failure`] to a status. [`listen`] holds the rules of `subscriptions/listen`,
//! [`params`] those of `Mcp-Param-*` headers; multi round-trip requests are in
//! [`crate::protocol::mrtr`].

use crate::protocol::context::LogLevel;
use crate::protocol::jsonrpc::{ErrorObject, Request, RequestId, codes};
use crate::protocol::version::ProtocolVersion;
use base64::Engine as _;
use serde_json::{Map, Value, json};

pub mod listen;
pub mod params;

/// The stateless revision.
pub const MODERN: &str = "2026-07-28";
/// Revisions the stateless lane serves (`server/discover` `supportedVersions`).
pub const SUPPORTED: [&str; 1] = [MODERN];
/// `_meta` key of the protocol version.
pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the client capabilities.
pub const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the requested log level.
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key of the server's identity on results.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// 2026-07-28 error codes.
pub mod errors {
    /// A header does not match the body, or is missing (`basic/index.mdx` §Error Codes).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// The request needs a client capability it did not declare.
    pub const MISSING_CAPABILITY: i64 = -32021;
    /// The protocol version is not supported.
    pub const UNSUPPORTED_VERSION: i64 = -32022;
}

/// Methods of the stateless lane served here (the last three: the tasks extension,
/// `crate::protocol::tasks`).
const METHODS: [&str; 13] = [
    "server/discover",
    "subscriptions/listen",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
];

/// Whether a request without a session belongs to the stateless era: its version header is not
/// a session-era revision, or its `_meta` names a protocol version (`basic/versioning.mdx`,
/// "A request carrying modern per-request `_meta` is served statelessly").
pub fn selects_stateless(header_version: Option<&str>, body: &Value) -> bool {
    // "An `initialize` request selects legacy semantics" (`versioning.mdx`) — unless it is a
    // modern request through and through (a modern version header *and* modern `_meta`): that
    // is a 2026-07-28 client calling a method the revision removed (404, `-32601`).
    if body.get("method").and_then(Value::as_str) == Some("initialize") {
        return header_version.is_some_and(is_modern_version)
            && meta(body).is_some_and(|m| m.contains_key(META_VERSION));
    }
    match header_version {
        Some(h) if is_modern_version(h) => true,
        _ => meta(body).is_some_and(|m| m.contains_key(META_VERSION)),
    }
}

/// Whether a `MCP-Protocol-Version` header names no session-era revision (so the request
/// belongs to the stateless era, or is invalid for it).
pub fn is_modern_version(header: &str) -> bool {
    header.trim().parse::<ProtocolVersion>().is_err()
}

fn meta(body: &Value) -> Option<&Map<String, Value>> {
    body.get("params")?.get("_meta")?.as_object()
}

/// Why a stateless request is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Malformed or inconsistent request (HTTP 400).
    Invalid(ErrorObject),
    /// Unknown or removed method (HTTP 404, `-32601`).
    UnknownMethod(ErrorObject),
}

/// A validated stateless request.
#[derive(Debug, Clone)]
pub struct StatelessRequest {
    /// The JSON-RPC request.
    pub request: Request,
    /// `_meta` client capabilities.
    pub client_capabilities: Value,
    /// `_meta` log level, when the client wants log notifications.
    pub log_level: Option<LogLevel>,
}

/// What the transport saw besides the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `MCP-Protocol-Version`.
    pub version: Option<&'a str>,
    /// `Mcp-Method`.
    pub method: Option<&'a str>,
    /// `Mcp-Name`.
    pub name: Option<&'a str>,
}

fn mismatch(message: impl Into<String>) -> Failure {
    Failure::Invalid(ErrorObject::new(errors::HEADER_MISMATCH, message))
}

/// Validates a stateless request (already known to be a JSON-RPC request object).
pub fn validate(h: Headers<'_>, request: Request) -> Result<StatelessRequest, Failure> {
    let Some(header_version) = h.version.map(str::trim) else {
        return Err(mismatch("the MCP-Protocol-Version header is required"));
    };
    let invalid_params =
        |m: &str| Failure::Invalid(ErrorObject::new(codes::INVALID_PARAMS, m.to_owned()));
    let meta = request
        .params
        .get("_meta")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid_params("params._meta is required"))?;
    let version = meta
        .get(META_VERSION)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid_params("params._meta lacks io.modelcontextprotocol/protocolVersion")
        })?;
    let capabilities = meta
        .get(META_CAPABILITIES)
        .filter(|v| v.is_object())
        .cloned()
        .ok_or_else(|| {
            invalid_params("params._meta lacks io.modelcontextprotocol/clientCapabilities")
        })?;
    if version != header_version {
        return Err(mismatch(format!(
            "MCP-Protocol-Version {header_version:?} differs from _meta protocolVersion {version:?}"
        )));
    }
    if !SUPPORTED.contains(&version) {
        return Err(Failure::Invalid(
            ErrorObject::new(
                errors::UNSUPPORTED_VERSION,
                format!("unsupported protocol version {version:?}"),
            )
            .with_data(json!({"supported": SUPPORTED, "requested": version})),
        ));
    }
    match h.method.map(str::trim) {
        Some(m) if m == request.method => {}
        Some(m) => {
            return Err(mismatch(format!(
                "Mcp-Method {m:?} differs from the body's method {:?}",
                request.method
            )));
        }
        None => return Err(mismatch("the Mcp-Method header is required")),
    }
    if let Some(field) = named_by(&request.method) {
        let expected = request.params.get(field).and_then(Value::as_str);
        let sent = h.name.map(str::trim).map(decode_header_value);
        match (sent, expected) {
            (Some(Ok(sent)), Some(expected)) if sent == expected => {}
            (Some(Err(e)), _) => return Err(mismatch(format!("Mcp-Name: {e}"))),
            (None, _) => return Err(mismatch("the Mcp-Name header is required")),
            _ => return Err(mismatch("Mcp-Name differs from the body")),
        }
    }
    if !METHODS.contains(&request.method.as_str()) {
        return Err(Failure::UnknownMethod(ErrorObject::method_not_found(
            &request.method,
        )));
    }
    let log_level = meta
        .get(META_LOG_LEVEL)
        .and_then(Value::as_str)
        .and_then(|l| l.parse().ok());
    Ok(StatelessRequest {
        request,
        client_capabilities: capabilities,
        log_level,
    })
}

/// The body field an `Mcp-Name` header mirrors, for the methods that have one (`taskId` for the
/// tasks extension, ext-tasks `tasks.md` §Streamable HTTP: Routing Headers).
fn named_by(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    }
}

/// A header value: plain visible ASCII, or `=?base64?<standard base64>?=` for other text
/// (`streamable-http.mdx` §Request Metadata; padding and alphabet are checked strictly).
pub fn decode_header_value(raw: &str) -> Result<String, String> {
    if let Some(inner) = raw
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(inner)
            .map_err(|e| format!("invalid base64: {e}"))?;
        return String::from_utf8(bytes).map_err(|_| "base64 value is not UTF-8".to_owned());
    }
    if raw
        .bytes()
        .all(|b| b == b'\t' || (0x20..=0x7e).contains(&b))
    {
        Ok(raw.to_owned())
    } else {
        Err("non-ASCII values must use the =?base64?...?= form".to_owned())
    }
}

/// Cache hints of a result (`server/utilities/caching.mdx`), for the methods that carry them.
fn cache_hints(method: &str) -> Option<(u64, &'static str)> {
    match method {
        // Lists and discovery are the same for every caller here; they can change at run time
        // (list_changed), so clients are asked to revalidate.
        "server/discover"
        | "tools/list"
        | "prompts/list"
        | "resources/list"
        | "resources/templates/list" => Some((0, "public")),
        "resources/read" => Some((0, "private")),
        _ => None,
    }
}

/// Wraps a complete result: `resultType`, the server's identity in `_meta`, cache hints.
pub fn complete(method: &str, mut result: Value, server_name: &str, server_version: &str) -> Value {
    if !result.is_object() {
        result = json!({});
    }
    result["resultType"] = json!("complete");
    let info = json!({"name": server_name, "version": server_version});
    match result.get_mut("_meta").and_then(Value::as_object_mut) {
        Some(m) => {
            m.insert(META_SERVER_INFO.to_owned(), info);
        }
        None => result["_meta"] = json!({ META_SERVER_INFO: info }),
    }
    if let Some((ttl, scope)) = cache_hints(method) {
        result["ttlMs"] = json!(ttl);
        result["cacheScope"] = json!(scope);
    }
    result
}

/// Wraps an input-required result (`mrtr.mdx`): the server's identity in `_meta`; no cache
/// hints (the result is specific to this round).
pub fn input_required(mut result: Value, server_name: &str, server_version: &str) -> Value {
    let info = json!({"name": server_name, "version": server_version});
    result["_meta"] = json!({ META_SERVER_INFO: info });
    result
}

/// A handler's error as the stateless revision spells it: `-32002` (resource not found) became
/// `-32602` with the URI in `data` (2026-07-28 `basic/index.mdx` §Error Codes: implementations
/// MUST NOT emit `-32002`).
pub fn modern_error(mut e: ErrorObject) -> ErrorObject {
    if e.code == codes::RESOURCE_NOT_FOUND {
        e.code = codes::INVALID_PARAMS;
    }
    e
}

/// A JSON-RPC error message of the stateless lane: the `id` is omitted when unknown (the
/// 2026-07-28 schema does not allow `null`).
pub fn error_message(id: Option<&RequestId>, error: &ErrorObject) -> Value {
    let mut v = json!({"jsonrpc": "2.0", "error": error});
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    v
}

#[cfg(test)]
mod tests;
