//! Unit tests of [`super`]: era selection, the validation order, header values, envelopes.

use super::*;

fn request(method: &str, params: Value) -> Request {
    Request {
        id: RequestId::Number(1),
        method: method.to_owned(),
        params,
    }
}

fn meta_params(extra: Value) -> Value {
    let mut p = json!({"_meta": {META_VERSION: MODERN, META_CAPABILITIES: {}}});
    if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
        p.extend(extra);
    }
    p
}

fn headers<'a>(method: &'a str, name: Option<&'a str>) -> Headers<'a> {
    Headers {
        version: Some(MODERN),
        method: Some(method),
        name,
    }
}

fn code(f: Failure) -> i64 {
    match f {
        Failure::Invalid(e) | Failure::UnknownMethod(e) => e.code,
    }
}

#[test]
fn era_selection() {
    let modern_body = json!({"params": {"_meta": {META_VERSION: MODERN}}});
    assert!(selects_stateless(Some("2026-07-28"), &json!({})));
    assert!(selects_stateless(Some("v999"), &json!({})));
    assert!(selects_stateless(None, &modern_body));
    assert!(!selects_stateless(
        Some("2025-11-25"),
        &json!({"method": "initialize"})
    ));
    assert!(!selects_stateless(
        None,
        &json!({"method": "initialize", "params": {}})
    ));
    // initialize with modern `_meta` but a legacy (or no) version header is a legacy handshake;
    // with both it is a modern request for a removed method.
    let modern_init = json!({"method": "initialize", "params": {"_meta": {META_VERSION: MODERN}}});
    assert!(!selects_stateless(None, &modern_init));
    assert!(!selects_stateless(Some("2025-11-25"), &modern_init));
    assert!(!selects_stateless(
        Some(MODERN),
        &json!({"method": "initialize"})
    ));
    assert!(selects_stateless(Some(MODERN), &modern_init));
}

#[test]
fn validation_order_and_codes() {
    let ok = validate(
        headers("tools/list", None),
        request("tools/list", meta_params(json!({}))),
    );
    assert!(ok.is_ok());
    let no_header = Headers {
        version: None,
        ..headers("tools/list", None)
    };
    assert_eq!(
        code(validate(no_header, request("tools/list", meta_params(json!({})))).unwrap_err()),
        errors::HEADER_MISMATCH
    );
    // Missing _meta fields are invalid params, before any version comparison.
    let no_caps = json!({"_meta": {META_VERSION: MODERN}});
    assert_eq!(
        code(validate(headers("tools/list", None), request("tools/list", no_caps)).unwrap_err()),
        codes::INVALID_PARAMS
    );
    let v999 = json!({"_meta": {META_VERSION: "v999", META_CAPABILITIES: {}}});
    assert_eq!(
        code(
            validate(
                headers("tools/list", None),
                request("tools/list", v999.clone())
            )
            .unwrap_err()
        ),
        errors::HEADER_MISMATCH,
        "header and _meta differ"
    );
    let both = Headers {
        version: Some("v999"),
        ..headers("tools/list", None)
    };
    match validate(both, request("tools/list", v999)).unwrap_err() {
        Failure::Invalid(e) => {
            assert_eq!(e.code, errors::UNSUPPORTED_VERSION);
            assert_eq!(e.data.unwrap()["requested"], "v999");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        code(
            validate(
                headers("prompts/list", None),
                request("tools/list", meta_params(json!({})))
            )
            .unwrap_err()
        ),
        errors::HEADER_MISMATCH,
        "Mcp-Method differs"
    );
    assert!(
        validate(
            headers(" tools/list ", None),
            request("tools/list", meta_params(json!({})))
        )
        .is_ok()
    );
    let call = meta_params(json!({"name": "add", "arguments": {}}));
    assert!(
        validate(
            headers("tools/call", Some("add")),
            request("tools/call", call.clone())
        )
        .is_ok()
    );
    assert!(
        validate(
            headers("tools/call", Some("=?base64?YWRk?=")),
            request("tools/call", call.clone())
        )
        .is_ok()
    );
    assert_eq!(
        code(
            validate(
                headers("tools/call", Some("greet")),
                request("tools/call", call.clone())
            )
            .unwrap_err()
        ),
        errors::HEADER_MISMATCH
    );
    assert_eq!(
        code(validate(headers("tools/call", None), request("tools/call", call)).unwrap_err()),
        errors::HEADER_MISMATCH
    );
    for removed in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "nope",
    ] {
        match validate(
            headers(removed, None),
            request(removed, meta_params(json!({}))),
        ) {
            Err(Failure::UnknownMethod(e)) => assert_eq!(e.code, codes::METHOD_NOT_FOUND),
            other => panic!("{removed}: {other:?}"),
        }
    }
}

#[test]
fn header_values() {
    assert_eq!(decode_header_value("=?base64?SGVsbG8=?=").unwrap(), "Hello");
    assert!(
        decode_header_value("=?base64?SGVsbG8?=").is_err(),
        "padding is required"
    );
    assert!(decode_header_value("=?base64?SGVs!!!bG8=?=").is_err());
    assert_eq!(
        decode_header_value("SGVsbG8=").unwrap(),
        "SGVsbG8=",
        "literal"
    );
    assert_eq!(
        decode_header_value("=?base64?SGVsbG8=").unwrap(),
        "=?base64?SGVsbG8="
    );
}

#[test]
fn envelopes() {
    let r = complete("tools/list", json!({"tools": []}), "mcp-hive", "1.0");
    assert_eq!(r["resultType"], "complete");
    assert_eq!(r["_meta"][META_SERVER_INFO]["name"], "mcp-hive");
    assert_eq!(r["ttlMs"], 0);
    assert_eq!(r["cacheScope"], "public");
    let r = complete("tools/call", json!({"content": []}), "mcp-hive", "1.0");
    assert!(r.get("ttlMs").is_none());
    let e = error_message(None, &ErrorObject::new(1, "x"));
    assert!(e.get("id").is_none(), "no null id: {e}");
}
