//! Label sets of the metric families and the rules that keep their cardinality bounded: MCP
//! method names outside the known set become `other`, tool names outside the registry become
//! `other` (decided by the caller, who has the registry), protocol versions outside the known
//! revisions become `other`, error codes outside the JSON-RPC reserved range become `_OTHER`.
//! No label ever carries a session id, a principal, a token or a URL with a query.
//!
//! Label names follow the OpenTelemetry → Prometheus convention: the attribute name with dots
//! replaced by underscores (`mcp.method.name` → `mcp_method_name`).

use crate::protocol::version::ProtocolVersion;
use prometheus_client::encoding::EncodeLabelSet;

/// Methods of every MCP revision this server speaks (requests and notifications from clients,
/// and the 2026-07-28 lane's), after the OpenTelemetry MCP conventions' well-known values.
pub const KNOWN_METHODS: [&str; 30] = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "roots/list",
    "sampling/createMessage",
    "elicitation/create",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/message",
    "notifications/roots/list_changed",
    "notifications/resources/updated",
    "notifications/resources/list_changed",
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
    "server/discover",
    "subscriptions/listen",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
];

/// The label value for a method name: itself when known, `other` otherwise.
pub fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

/// The label value for a protocol revision: itself when this server speaks it, `""` when
/// unknown (no header), `other` otherwise.
pub fn version_label(version: Option<&str>) -> &'static str {
    let Some(v) = version else { return "" };
    if v == crate::protocol::stateless::MODERN {
        return crate::protocol::stateless::MODERN;
    }
    ProtocolVersion::ALL
        .iter()
        .map(|p| p.as_str())
        .find(|p| *p == v)
        .unwrap_or("other")
}

/// The `error.type` of a JSON-RPC error code: the code itself within the reserved range
/// (-32768..=-32000), `_OTHER` beyond it (tool handlers may choose any code).
pub fn rpc_error_label(code: i64) -> String {
    if (-32768..=-32000).contains(&code) {
        code.to_string()
    } else {
        "_OTHER".to_owned()
    }
}

/// The `error.type` of a failed HTTP response: its status class.
pub fn status_class(status: u16) -> &'static str {
    match status {
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "",
    }
}

/// The HTTP method label (OpenTelemetry HTTP conventions: known methods, else `_OTHER`).
pub fn http_method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("_OTHER")
}

/// `mcp.server.operation.duration`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// `mcp.method.name` (bounded by [`method_label`]).
    pub mcp_method_name: &'static str,
    /// `gen_ai.tool.name` of `tools/call` (registered tools, else `other`); empty otherwise.
    pub gen_ai_tool_name: String,
    /// `error.type`: a JSON-RPC error code, `tool_error`, an HTTP status class, or empty.
    pub error_type: String,
    /// `mcp.protocol.version` (bounded by [`version_label`]).
    pub mcp_protocol_version: &'static str,
    /// `network.transport`: always `tcp` here (stdio has no metrics endpoint).
    pub network_transport: &'static str,
    /// `network.protocol.name`: always `http` here.
    pub network_protocol_name: &'static str,
}

/// `mcp.server.session.duration`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SessionLabels {
    /// `mcp.protocol.version`.
    pub mcp_protocol_version: &'static str,
    /// `network.transport`.
    pub network_transport: &'static str,
    /// `network.protocol.name`.
    pub network_protocol_name: &'static str,
}

/// `http.server.request.duration`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// `http.request.method`.
    pub http_request_method: &'static str,
    /// `http.response.status_code`.
    pub http_response_status_code: u16,
    /// `http.route`: the matched route pattern, empty when none matched.
    pub http_route: String,
}

/// Open SSE connections by how they were opened.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    /// `post` (a POST answered as SSE), `get` (standalone stream or a resumption), `listen`
    /// (2026-07-28 `subscriptions/listen`), `legacy` (HTTP+SSE `GET /sse`).
    pub kind: &'static str,
}

/// `db.client.operation.duration` of the Redis store.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DbLabels {
    /// `db.system.name`: `redis`.
    pub db_system_name: &'static str,
    /// `db.operation.name`: the store's operation (`session.load`, `events.append`, ...).
    pub db_operation_name: &'static str,
}

/// Failed Redis operations.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DbErrorLabels {
    /// `db.system.name`: `redis`.
    pub db_system_name: &'static str,
    /// `db.operation.name`.
    pub db_operation_name: &'static str,
    /// `error.type`: `unavailable` (unreachable, timed out) or `corrupt` (undecodable data).
    pub error_type: &'static str,
}

/// A label set of one low-cardinality word.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `hit`/`miss`, `active`/`inactive`/`error`, `ok`/`error`, `local`/`store`.
    pub result: &'static str,
}

/// The rate limiter's backend.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabels {
    /// `local` or `store`.
    pub backend: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_within_their_sets() {
        assert_eq!(method_label("tools/call"), "tools/call");
        assert_eq!(method_label("tools/call/../x"), "other");
        assert_eq!(method_label("a".repeat(500).as_str()), "other");
        assert_eq!(version_label(Some("2025-06-18")), "2025-06-18");
        assert_eq!(version_label(Some("2026-07-28")), "2026-07-28");
        assert_eq!(version_label(Some("1999-01-01")), "other");
        assert_eq!(version_label(None), "");
        assert_eq!(rpc_error_label(-32601), "-32601");
        assert_eq!(rpc_error_label(42), "_OTHER");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(http_method_label("BREW"), "_OTHER");
    }
}
