//! What a client request may change besides its own reply, read off the method and, for
//! `tools/call`, the tool's annotations (MCP 2025-06-18 and later `server/tools.mdx`, "Tool
//! annotations": `readOnlyHint` — the tool does not modify its environment; `idempotentHint` —
//! calling it again with the same arguments has no additional effect).
//!
//! The session layer asks two questions:
//! - [`reads_only`]: does the request change nothing, so that it may run before the session is
//!   known to still exist, as long as its reply is refused when it is not (the per-request
//!   session check riding on the store's write of the reply);
//! - [`safe_to_repeat`]: may the request run a second time after the replica running it died
//!   (taking over its stream).
//!
//! Annotations are the tool author's word: a tool that says `readOnlyHint: true` and writes
//! somewhere is the tool's bug, as for any MCP client relying on the hint.

use crate::protocol::jsonrpc::Request;
use crate::registry::Registry;
use serde_json::Value;

/// Methods that read server state and change nothing (their handlers only answer).
const READING_METHODS: [&str; 8] = [
    "ping",
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
    "completion/complete",
];

/// Methods that set a value of the session: running them twice leaves the same state.
const SETTING_METHODS: [&str; 3] = [
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// Whether `req` changes nothing: a reading method, or `tools/call` of a tool annotated
/// `readOnlyHint: true` and not run as a task (a task is a stored record).
pub fn reads_only(registry: &Registry, req: &Request) -> bool {
    match req.method.as_str() {
        "tools/call" => {
            req.params.get("task").is_none() && tool_hint(registry, req, "readOnlyHint")
        }
        m => READING_METHODS.contains(&m),
    }
}

/// Whether `req` may run again after a first run whose outcome is unknown: reading and setting
/// methods, and `tools/call` of tools annotated `readOnlyHint` or `idempotentHint`.
pub fn safe_to_repeat(registry: &Registry, req: &Request) -> bool {
    match req.method.as_str() {
        "tools/call" => {
            tool_hint(registry, req, "readOnlyHint") || tool_hint(registry, req, "idempotentHint")
        }
        m => READING_METHODS.contains(&m) || SETTING_METHODS.contains(&m),
    }
}

/// Whether the tool a `tools/call` names is registered with annotation `hint` set to `true`
/// (an unknown tool has no annotations: it is answered with an error, but not presumed safe).
fn tool_hint(registry: &Registry, req: &Request, hint: &str) -> bool {
    req.params
        .get("name")
        .and_then(Value::as_str)
        .and_then(|name| registry.tool(name))
        .and_then(|tool| tool.extra.get("annotations")?.get(hint)?.as_bool())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::jsonrpc::RequestId;
    use crate::registry::tool::{CallToolResult, ToolSpec};
    use serde_json::json;

    fn registry() -> Registry {
        let registry = Registry::new();
        for (name, annotations) in [
            ("reader", json!({"readOnlyHint": true})),
            ("setter", json!({"idempotentHint": true})),
            (
                "writer",
                json!({"readOnlyHint": false, "destructiveHint": true}),
            ),
            ("plain", Value::Null),
        ] {
            let mut spec = ToolSpec::new(name, "test tool");
            if !annotations.is_null() {
                spec = spec.annotations(annotations);
            }
            let tool = spec
                .build_raw(|_args, _ctx| async { Ok(CallToolResult::text("ok")) })
                .unwrap();
            registry.add_tool(tool);
        }
        registry
    }

    fn request(method: &str, params: Value) -> Request {
        Request {
            id: RequestId::Number(1),
            method: method.to_owned(),
            params,
        }
    }

    fn call(name: &str) -> Request {
        request("tools/call", json!({"name": name, "arguments": {}}))
    }

    #[test]
    fn only_read_only_tools_and_reading_methods_read_only() {
        let r = registry();
        assert!(reads_only(&r, &call("reader")));
        for name in ["setter", "writer", "plain", "unknown"] {
            assert!(!reads_only(&r, &call(name)), "{name}");
        }
        for m in READING_METHODS {
            assert!(reads_only(&r, &request(m, json!({}))), "{m}");
        }
        for m in SETTING_METHODS
            .into_iter()
            .chain(["tools/unknown", "sampling/createMessage"])
        {
            assert!(!reads_only(&r, &request(m, json!({}))), "{m}");
        }
    }

    #[test]
    fn a_read_only_tool_run_as_a_task_is_not_read_only() {
        let r = registry();
        let task = request(
            "tools/call",
            json!({"name": "reader", "arguments": {}, "task": {"ttl": 1000}}),
        );
        assert!(!reads_only(&r, &task));
    }

    #[test]
    fn read_only_and_idempotent_tools_and_setters_may_repeat() {
        let r = registry();
        assert!(safe_to_repeat(&r, &call("reader")));
        assert!(safe_to_repeat(&r, &call("setter")));
        assert!(!safe_to_repeat(&r, &call("writer")));
        assert!(!safe_to_repeat(&r, &call("plain")));
        assert!(!safe_to_repeat(&r, &call("unknown")));
        assert!(safe_to_repeat(&r, &request("logging/setLevel", json!({}))));
        assert!(safe_to_repeat(&r, &request("ping", json!({}))));
        assert!(!safe_to_repeat(&r, &request("tools/unknown", json!({}))));
    }
}
