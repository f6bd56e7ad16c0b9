//! `Mcp-Param-{Name}` headers (MCP 2026-07-28 `basic/transports/streamable-http.mdx` §Custom
//! Headers, `server/tools.mdx` `x-mcp-header`): a tool may mark primitive top-level arguments
//! with `"x-mcp-header": "<Name>"`; clients then mirror the argument's value into the header
//! `Mcp-Param-<Name>` so that intermediaries can route on it. The server MUST decode the value
//! (`=?base64?...?=`), reject invalid characters, and reject a request whose header is missing
//! while the body carries the value, or whose header differs from the body. Numbers compare
//! numerically.

use super::decode_header_value;
use serde_json::Value;

/// Header name prefix (header names are case-insensitive).
pub const PREFIX: &str = "mcp-param-";

/// The `(argument, header suffix)` pairs a tool's input schema declares.
pub fn declared(input_schema: &Value) -> Vec<(String, String)> {
    let Some(props) = input_schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .filter_map(|(arg, def)| {
            def.get("x-mcp-header")
                .and_then(Value::as_str)
                .map(|h| (arg.clone(), h.to_owned()))
        })
        .collect()
}

/// Checks the headers of one `tools/call` against its arguments; `header(name)` looks a header
/// up case-insensitively (`name` is lower-case). The error text is for a `-32020` error.
pub fn check<'a>(
    declared: &[(String, String)],
    arguments: &Value,
    header: impl Fn(&str) -> Option<&'a str>,
) -> Result<(), String> {
    for (arg, suffix) in declared {
        let name = format!("{PREFIX}{}", suffix.to_ascii_lowercase());
        let sent = header(&name)
            .map(|raw| {
                decode_header_value(raw.trim()).map_err(|e| format!("Mcp-Param-{suffix}: {e}"))
            })
            .transpose()?;
        let body = arguments.get(arg).filter(|v| !v.is_null());
        match (sent, body) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(format!(
                    "the Mcp-Param-{suffix} header is required: argument {arg:?} is in the body"
                ));
            }
            (Some(_), None) => {
                return Err(format!(
                    "Mcp-Param-{suffix} is sent but argument {arg:?} is not in the body"
                ));
            }
            (Some(sent), Some(value)) => {
                if !matches(&sent, value) {
                    return Err(format!(
                        "Mcp-Param-{suffix} differs from argument {arg:?} in the body"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn matches(sent: &str, value: &Value) -> bool {
    match value {
        Value::String(s) => s == sent,
        Value::Bool(b) => sent == if *b { "true" } else { "false" },
        Value::Number(n) => match (sent.parse::<f64>(), n.as_f64()) {
            (Ok(a), Some(b)) => a == b,
            _ => false,
        },
        // Objects and arrays cannot be mirrored; a tool must not annotate them.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "count": {"type": "integer", "x-mcp-header": "Count"},
            "note": {"type": "string"}
        }})
    }

    #[test]
    fn headers_must_mirror_annotated_arguments() {
        let d = declared(&schema());
        assert_eq!(d.len(), 2);
        let args = json!({"region": "ünïcode", "count": 5});
        let ok = |n: &str| match n {
            "mcp-param-region" => Some("=?base64?w7xuw69jb2Rl?="),
            "mcp-param-count" => Some("5.0"),
            _ => None,
        };
        assert_eq!(check(&d, &args, ok), Ok(()));
        let missing = |n: &str| (n == "mcp-param-count").then_some("5");
        assert!(check(&d, &args, missing).is_err());
        let differs = |n: &str| match n {
            "mcp-param-region" => Some("other"),
            _ => Some("5"),
        };
        assert!(check(&d, &args, differs).is_err());
        let bad_base64 = |n: &str| match n {
            "mcp-param-region" => Some("=?base64?w7xuw69jb2Rl=?="),
            _ => Some("5"),
        };
        assert!(check(&d, &args, bad_base64).is_err());
        assert_eq!(check(&d, &json!({}), |_| None), Ok(()));
        assert!(check(&d, &json!({}), |n| (n == "mcp-param-count").then_some("1")).is_err());
    }
}
