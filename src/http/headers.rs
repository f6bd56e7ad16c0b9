//! The transport's request headers: `Accept`, `Content-Type`, `Mcp-Session-Id`,
//! `MCP-Protocol-Version` and `Last-Event-ID`, each parsed into a typed value or an
//! [`HttpError`] with the status the spec calls for.

use crate::http::error::HttpError;
use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::version::ProtocolVersion;
use crate::session::event_id::EventId;
use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderName, HeaderValue};

/// `Mcp-Session-Id` (2025-11-25 spells it `MCP-Session-Id`; header names are case-insensitive).
pub const SESSION_ID: &str = "mcp-session-id";
/// `MCP-Protocol-Version` (2025-06-18+).
pub const PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// `Last-Event-ID` (SSE resumption).
pub const LAST_EVENT_ID: &str = "last-event-id";

// The same names as `HeaderName`s, for lookups and responses. A lookup by `&str` parses the
// name on every call, and for a name outside the standard set that means validating it and
// copying it into a new allocation (actix-http's `AsHeaderName for &str`): five of them per
// POST were about 1,400 instructions, 1.1-1.6 % of a `tools/call` (callgrind).

/// [`SESSION_ID`] as a header name.
pub const SESSION_ID_NAME: HeaderName = HeaderName::from_static(SESSION_ID);
/// [`PROTOCOL_VERSION`] as a header name.
pub const PROTOCOL_VERSION_NAME: HeaderName = HeaderName::from_static(PROTOCOL_VERSION);
/// [`LAST_EVENT_ID`] as a header name.
pub const LAST_EVENT_ID_NAME: HeaderName = HeaderName::from_static(LAST_EVENT_ID);

/// The media types of `Accept`, parameters dropped, borrowed from the request (compare them
/// ignoring ASCII case, RFC 9110 §8.3.1): every POST checks two, and lower-cased copies were
/// an allocation per listed type.
pub(crate) fn media_types(req: &HttpRequest) -> impl Iterator<Item = &str> {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|m| m.split(';').next().unwrap_or("").trim())
}

/// Whether `Accept` lists `media_type` itself (not a wildcard).
fn accepts(req: &HttpRequest, media_type: &str) -> bool {
    media_types(req).any(|m| m.eq_ignore_ascii_case(media_type))
}

/// POST: the client MUST accept both `application/json` and `text/event-stream`.
pub fn require_post_accept(req: &HttpRequest) -> Result<(), HttpError> {
    // One pass over the header for both types (each pass re-validates the whole value).
    let (mut json, mut sse) = (false, false);
    for m in media_types(req) {
        json |= m.eq_ignore_ascii_case("application/json");
        sse |= m.eq_ignore_ascii_case("text/event-stream");
    }
    if json && sse {
        Ok(())
    } else {
        Err(HttpError::NotAcceptable(
            "the client must accept both application/json and text/event-stream",
        ))
    }
}

/// GET: the client MUST accept `text/event-stream`.
pub fn require_get_accept(req: &HttpRequest) -> Result<(), HttpError> {
    if accepts(req, "text/event-stream") {
        Ok(())
    } else {
        Err(HttpError::NotAcceptable(
            "the client must accept text/event-stream",
        ))
    }
}

/// POST bodies must be `application/json`.
pub fn require_json_content_type(req: &HttpRequest) -> Result<(), HttpError> {
    let ok = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if ok {
        Ok(())
    } else {
        Err(HttpError::UnsupportedMediaType(
            "the request body must be application/json",
        ))
    }
}

/// The `Mcp-Session-Id` header, if present; 400 if it is not visible ASCII.
pub fn session_id(req: &HttpRequest) -> Result<Option<String>, HttpError> {
    req.headers()
        .get(&SESSION_ID_NAME)
        .map(parse_session_id)
        .transpose()
}

/// One `Mcp-Session-Id` value: 1 to 128 visible ASCII characters
/// ([`crate::session::registry::is_valid_session_id`]), else 400.
pub fn parse_session_id(value: &HeaderValue) -> Result<String, HttpError> {
    value
        .to_str()
        .ok()
        .filter(|s| crate::session::registry::is_valid_session_id(s))
        .map(str::to_owned)
        .ok_or_else(|| HttpError::bad_request("Bad Request: malformed Mcp-Session-Id header"))
}

/// The `MCP-Protocol-Version` header, if present; 400 for an unsupported value
/// (2025-06-18 `basic/transports.mdx`, "Protocol Version Header").
pub fn protocol_version(req: &HttpRequest) -> Result<Option<ProtocolVersion>, HttpError> {
    let Some(v) = req.headers().get(&PROTOCOL_VERSION_NAME) else {
        return Ok(None);
    };
    let raw = v.to_str().unwrap_or("<non-ASCII>");
    raw.parse().map(Some).map_err(|_| {
        let supported: Vec<&str> = ProtocolVersion::ALL.iter().map(|v| v.as_str()).collect();
        HttpError::BadRequest(
            ErrorObject::new(
                crate::protocol::jsonrpc::codes::SERVER_ERROR,
                format!(
                    "Bad Request: unsupported MCP-Protocol-Version {raw:?} (supported: {})",
                    supported.join(", ")
                ),
            )
            .with_data(serde_json::json!({"supported": supported, "requested": raw})),
        )
    })
}

/// The `Last-Event-ID` header, if present; 400 if malformed.
pub fn last_event_id(req: &HttpRequest) -> Result<Option<EventId>, HttpError> {
    req.headers()
        .get(&LAST_EVENT_ID_NAME)
        .map(parse_last_event_id)
        .transpose()
}

/// One `Last-Event-ID` value: visible ASCII in the [`EventId`] syntax `<stream>-<seq>`, else 400.
pub fn parse_last_event_id(value: &HeaderValue) -> Result<EventId, HttpError> {
    let raw = value
        .to_str()
        .map_err(|_| HttpError::bad_request("Bad Request: malformed Last-Event-ID"))?;
    raw.parse()
        .map_err(|e| HttpError::bad_request(format!("Bad Request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_values() {
        let ok = HeaderValue::from_static("0123456789abcdef0123456789abcdef");
        assert_eq!(
            parse_session_id(&ok).unwrap(),
            "0123456789abcdef0123456789abcdef"
        );
        let long = "a".repeat(129);
        for bad in ["", "has space", "tab\there", long.as_str()] {
            let v = HeaderValue::from_str(bad).unwrap();
            assert!(parse_session_id(&v).is_err(), "{bad:?}");
        }
        let obs_text = HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap();
        assert!(parse_session_id(&obs_text).is_err());
    }

    #[test]
    fn last_event_id_values() {
        let v = HeaderValue::from_static("00112233aabbccdd-42");
        assert_eq!(
            parse_last_event_id(&v).unwrap(),
            EventId::new("00112233aabbccdd", 42)
        );
        for bad in ["", "0", "0-x", "0 -1"] {
            let v = HeaderValue::from_str(bad).unwrap();
            assert!(parse_last_event_id(&v).is_err(), "{bad:?}");
        }
        let obs_text = HeaderValue::from_bytes(b"0-\xff").unwrap();
        assert!(parse_last_event_id(&obs_text).is_err());
    }

    #[test]
    fn accept_lists_are_read_ignoring_case_parameters_and_repeated_headers() {
        let post = |values: &[&str]| {
            let mut req = actix_web::test::TestRequest::post();
            for v in values {
                req = req.append_header((header::ACCEPT, *v));
            }
            require_post_accept(&req.to_http_request()).is_ok()
        };
        assert!(post(&["application/json, text/event-stream"]));
        assert!(post(&[
            "Application/JSON;q=0.9 , TEXT/Event-Stream; charset=utf-8"
        ]));
        assert!(post(&["application/json", "text/event-stream"]));
        assert!(!post(&["application/json"]));
        assert!(!post(&["*/*"]));
        assert!(!post(&["application/jsonx, text/event-stream"]));
        assert!(!post(&[]));
    }
}
