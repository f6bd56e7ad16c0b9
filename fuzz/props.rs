//! The properties the fuzz targets check, one function per target, each taking libFuzzer's raw
//! input and panicking when a property fails.
//!
//! This file is shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and by the main
//! crate's `tests/fuzz_corpus.rs`, which replays every committed corpus and regression input on
//! stable Rust in ordinary CI. Both include it with `#[path]` rather than the library exporting a
//! `fuzzing` module: the checks panic by design and need nothing private, so they stay out of the
//! library's API and its release build, and the regression test exercises exactly the code the
//! fuzzer ran. It only uses crates both packages depend on (`mcp-hive`, `actix-web`, `base64`,
//! `serde_json`, `serde_urlencoded`).
//!
//! Every function first runs the same decoder the server runs on the input, then checks what can
//! be checked cheaply: decoded values re-encode and decode to themselves, accepted values have the
//! documented syntax, refusals have the documented error, two entry points to one parser agree.
//! Inputs made of several parts are split on `\n`, which no header value can contain.

#![allow(dead_code)]

use actix_web::http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mcp_hive::auth::bearer;
use mcp_hive::auth::challenge::AuthError;
use mcp_hive::http::headers::{parse_last_event_id, parse_session_id};
use mcp_hive::http::legacy_sse::session_param_from_query;
use mcp_hive::protocol::jsonrpc::{Message, Payload, Request, codes};
use mcp_hive::protocol::server::parse_initialize;
use mcp_hive::protocol::stateless::{
    self, Failure, Headers, META_CAPABILITIES, META_VERSION, MODERN, decode_header_value, errors,
    params, selects_stateless,
};
use mcp_hive::session::event_id::{EventId, is_stream_id};
use mcp_hive::session::registry::is_valid_session_id;
use serde_json::{Value, json};

/// A target's property function: runs the decoder on the raw input, panics on a violation.
pub type Property = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/seeds/`, `fuzz/corpus/` and
/// `fuzz/regressions/`) and its property function.
pub const TARGETS: [(&str, Property); 5] = [
    ("jsonrpc_decode", jsonrpc_decode),
    ("event_id", event_id),
    ("session_id", session_id),
    ("mcp_param_header", mcp_param_header),
    ("bearer_token", bearer_token),
];

// ---------------------------------------------------------------------------------------------
// jsonrpc_decode

/// A POST body, decoded as `POST /mcp` does: `serde_json::from_slice`, the era decision
/// (`selects_stateless`), then `Payload::from_value` (session era, batches allowed) or
/// `Message::from_value` (stateless lane). Properties: every decoded message re-encodes to JSON
/// that decodes to the same message (and the same JSON again); a refusal is `-32600`; a batch is
/// non-empty and keeps the array's length; the stateless validation accepts a request whose
/// headers mirror its body and refuses one without headers.
pub fn jsonrpc_decode(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for header in [
        None,
        Some("2025-03-26"),
        Some("2025-11-25"),
        Some(MODERN),
        Some("x"),
    ] {
        let _ = selects_stateless(header, &value);
    }
    match Payload::from_value(value.clone()) {
        Ok(payload) => {
            match (&payload, &value) {
                (Payload::Batch(ms), Value::Array(items)) => {
                    assert!(!ms.is_empty(), "empty batch accepted");
                    assert_eq!(ms.len(), items.len(), "batch length changed");
                }
                (Payload::Single(_), v) => assert!(!v.is_array(), "array decoded as one message"),
                (Payload::Batch(_), _) => panic!("a non-array decoded as a batch"),
            }
            for m in payload.messages() {
                message_round_trips(m);
            }
        }
        Err(e) => assert_eq!(e.code, codes::INVALID_REQUEST, "{e:?}"),
    }
    match Message::from_value(value) {
        Ok(m) => {
            message_round_trips(&m);
            if let Message::Request(r) = m {
                if r.method == "initialize" {
                    let _ = parse_initialize(&r.params);
                }
                stateless_mirroring(r);
            }
        }
        Err(e) => assert_eq!(e.code, codes::INVALID_REQUEST, "{e:?}"),
    }
}

fn message_round_trips(m: &Message) {
    let encoded = m.to_value();
    assert_eq!(encoded.get("jsonrpc"), Some(&json!("2.0")));
    let again = Message::from_value(encoded.clone())
        .unwrap_or_else(|e| panic!("re-encoded message refused: {e:?}\n{encoded}"));
    assert_eq!(&again, m, "decode(encode(m)) != m");
    assert_eq!(again.to_value(), encoded, "encoding is not stable");
}

/// The body field `Mcp-Name` mirrors (2026-07-28 streamable HTTP, tasks extension).
fn named_field(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    }
}

/// A value as a conforming client puts it in a header: plain when that is unambiguous (visible
/// ASCII, spaces or tabs inside only, not itself in the sentinel form), else `=?base64?...?=`.
pub fn mirror_header_value(s: &str) -> String {
    let plain = s.bytes().all(|b| b == b'\t' || (0x20..=0x7e).contains(&b))
        && s.trim() == s
        && !(s.starts_with("=?base64?") && s.ends_with("?="));
    if plain {
        s.to_owned()
    } else {
        format!("=?base64?{}?=", STANDARD.encode(s))
    }
}

fn stateless_mirroring(r: Request) {
    // No headers at all: the version header is required first.
    match stateless::validate(Headers::default(), r.clone()) {
        Err(Failure::Invalid(e)) => {
            assert_eq!(e.code, errors::HEADER_MISMATCH, "{e:?}")
        }
        other => panic!("a request without headers was not refused: {other:?}"),
    }
    let meta = r.params.get("_meta");
    let well_formed = meta
        .and_then(|m| m.get(META_VERSION))
        .and_then(Value::as_str)
        == Some(MODERN)
        && meta
            .and_then(|m| m.get(META_CAPABILITIES))
            .is_some_and(Value::is_object)
        && r.method.bytes().all(|b| (0x21..=0x7e).contains(&b))
        && !r.method.is_empty();
    let name = named_field(&r.method).map(|f| r.params.get(f).and_then(Value::as_str));
    let mirrored = name.flatten().map(mirror_header_value);
    let headers = Headers {
        version: Some(MODERN),
        method: Some(&r.method),
        name: mirrored.as_deref(),
    };
    let result = stateless::validate(headers, r.clone());
    if well_formed && !matches!(name, Some(None)) {
        match result {
            Ok(valid) => assert_eq!(valid.request, r),
            Err(Failure::UnknownMethod(e)) => assert_eq!(e.code, codes::METHOD_NOT_FOUND),
            Err(Failure::Invalid(e)) => panic!("mirrored headers refused: {e:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// event_id

/// A `Last-Event-ID`, parsed by `EventId::from_str` and by `headers::parse_last_event_id`.
/// Properties: an accepted id has a well-formed stream, prints as the input (with the sequence's
/// leading zeros dropped: `0-007` is `0-7`) and parses back to itself; a refusal echoes at most 64
/// characters of the input; the header parser agrees with the string parser; ids built from any
/// stream id and sequence number round-trip.
pub fn event_id(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        match s.parse::<EventId>() {
            Ok(id) => {
                assert!(is_stream_id(&id.stream), "{id:?}");
                let text = id.to_string();
                assert_eq!(text, canonical_event_id(s), "printed differently");
                assert_eq!(text.parse::<EventId>().as_ref(), Ok(&id));
            }
            Err(e) => {
                let echoed = &e.0;
                assert!(echoed.chars().count() <= 64);
                assert!(s.starts_with(echoed.as_str()));
            }
        }
    }
    if let Ok(v) = HeaderValue::from_bytes(data) {
        let by_header = parse_last_event_id(&v);
        match v.to_str() {
            Ok(s) => assert_eq!(by_header.ok(), s.parse::<EventId>().ok(), "{s:?}"),
            Err(_) => assert!(by_header.is_err(), "non-ASCII Last-Event-ID accepted"),
        }
    }
    if data.len() >= 8 {
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&data[..8]);
        let seq = u64::from_le_bytes(seq);
        let hex: String = data[8..]
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        for stream in ["0", hex.as_str()] {
            if is_stream_id(stream) {
                let id = EventId::new(stream, seq);
                assert_eq!(id.to_string().parse::<EventId>(), Ok(id));
            }
        }
    }
}

/// `<stream>-<seq>` with the sequence's leading zeros removed (one zero stays).
fn canonical_event_id(s: &str) -> String {
    let (stream, seq) = s.split_once('-').unwrap_or((s, ""));
    let seq = seq.trim_start_matches('0');
    format!("{stream}-{}", if seq.is_empty() { "0" } else { seq })
}

// ---------------------------------------------------------------------------------------------
// session_id

/// An `Mcp-Session-Id` (`headers::parse_session_id`), the same bytes as a string
/// (`is_valid_session_id`, used by the registry and the HTTP+SSE transport) and as the raw query
/// string of `POST /messages` (`legacy_sse::session_param_from_query`). Properties: accepted ids
/// are 1..=128 visible ASCII characters, the header parser returns the header unchanged and
/// accepts exactly those; a query-string id is valid and survives percent-encoding.
pub fn session_id(data: &[u8]) {
    let spec =
        |b: &[u8]| !b.is_empty() && b.len() <= 128 && b.iter().all(|c| (0x21..=0x7e).contains(c));
    if let Ok(v) = HeaderValue::from_bytes(data) {
        match parse_session_id(&v) {
            Ok(id) => {
                assert_eq!(id.as_bytes(), data, "header value changed");
                assert!(spec(data), "{id:?} accepted");
            }
            Err(_) => assert!(!spec(data), "{data:?} refused"),
        }
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(is_valid_session_id(s), spec(data), "{s:?}");
    if let Ok(id) = session_param_from_query(s) {
        assert!(is_valid_session_id(&id), "{id:?} from {s:?}");
        let query = serde_urlencoded::to_string(vec![("sessionId", id.as_str())])
            .unwrap_or_else(|e| panic!("encoding {id:?}: {e}"));
        assert_eq!(session_param_from_query(&query).ok(), Some(id));
    }
    if spec(data) {
        let query = serde_urlencoded::to_string(vec![("x", "1"), ("sessionId", s)])
            .unwrap_or_else(|e| panic!("encoding {s:?}: {e}"));
        assert_eq!(session_param_from_query(&query).ok().as_deref(), Some(s));
    }
}

// ---------------------------------------------------------------------------------------------
// mcp_param_header

/// `Mcp-Param-*` / `Mcp-Name` values (`stateless::decode_header_value`, `params::check`). The
/// input is `<header value>\n<argument as JSON>`. Properties: a value in the `=?base64?...?=`
/// form decodes only when it is the canonical encoding of UTF-8 text; any other value decodes
/// to itself exactly when it is visible ASCII (tabs allowed); every string mirrored the way a
/// client does decodes to itself; `params::check` accepts a header that mirrors the argument,
/// refuses a missing or extra header, and accepts only headers whose decoded value matches.
pub fn mcp_param_header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (raw, json_text) = text.split_once('\n').unwrap_or((text, ""));
    let decoded = decode_header_value(raw);
    match raw
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(inner) => match &decoded {
            Ok(s) => assert_eq!(STANDARD.encode(s), inner, "non-canonical base64 accepted"),
            Err(_) => assert!(
                STANDARD
                    .decode(inner)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .is_none_or(|s| STANDARD.encode(s) != inner),
                "canonical base64 refused: {raw:?}"
            ),
        },
        None => {
            let visible = raw
                .bytes()
                .all(|b| b == b'\t' || (0x20..=0x7e).contains(&b));
            assert_eq!(decoded.as_deref().ok(), visible.then_some(raw), "{raw:?}");
        }
    }
    for s in [raw, json_text] {
        let mirrored = mirror_header_value(s);
        assert!(HeaderValue::from_str(&mirrored).is_ok(), "{mirrored:?}");
        assert_eq!(decode_header_value(mirrored.trim()).as_deref(), Ok(s));
    }

    let argument: Option<Value> = serde_json::from_str(json_text).ok();
    if let Some(schema) = &argument {
        let _ = params::declared(schema);
    }
    let declared = [("region".to_owned(), "Region".to_owned())];
    let args = match &argument {
        Some(v) => json!({ "region": v }),
        None => json!({}),
    };
    let present = argument.as_ref().is_some_and(|v| !v.is_null());
    // The header as sent (the server trims it before decoding).
    let checked = params::check(&declared, &args, |n| {
        (n == "mcp-param-region").then_some(raw)
    });
    if checked.is_ok() {
        let Some(value) = argument.as_ref().filter(|_| present) else {
            panic!("a header without its argument accepted: {raw:?}");
        };
        let Ok(decoded) = decode_header_value(raw.trim()) else {
            panic!("an undecodable header accepted: {raw:?}");
        };
        match value {
            Value::String(s) => assert_eq!(&decoded, s),
            Value::Bool(b) => assert_eq!(decoded, b.to_string()),
            Value::Number(n) => assert_eq!(decoded.parse::<f64>().ok(), n.as_f64()),
            other => panic!("{other} cannot be mirrored, yet {raw:?} was accepted"),
        }
    }
    // No header.
    assert_eq!(params::check(&declared, &args, |_| None).is_ok(), !present);
    // The header a client would send.
    if let Some(value) = argument.as_ref().filter(|_| present) {
        let header = match value {
            Value::String(s) => Some(mirror_header_value(s)),
            Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
            _ => None,
        };
        if let Some(header) = header {
            let result = params::check(&declared, &args, |n| {
                (n == "mcp-param-region").then_some(header.as_str())
            });
            assert_eq!(result, Ok(()), "{header:?} for {value}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// bearer_token

/// `bearer::token`. The input is `<query string>\n<Authorization value>\n<Authorization value>...`
/// (values that are not valid header values are dropped). Properties: a query parameter whose
/// name decodes to `access_token` is refused with `invalid_request`, as are several
/// `Authorization` headers; a returned token is the non-empty, bounded `b64token` (RFC 6750
/// §2.1) after `Bearer` and spaces in the only header; a shorter length limit only refuses
/// tokens longer than it.
pub fn bearer_token(data: &[u8]) {
    let mut parts = data.split(|b| *b == b'\n');
    let Some(Ok(query)) = parts.next().map(std::str::from_utf8) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for value in parts {
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.append(AUTHORIZATION, v);
        }
    }
    let count = headers.get_all(AUTHORIZATION).count();
    let query_token = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .map(|pairs| {
            pairs
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("access_token"))
        })
        .unwrap_or(false);
    const MAX: usize = 4096;
    const SHORT: usize = 16;
    let long = bearer::token(&headers, query, MAX);
    match &long {
        Err(AuthError::InvalidRequest(_)) => {}
        _ => assert!(!query_token, "access_token in {query:?} not refused"),
    }
    match &long {
        Err(AuthError::InvalidRequest(_)) => {}
        _ => assert!(count <= 1, "{count} Authorization headers not refused"),
    }
    match &long {
        Ok(Some(t)) => {
            assert!(!t.is_empty() && t.len() <= MAX);
            assert!(is_b64token(t), "{t:?}");
            let value = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("token {t:?} without a header"));
            let (scheme, rest) = value
                .split_once(' ')
                .unwrap_or_else(|| panic!("{value:?} has no space"));
            assert!(scheme.eq_ignore_ascii_case("bearer"), "{value:?}");
            assert_eq!(rest.trim_matches(' '), *t, "{value:?}");
            match bearer::token(&headers, query, SHORT) {
                Ok(Some(short)) => assert_eq!(short, *t),
                Err(AuthError::InvalidToken(_)) => assert!(t.len() > SHORT),
                other => panic!("limit {SHORT}: {other:?} for {t:?}"),
            }
        }
        Ok(None) => {
            let scheme = headers
                .get(AUTHORIZATION)
                .map(|v| v.to_str().map(|s| s.split(' ').next().unwrap_or(s)));
            match scheme {
                None => {}
                Some(Ok(scheme)) => assert!(!scheme.eq_ignore_ascii_case("bearer")),
                Some(Err(_)) => panic!("a non-ASCII Authorization header ignored"),
            }
        }
        Err(AuthError::InvalidToken(_)) => assert_eq!(count, 1),
        Err(AuthError::InvalidRequest(_)) => assert!(query_token || count > 1, "{query:?}"),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}
