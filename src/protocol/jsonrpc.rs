//! JSON-RPC 2.0 framing for MCP: request ids, the four message kinds, error objects and the
//! strict decoder that turns an untrusted `serde_json::Value` into typed messages.
//!
//! MCP (every revision, `basic/index.mdx`) narrows JSON-RPC 2.0: request ids are strings or
//! integers and never `null`, notifications carry no id, and a message is exactly one of request,
//! notification, success response or error response. Everything here is transport-agnostic.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::fmt;

/// Standard JSON-RPC 2.0 error codes (JSON-RPC 2.0 §5.1) and the MCP-specific ones in use.
pub mod codes {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Transport-level "bad request" used with HTTP 4xx bodies that have no better code
    /// (the value the official SDKs use for missing session headers and similar).
    pub const SERVER_ERROR: i64 = -32000;
    /// Session not found (HTTP 404), as used by the official SDKs.
    pub const SESSION_NOT_FOUND: i64 = -32001;
    /// Resource not found (MCP 2025-06-18 / 2025-11-25 `server/resources.mdx`).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// The request was cancelled before it produced a result.
    pub const REQUEST_CANCELLED: i64 = -32800;
}

/// A JSON-RPC request id: a string or an integer, never null (MCP `basic/index.mdx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(untagged)]
pub enum RequestId {
    /// Integer id.
    Number(i64),
    /// String id.
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl RequestId {
    /// Reads an id from JSON; `None` for anything but a string or an integer.
    pub fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Some(RequestId::String(s.clone())),
            Value::Number(n) => n.as_i64().map(RequestId::Number),
            _ => None,
        }
    }

    /// The id as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            RequestId::Number(n) => json!(n),
            RequestId::String(s) => json!(s),
        }
    }
}

/// A JSON-RPC error object (`{"code", "message", "data"?}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("JSON-RPC error {code}: {message}")]
pub struct ErrorObject {
    /// Numeric error code.
    pub code: i64,
    /// Short human-readable description.
    pub message: String,
    /// Optional structured detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds structured `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// -32700.
    pub fn parse_error(detail: impl fmt::Display) -> Self {
        Self::new(codes::PARSE_ERROR, format!("Parse error: {detail}"))
    }
    /// -32600.
    pub fn invalid_request(detail: impl fmt::Display) -> Self {
        Self::new(codes::INVALID_REQUEST, format!("Invalid Request: {detail}"))
    }
    /// -32601.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            codes::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
    }
    /// -32602.
    pub fn invalid_params(detail: impl fmt::Display) -> Self {
        Self::new(codes::INVALID_PARAMS, format!("Invalid params: {detail}"))
    }
    /// -32603.
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(codes::INTERNAL_ERROR, format!("Internal error: {detail}"))
    }
}

/// One decoded JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request expecting a response.
    Request(Request),
    /// A notification (no id, no response).
    Notification(Notification),
    /// A success response to an earlier request of the other side.
    Response(Response),
    /// An error response to an earlier request of the other side.
    Error(ErrorResponse),
}

/// A JSON-RPC request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The request id.
    pub id: RequestId,
    /// Method name.
    pub method: String,
    /// Parameters (an object, or `Null` when absent).
    pub params: Value,
}

/// A JSON-RPC notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Method name.
    pub method: String,
    /// Parameters (an object, or `Null` when absent).
    pub params: Value,
}

/// A JSON-RPC success response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The id of the request answered.
    pub id: RequestId,
    /// The result.
    pub result: Value,
}

/// A JSON-RPC error response.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorResponse {
    /// The id of the request answered, if it could be determined.
    pub id: Option<RequestId>,
    /// The error.
    pub error: ErrorObject,
}

impl Message {
    /// The method name for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            _ => None,
        }
    }

    /// True for requests (the only kind that expects an answer).
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }

    /// Decodes one message, enforcing the JSON-RPC 2.0 and MCP shape rules.
    pub fn from_value(value: Value) -> Result<Self, ErrorObject> {
        let Value::Object(mut obj) = value else {
            return Err(ErrorObject::invalid_request(
                "message must be a JSON object",
            ));
        };
        match obj.get("jsonrpc") {
            Some(Value::String(v)) if v == "2.0" => {}
            _ => return Err(ErrorObject::invalid_request("\"jsonrpc\" must be \"2.0\"")),
        }
        let id = match obj.remove("id") {
            None => None,
            Some(Value::Null) => {
                if obj.contains_key("error") {
                    None
                } else {
                    return Err(ErrorObject::invalid_request("\"id\" must not be null"));
                }
            }
            Some(v) => Some(RequestId::from_value(&v).ok_or_else(|| {
                ErrorObject::invalid_request("\"id\" must be a string or an integer")
            })?),
        };
        let method = obj.remove("method");
        let has_result = obj.contains_key("result");
        let has_error = obj.contains_key("error");
        match (method, id) {
            (Some(Value::String(method)), id) => {
                if has_result || has_error {
                    return Err(ErrorObject::invalid_request(
                        "a request must not carry \"result\" or \"error\"",
                    ));
                }
                let params = match obj.remove("params") {
                    None | Some(Value::Null) => Value::Null,
                    Some(p @ Value::Object(_)) => p,
                    Some(_) => {
                        return Err(ErrorObject::invalid_request("\"params\" must be an object"));
                    }
                };
                Ok(match id {
                    Some(id) => Message::Request(Request { id, method, params }),
                    None => Message::Notification(Notification { method, params }),
                })
            }
            (Some(_), _) => Err(ErrorObject::invalid_request("\"method\" must be a string")),
            (None, id) => match (has_result, has_error) {
                (true, false) => {
                    let id = id.ok_or_else(|| {
                        ErrorObject::invalid_request("a response must carry an \"id\"")
                    })?;
                    let result = obj.remove("result").unwrap_or(Value::Null);
                    Ok(Message::Response(Response { id, result }))
                }
                (false, true) => {
                    let error = obj.remove("error").unwrap_or(Value::Null);
                    let error: ErrorObject = serde_json::from_value(error).map_err(|e| {
                        ErrorObject::invalid_request(format!("malformed \"error\": {e}"))
                    })?;
                    Ok(Message::Error(ErrorResponse { id, error }))
                }
                (true, true) => Err(ErrorObject::invalid_request(
                    "a response must not carry both \"result\" and \"error\"",
                )),
                (false, false) => Err(ErrorObject::invalid_request(
                    "missing \"method\", \"result\" or \"error\"",
                )),
            },
        }
    }

    /// Encodes the message as JSON.
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("jsonrpc".into(), json!("2.0"));
        match self {
            Message::Request(r) => {
                obj.insert("id".into(), r.id.to_value());
                obj.insert("method".into(), json!(r.method));
                if !r.params.is_null() {
                    obj.insert("params".into(), r.params.clone());
                }
            }
            Message::Notification(n) => {
                obj.insert("method".into(), json!(n.method));
                if !n.params.is_null() {
                    obj.insert("params".into(), n.params.clone());
                }
            }
            Message::Response(r) => {
                obj.insert("id".into(), r.id.to_value());
                obj.insert("result".into(), r.result.clone());
            }
            Message::Error(e) => {
                obj.insert(
                    "id".into(),
                    e.id.as_ref().map_or(Value::Null, RequestId::to_value),
                );
                obj.insert("error".into(), json!(e.error));
            }
        }
        Value::Object(obj)
    }
}

/// The member at `path` (object keys, outermost first), as `Value::pointer` finds
/// `/<k1>/<k2>…` for keys without `~` or `/`, but without its two `String`s per key (RFC 6901
/// unescaping): it runs on every `tools/call`, where those were about 2 % of an SSE reply's
/// instructions.
pub fn member<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

/// A JSON-RPC success response as JSON.
pub fn response_value(id: &RequestId, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id.to_value(), "result": result})
}

/// A JSON-RPC error response as JSON; `id: null` when the request id is unknown
/// (JSON-RPC 2.0 §5), which is also the "no id" error body MCP allows on HTTP 4xx.
pub fn error_value(id: Option<&RequestId>, error: &ErrorObject) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id.map_or(Value::Null, RequestId::to_value),
        "error": error,
    })
}

/// A notification as JSON.
pub fn notification_value(method: &str, params: Value) -> Value {
    Message::Notification(Notification {
        method: method.to_owned(),
        params,
    })
    .to_value()
}

/// The body of one POST: a single message or (MCP 2025-03-26 only) a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// One message.
    Single(Message),
    /// A JSON array of messages.
    Batch(Vec<Message>),
}

impl Payload {
    /// Decodes a POST body. Each element of a batch must itself be valid; an empty batch is
    /// an invalid request (JSON-RPC 2.0 §6).
    pub fn from_value(value: Value) -> Result<Self, ErrorObject> {
        match value {
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(ErrorObject::invalid_request("empty batch"));
                }
                items
                    .into_iter()
                    .map(Message::from_value)
                    .collect::<Result<Vec<_>, _>>()
                    .map(Payload::Batch)
            }
            other => Message::from_value(other).map(Payload::Single),
        }
    }

    /// The messages, in order.
    pub fn messages(&self) -> &[Message] {
        match self {
            Payload::Single(m) => std::slice::from_ref(m),
            Payload::Batch(ms) => ms,
        }
    }

    /// Consumes the payload into its messages.
    pub fn into_messages(self) -> Vec<Message> {
        match self {
            Payload::Single(m) => vec![m],
            Payload::Batch(ms) => ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_finds_what_a_pointer_of_keys_finds() {
        let v = json!({"params": {"name": "add", "_meta": {"progressToken": 7}, "n": null},
                       "list": [{"a": 1}], "s": "x"});
        for path in [
            &["params", "name"][..],
            &["params", "_meta", "progressToken"],
            &["params", "n"],
            &["params", "missing"],
            &["s", "x"],
            &["missing", "name"],
            &["params"],
        ] {
            let pointer = format!("/{}", path.join("/"));
            assert_eq!(member(&v, path), v.pointer(&pointer), "{pointer}");
        }
        assert_eq!(member(&v, &[]), Some(&v));
        // Object keys only: an array is not indexed by a key.
        assert_eq!(member(&v, &["list", "0"]), None);
    }

    #[test]
    fn decodes_each_kind() {
        let r = Message::from_value(json!({"jsonrpc":"2.0","id":1,"method":"ping"})).unwrap();
        assert!(matches!(
            r,
            Message::Request(Request {
                id: RequestId::Number(1),
                ..
            })
        ));
        let n = Message::from_value(json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .unwrap();
        assert!(matches!(n, Message::Notification(_)));
        let ok = Message::from_value(json!({"jsonrpc":"2.0","id":"a","result":{}})).unwrap();
        assert!(matches!(ok, Message::Response(_)));
        let err = Message::from_value(
            json!({"jsonrpc":"2.0","id":"a","error":{"code":-1,"message":"x"}}),
        )
        .unwrap();
        assert!(matches!(err, Message::Error(_)));
    }

    #[test]
    fn rejects_bad_shapes() {
        for bad in [
            json!({"id":1,"method":"ping"}),
            json!({"jsonrpc":"1.0","id":1,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":null,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1.5,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":{},"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1,"method":7}),
            json!({"jsonrpc":"2.0","id":1,"method":"x","params":[1]}),
            json!({"jsonrpc":"2.0","id":1}),
            json!({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":""}}),
            json!([1, 2]),
            json!("str"),
        ] {
            let e = Payload::from_value(bad.clone()).unwrap_err();
            assert_eq!(e.code, codes::INVALID_REQUEST, "{bad}");
        }
        assert_eq!(
            Payload::from_value(json!([])).unwrap_err().code,
            codes::INVALID_REQUEST
        );
    }

    #[test]
    fn round_trips() {
        let v = json!({"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"a"}});
        assert_eq!(Message::from_value(v.clone()).unwrap().to_value(), v);
    }
}
