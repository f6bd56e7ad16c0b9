//! Tools (`server/tools.mdx`): the definition a client lists, the handler that runs a call,
//! input validation against the declared JSON Schema, and the `CallToolResult` shape with
//! `content`, `structuredContent` (2025-06-18+) and `isError`.

use crate::protocol::context::{PeerError, RequestContext};
use crate::protocol::jsonrpc::ErrorObject;
use futures_util::future::BoxFuture;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::future::Future;
use std::sync::Arc;

/// Why a tool call did not produce a normal result.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The arguments are invalid: reported as `isError` (2025-11-25) or -32602 (earlier).
    #[error("{0}")]
    InvalidArguments(String),
    /// The tool ran and failed: reported to the model as an `isError: true` result.
    #[error("{0}")]
    Execution(String),
    /// A protocol-level failure, reported as a JSON-RPC error.
    #[error(transparent)]
    Protocol(#[from] ErrorObject),
    /// The request was cancelled; no response is sent.
    #[error("cancelled")]
    Cancelled,
}

impl From<PeerError> for ToolError {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Cancelled => ToolError::Cancelled,
            other => ToolError::Execution(other.to_string()),
        }
    }
}

/// The result of `tools/call`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallToolResult {
    /// Unstructured content blocks (text, image, audio, resource links, embedded resources).
    pub content: Vec<Value>,
    /// Structured output matching the tool's `outputSchema`.
    pub structured_content: Option<Value>,
    /// True when the tool failed (the model sees the error text).
    pub is_error: bool,
}

impl CallToolResult {
    /// A result with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            content: vec![content::text(text)],
            ..Default::default()
        }
    }

    /// A result with the given content blocks.
    pub fn content(content: Vec<Value>) -> Self {
        Self {
            content,
            ..Default::default()
        }
    }

    /// A structured result; the JSON is mirrored as a text block for older clients, as
    /// `server/tools.mdx` (2025-06-18) recommends.
    pub fn structured(value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        Self {
            content: vec![content::text(value.to_string())],
            structured_content: Some(value),
            is_error: false,
        }
    }

    /// A tool execution error with a message for the model.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            content: vec![content::text(message)],
            structured_content: None,
            is_error: true,
        }
    }

    /// A structured result with its own text block for older clients (instead of the JSON
    /// mirrored by [`CallToolResult::structured`]), as `server/tools.mdx` (2025-06-18) allows.
    pub fn structured_with_text(value: impl Serialize, text: impl Into<String>) -> Self {
        Self {
            content: vec![content::text(text)],
            structured_content: Some(serde_json::to_value(value).unwrap_or(Value::Null)),
            is_error: false,
        }
    }

    /// Replaces the text blocks with `text` while keeping structured content.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.content = vec![content::text(text)];
        self
    }

    /// JSON encoding; `structuredContent` is dropped for revisions that predate it.
    pub fn to_value(&self, structured_supported: bool) -> Value {
        self.clone().into_value(structured_supported)
    }

    /// JSON encoding, moving the content instead of copying it (what the server sends);
    /// `structuredContent` is dropped for revisions that predate it (2025-06-18).
    pub fn into_value(self, structured_supported: bool) -> Value {
        let mut obj = Map::new();
        obj.insert("content".into(), Value::Array(self.content));
        if structured_supported && let Some(s) = self.structured_content {
            obj.insert("structuredContent".into(), s);
        }
        if self.is_error {
            obj.insert("isError".into(), json!(true));
        }
        Value::Object(obj)
    }
}

/// Builders for content blocks (`ContentBlock` in the MCP schema).
pub mod content {
    use serde_json::{Value, json};

    /// `{"type":"text","text":...}`.
    pub fn text(text: impl Into<String>) -> Value {
        json!({"type": "text", "text": text.into()})
    }
    /// `{"type":"image","data":<base64>,"mimeType":...}`.
    pub fn image(base64_data: impl Into<String>, mime_type: &str) -> Value {
        json!({"type": "image", "data": base64_data.into(), "mimeType": mime_type})
    }
    /// `{"type":"audio","data":<base64>,"mimeType":...}` (2025-03-26+).
    pub fn audio(base64_data: impl Into<String>, mime_type: &str) -> Value {
        json!({"type": "audio", "data": base64_data.into(), "mimeType": mime_type})
    }
    /// An embedded text resource.
    pub fn embedded_text(uri: &str, mime_type: &str, text: impl Into<String>) -> Value {
        json!({"type": "resource", "resource": {"uri": uri, "mimeType": mime_type, "text": text.into()}})
    }
}

/// The boxed async handler behind every tool.
pub type ToolHandler = Arc<
    dyn Fn(Value, RequestContext) -> BoxFuture<'static, Result<CallToolResult, ToolError>>
        + Send
        + Sync,
>;

/// A registered tool: its listing and its handler.
#[derive(Clone)]
pub struct ToolDef {
    /// Unique name.
    pub name: String,
    /// Listing fields other than name and schemas (title, description, annotations, ...).
    pub extra: Map<String, Value>,
    /// JSON Schema of the arguments (an object schema).
    pub input_schema: Value,
    /// JSON Schema of `structuredContent`, if declared.
    pub output_schema: Option<Value>,
    /// Scopes needed to call this tool (checked by the auth layer when enabled).
    pub required_scopes: Vec<String>,
    pub(crate) validator: Arc<jsonschema::Validator>,
    pub(crate) handler: ToolHandler,
}

impl std::fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolDef")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Error building a tool definition.
#[derive(Debug, thiserror::Error)]
pub enum ToolDefError {
    /// The input schema is not a valid JSON Schema.
    #[error("tool {name:?}: invalid input schema: {reason}")]
    InvalidSchema {
        /// Tool name.
        name: String,
        /// Validator message.
        reason: String,
    },
}

/// Describes a tool before its handler is attached.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    name: String,
    extra: Map<String, Value>,
    input_schema: Option<Value>,
    output_schema: Option<Value>,
    required_scopes: Vec<String>,
}

impl ToolSpec {
    /// A tool with a name and description.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        let mut extra = Map::new();
        extra.insert("description".into(), Value::String(description.into()));
        Self {
            name: name.into(),
            extra,
            input_schema: None,
            output_schema: None,
            required_scopes: Vec::new(),
        }
    }
    /// Human-friendly title (2025-06-18+).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.extra
            .insert("title".into(), Value::String(title.into()));
        self
    }
    /// Tool annotations (`readOnlyHint`, `destructiveHint`, ...).
    pub fn annotations(mut self, annotations: Value) -> Self {
        self.extra.insert("annotations".into(), annotations);
        self
    }
    /// Any other listing field (`icons`, `_meta`, `execution`, ...).
    pub fn field(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.into(), value);
        self
    }
    /// An explicit input schema (for raw tools).
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = Some(schema);
        self
    }
    /// An explicit output schema.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }
    /// Output schema generated from a Rust type.
    pub fn output<T: JsonSchema>(self) -> Self {
        self.output_schema(schema_of::<T>())
    }
    /// Scopes a caller needs for this tool.
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.required_scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Attaches a handler taking raw JSON arguments (validated against the schema first).
    pub fn build_raw<F, Fut>(self, handler: F) -> Result<ToolDef, ToolDefError>
    where
        F: Fn(Value, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
    {
        let input_schema = self
            .input_schema
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
        let validator =
            jsonschema::validator_for(&input_schema).map_err(|e| ToolDefError::InvalidSchema {
                name: self.name.clone(),
                reason: e.to_string(),
            })?;
        let handler: ToolHandler = Arc::new(move |args, ctx| Box::pin(handler(args, ctx)));
        Ok(ToolDef {
            name: self.name,
            extra: self.extra,
            input_schema,
            output_schema: self.output_schema,
            required_scopes: self.required_scopes,
            validator: Arc::new(validator),
            handler,
        })
    }

    /// Attaches a typed handler; the input schema is generated from `A` with `schemars`.
    pub fn build<A, F, Fut>(mut self, handler: F) -> Result<ToolDef, ToolDefError>
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
    {
        if self.input_schema.is_none() {
            self.input_schema = Some(schema_of::<A>());
        }
        let handler = Arc::new(handler);
        self.build_raw(move |args: Value, ctx| {
            let handler = Arc::clone(&handler);
            async move {
                let args: A = serde_json::from_value(args)
                    .map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
                handler(args, ctx).await
            }
        })
    }
}

/// JSON Schema (draft 2020-12) for a Rust type, with the generator's `title` removed.
pub fn schema_of<T: JsonSchema>() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    if let Value::Object(obj) = &mut schema {
        obj.remove("title");
        obj.entry("type").or_insert(json!("object"));
    }
    schema
}

impl ToolDef {
    /// The `Tool` object for `tools/list`.
    pub fn listing(&self, structured_supported: bool) -> Value {
        let mut obj = self.extra.clone();
        obj.insert("name".into(), json!(self.name));
        obj.insert("inputSchema".into(), self.input_schema.clone());
        if structured_supported && let Some(schema) = &self.output_schema {
            obj.insert("outputSchema".into(), schema.clone());
        }
        Value::Object(obj)
    }

    /// Validates arguments against the input schema; the message lists every violation.
    pub fn validate(&self, args: &Value) -> Result<(), String> {
        // The common case first: `is_valid` stops early and builds no error values.
        if self.validator.is_valid(args) {
            return Ok(());
        }
        let errors: Vec<String> = self
            .validator
            .iter_errors(args)
            .map(|e| {
                let path = e.instance_path().to_string();
                if path.is_empty() {
                    e.to_string()
                } else {
                    format!("{path}: {e}")
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "Invalid arguments for tool {}: {}",
                self.name,
                errors.join("; ")
            ))
        }
    }

    /// Runs the handler.
    pub fn call(
        &self,
        args: Value,
        ctx: RequestContext,
    ) -> BoxFuture<'static, Result<CallToolResult, ToolError>> {
        (self.handler)(args, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_encodes_per_revision_and_the_moving_encoding_matches_the_copying_one() {
        let r = CallToolResult::structured_with_text(json!({"result": 3}), "three");
        let full = r.to_value(true);
        assert_eq!(
            full,
            json!({"content": [{"type": "text", "text": "three"}], "structuredContent": {"result": 3}})
        );
        assert_eq!(r.clone().into_value(true), full);
        // Revisions before 2025-06-18 get the text only.
        assert_eq!(
            r.into_value(false),
            json!({"content": [{"type": "text", "text": "three"}]})
        );
        let e = CallToolResult::error("no");
        assert_eq!(e.to_value(true)["isError"], true);
        assert_eq!(e.into_value(false)["isError"], true);
        // `structured` mirrors the JSON as its text block.
        let s = CallToolResult::structured(json!({"a": 1}));
        assert_eq!(s.content, vec![content::text(r#"{"a":1}"#)]);
    }
}
