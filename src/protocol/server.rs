//! The MCP method dispatcher: `initialize` results and capabilities, and every request whose
//! answer depends only on the registry (tools, resources, prompts, completion, ping).
//!
//! Session state (log level, subscriptions, negotiated version) is owned by whoever calls this:
//! the session actor in the session era. Methods that change it are parsed here
//! ([`parse_set_level`], [`parse_subscription`]) so the rules live in one place.

use crate::protocol::context::{LogLevel, RequestContext};
use crate::protocol::jsonrpc::{ErrorObject, codes};
use crate::protocol::pagination;
use crate::protocol::version::ProtocolVersion;
use crate::registry::Registry;
use crate::registry::prompt::{CompletionRef, completion_result};
use crate::registry::tool::ToolError;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Name, version and instructions the server announces.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// `serverInfo.name`.
    pub name: String,
    /// `serverInfo.version`.
    pub version: String,
    /// `instructions` in the initialize result.
    pub instructions: Option<String>,
}

impl Default for ServerInfo {
    fn default() -> Self {
        Self {
            name: "mcp-hive".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            instructions: None,
        }
    }
}

/// The outcome of a dispatched request.
#[derive(Debug)]
pub enum Outcome {
    /// Send this result.
    Result(Value),
    /// Send this JSON-RPC error.
    Error(ErrorObject),
    /// Send nothing: the request was cancelled (`basic/utilities/cancellation.mdx`).
    Cancelled,
}

impl From<Result<Value, ErrorObject>> for Outcome {
    fn from(r: Result<Value, ErrorObject>) -> Self {
        match r {
            Ok(v) => Outcome::Result(v),
            Err(e) => Outcome::Error(e),
        }
    }
}

/// Stateless MCP request handling over a [`Registry`].
#[derive(Clone)]
pub struct McpServer {
    /// What is offered.
    pub registry: Registry,
    /// Who we are.
    pub info: ServerInfo,
    /// Items per page in list results.
    pub page_size: usize,
}

impl McpServer {
    /// A server over a registry.
    pub fn new(registry: Registry, info: ServerInfo, page_size: usize) -> Self {
        Self {
            registry,
            info,
            page_size,
        }
    }

    /// Server capabilities (`basic/lifecycle.mdx`, "Capability Negotiation").
    pub fn capabilities(&self) -> Value {
        json!({
            "tools": {"listChanged": true},
            "resources": {"subscribe": true, "listChanged": true},
            "prompts": {"listChanged": true},
            "logging": {},
            "completions": {},
        })
    }

    /// The `server/discover` result of the stateless lane (MCP 2026-07-28 `server/discover.mdx`),
    /// before the envelope of [`crate::protocol::stateless::complete`].
    pub fn discover_result(&self) -> Value {
        // The session-era capabilities hold: list changes and resource updates reach
        // `subscriptions/listen` streams, logs and progress reach SSE replies.
        let caps = self.capabilities();
        let mut result = json!({
            "supportedVersions": crate::protocol::stateless::SUPPORTED,
            "capabilities": caps,
        });
        if let Some(instructions) = &self.info.instructions {
            result["instructions"] = json!(instructions);
        }
        result
    }

    /// The `InitializeResult` for a negotiated version.
    pub fn initialize_result(&self, version: ProtocolVersion) -> Value {
        let mut result = json!({
            "protocolVersion": version.as_str(),
            "capabilities": self.capabilities(),
            "serverInfo": {"name": self.info.name, "version": self.info.version},
        });
        if let Some(instructions) = &self.info.instructions {
            result["instructions"] = json!(instructions);
        }
        result
    }

    /// Dispatches a registry-backed request.
    pub async fn handle(&self, ctx: RequestContext, method: &str, params: Value) -> Outcome {
        match method {
            "ping" => Outcome::Result(json!({})),
            "tools/list" => self.list(&params, "tools", |s| {
                let structured = ctx.protocol_version.has_structured_output();
                s.registry
                    .tools()
                    .iter()
                    .map(|t| t.listing(structured))
                    .collect()
            }),
            "tools/call" => self.call_tool(ctx, params).await,
            "resources/list" => self.list(&params, "resources", |s| {
                s.registry
                    .resources()
                    .iter()
                    .map(|r| r.to_listing())
                    .collect()
            }),
            "resources/templates/list" => self.list(&params, "resourceTemplates", |s| {
                s.registry
                    .templates()
                    .iter()
                    .map(|t| t.to_listing())
                    .collect()
            }),
            "resources/read" => self.read_resource(ctx, &params).await.into(),
            "prompts/list" => self.list(&params, "prompts", |s| {
                s.registry
                    .prompts()
                    .iter()
                    .map(|p| p.to_listing())
                    .collect()
            }),
            "prompts/get" => self.get_prompt(ctx, &params).await.into(),
            "completion/complete" => self.complete(&params).into(),
            other => Outcome::Error(ErrorObject::method_not_found(other)),
        }
    }

    fn list(&self, params: &Value, key: &str, items: impl FnOnce(&Self) -> Vec<Value>) -> Outcome {
        let all = items(self);
        match pagination::page(key, &all, params.get("cursor"), self.page_size) {
            Ok((page, next)) => {
                let mut result = json!({ key: page });
                if let Some(next) = next {
                    result["nextCursor"] = json!(next);
                }
                Outcome::Result(result)
            }
            Err(e) => Outcome::Error(e),
        }
    }

    async fn call_tool(&self, ctx: RequestContext, mut params: Value) -> Outcome {
        // Moved out of the params, not cloned: arguments can be large.
        let arguments = params.as_object_mut().and_then(|p| p.remove("arguments"));
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return Outcome::Error(ErrorObject::invalid_params("missing tool \"name\""));
        };
        let Some(tool) = self.registry.tool(name) else {
            return Outcome::Error(ErrorObject::invalid_params(format!("Unknown tool: {name}")));
        };
        let args = match arguments {
            None | Some(Value::Null) => json!({}),
            Some(a @ Value::Object(_)) => a,
            Some(_) => {
                return Outcome::Error(ErrorObject::invalid_params(
                    "\"arguments\" must be an object",
                ));
            }
        };
        let version = ctx.protocol_version;
        let invalid = |msg: String| {
            if version.input_errors_are_tool_errors() {
                Outcome::Result(crate::registry::tool::CallToolResult::error(msg).into_value(true))
            } else {
                Outcome::Error(ErrorObject::invalid_params(msg))
            }
        };
        if let Err(msg) = tool.validate(&args) {
            return invalid(msg);
        }
        let cancel = ctx.cancellation.clone();
        let structured = version.has_structured_output();
        let run = tool.call(args, ctx);
        let result = tokio::select! {
            biased;
            () = cancel.cancelled() => return Outcome::Cancelled,
            r = run => r,
        };
        match result {
            Ok(r) => Outcome::Result(r.into_value(structured)),
            Err(ToolError::InvalidArguments(msg)) => {
                invalid(format!("Invalid arguments for tool {name}: {msg}"))
            }
            Err(ToolError::Execution(msg)) => Outcome::Result(
                crate::registry::tool::CallToolResult::error(msg).into_value(structured),
            ),
            Err(ToolError::Protocol(e)) => Outcome::Error(e),
            Err(ToolError::Cancelled) => Outcome::Cancelled,
        }
    }

    async fn read_resource(
        &self,
        ctx: RequestContext,
        params: &Value,
    ) -> Result<Value, ErrorObject> {
        let uri = params
            .get("uri")
            .and_then(Value::as_str)
            .ok_or_else(|| ErrorObject::invalid_params("missing \"uri\""))?
            .to_owned();
        let contents = if let Some(resource) = self.registry.resource(&uri) {
            (resource.reader)(uri.clone(), ctx).await?
        } else if let Some((template, vars)) = self.registry.match_template(&uri) {
            (template.reader)(uri.clone(), vars, ctx).await?
        } else {
            return Err(resource_not_found(&uri));
        };
        Ok(json!({ "contents": contents }))
    }

    async fn get_prompt(&self, ctx: RequestContext, params: &Value) -> Result<Value, ErrorObject> {
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ErrorObject::invalid_params("missing prompt \"name\""))?;
        let prompt = self
            .registry
            .prompt(name)
            .ok_or_else(|| ErrorObject::invalid_params(format!("Unknown prompt: {name}")))?;
        let args = string_map(params.get("arguments"))?;
        prompt.check_arguments(&args)?;
        (prompt.renderer)(args, ctx).await
    }

    fn complete(&self, params: &Value) -> Result<Value, ErrorObject> {
        let reference = params
            .get("ref")
            .ok_or_else(|| ErrorObject::invalid_params("missing \"ref\""))?;
        let reference = match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => {
                let name = reference.get("name").and_then(Value::as_str).unwrap_or("");
                if self.registry.prompt(name).is_none() {
                    return Err(ErrorObject::invalid_params(format!(
                        "Unknown prompt: {name}"
                    )));
                }
                CompletionRef::Prompt(name.to_owned())
            }
            Some("ref/resource") => CompletionRef::ResourceTemplate(
                reference
                    .get("uri")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ),
            _ => {
                return Err(ErrorObject::invalid_params(
                    "\"ref.type\" must be ref/prompt or ref/resource",
                ));
            }
        };
        let argument = params
            .get("argument")
            .ok_or_else(|| ErrorObject::invalid_params("missing \"argument\""))?;
        let arg_name = argument
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ErrorObject::invalid_params("missing \"argument.name\""))?;
        let arg_value = argument.get("value").and_then(Value::as_str).unwrap_or("");
        let context = string_map(super::jsonrpc::member(params, &["context", "arguments"]))?;
        let values = self
            .registry
            .completer(&reference, arg_name)
            .map(|c| c(arg_value, &context))
            .unwrap_or_default();
        Ok(completion_result(values))
    }
}

/// -32002 "Resource not found" with the URI in `data` (2025-06-18+ `server/resources.mdx`).
pub fn resource_not_found(uri: &str) -> ErrorObject {
    ErrorObject::new(codes::RESOURCE_NOT_FOUND, "Resource not found").with_data(json!({"uri": uri}))
}

fn string_map(v: Option<&Value>) -> Result<HashMap<String, String>, ErrorObject> {
    match v {
        None | Some(Value::Null) => Ok(HashMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(ErrorObject::invalid_params(format!(
                    "argument {k:?} must be a string"
                ))),
            })
            .collect(),
        Some(_) => Err(ErrorObject::invalid_params(
            "\"arguments\" must be an object",
        )),
    }
}

/// Parses `logging/setLevel` params (`server/utilities/logging.mdx`).
pub fn parse_set_level(params: &Value) -> Result<LogLevel, ErrorObject> {
    params
        .get("level")
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorObject::invalid_params("missing \"level\""))?
        .parse()
}

/// Parses `resources/subscribe` / `unsubscribe` params; the URI must name a known resource.
pub fn parse_subscription(registry: &Registry, params: &Value) -> Result<String, ErrorObject> {
    let uri = params
        .get("uri")
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorObject::invalid_params("missing \"uri\""))?;
    if !registry.knows_uri(uri) {
        return Err(resource_not_found(uri));
    }
    Ok(uri.to_owned())
}

/// Validates `initialize` params; returns the requested version string.
pub fn parse_initialize(params: &Value) -> Result<&str, ErrorObject> {
    let version = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ErrorObject::invalid_params("initialize requires a string \"protocolVersion\"")
        })?;
    if !params.get("capabilities").is_some_and(Value::is_object) {
        return Err(ErrorObject::invalid_params(
            "initialize requires a \"capabilities\" object",
        ));
    }
    if !params.get("clientInfo").is_some_and(Value::is_object) {
        return Err(ErrorObject::invalid_params(
            "initialize requires a \"clientInfo\" object",
        ));
    }
    Ok(version)
}
