//! The tasks extension `io.modelcontextprotocol/tasks` (SEP-2663; ext-tasks
//! `specification/draft/tasks.md`) on the MCP 2026-07-28 stateless lane: a `tools/call` may be
//! answered with a `CreateTaskResult` (`resultType: "task"`) whose work goes on in the
//! background; the client polls `tasks/get`, answers `inputRequests` with `tasks/update` and
//! may `tasks/cancel`.
//!
//! This module owns the protocol rules and knows no HTTP and no Redis:
//! - negotiation (§Capability Negotiation): the server advertises the extension in
//!   `server/discover` ([`advertise`]); a client opts in per request in `_meta` client
//!   capabilities ([`client_opted_in`]); without it `tasks/*` and tools that require tasks get
//!   `-32021` ([`missing_extension`]);
//! - which tools may become tasks: the tool's listing field `execution.taskSupport`
//!   (`forbidden`, `optional`, `required`; [`TaskSupport`], declared with
//!   [`ToolSpecTasks::task_support`]);
//! - request parameters of `tasks/get|update|cancel` ([`TaskParams`]) and their errors
//!   ([`TaskError`], §Error Handling);
//! - the task record, its status machine and its wire shapes ([`state`]); the operations over a
//!   [`TaskStore`](crate::store::TaskStore) and the bus ([`service`]); running handlers as
//!   tasks, including multi round-trip input inside tasks by replay ([`run`], [`drive`]); task
//!   status notifications on `subscriptions/listen` ([`listen`]).

pub mod drive;
pub mod listen;
pub mod run;
pub mod service;
pub mod state;
#[cfg(test)]
mod tests;

use crate::protocol::jsonrpc::{ErrorObject, codes};
use crate::protocol::stateless::errors::MISSING_CAPABILITY;
use crate::registry::tool::{ToolDef, ToolSpec};
use serde_json::{Map, Value, json};

/// The extension identifier (§Extension Identifier).
pub const EXTENSION_ID: &str = "io.modelcontextprotocol/tasks";
/// `resultType` of a `CreateTaskResult` (§Polymorphic Results).
pub const RESULT_TYPE_TASK: &str = "task";
/// The extension's methods (§Task Polling, §Task Update Requests, §Task Cancellation).
pub const METHODS: [&str; 3] = ["tasks/get", "tasks/update", "tasks/cancel"];
/// Longest accepted `taskId` (ids issued here are 36 characters).
pub const MAX_TASK_ID_LEN: usize = 128;

/// Whether a tool may run as a task: `execution.taskSupport` of its listing (the field of
/// MCP 2025-11-25 `Tool.execution`, kept by this server for the extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    /// Never a task (the default when the field is absent).
    Forbidden,
    /// A task when the client opted in; synchronous otherwise.
    Optional,
    /// Only served to clients that opted in (`-32021` for the others).
    Required,
}

impl TaskSupport {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSupport::Forbidden => "forbidden",
            TaskSupport::Optional => "optional",
            TaskSupport::Required => "required",
        }
    }

    /// Reads `execution.taskSupport` from a tool's listing fields (anything unknown is
    /// `Forbidden`).
    pub fn of_listing(extra: &Map<String, Value>) -> Self {
        match extra
            .get("execution")
            .and_then(|e| e.get("taskSupport"))
            .and_then(Value::as_str)
        {
            Some("optional") => TaskSupport::Optional,
            Some("required") => TaskSupport::Required,
            _ => TaskSupport::Forbidden,
        }
    }

    /// The declared support of a registered tool.
    pub fn of(tool: &ToolDef) -> Self {
        Self::of_listing(&tool.extra)
    }
}

/// Declares a tool's task support on its [`ToolSpec`] (the listing's `execution` field).
pub trait ToolSpecTasks {
    /// Sets `execution.taskSupport`.
    fn task_support(self, support: TaskSupport) -> ToolSpec;
}

impl ToolSpecTasks for ToolSpec {
    fn task_support(self, support: TaskSupport) -> ToolSpec {
        self.field("execution", json!({"taskSupport": support.as_str()}))
    }
}

/// Whether the request's `_meta` client capabilities declare the extension (an object under
/// `extensions["io.modelcontextprotocol/tasks"]`).
pub fn client_opted_in(client_capabilities: &Value) -> bool {
    client_capabilities
        .get("extensions")
        .and_then(|e| e.get(EXTENSION_ID))
        .is_some_and(Value::is_object)
}

/// The `-32021` error naming the extension as the missing client capability.
pub fn missing_extension() -> ErrorObject {
    ErrorObject::new(
        MISSING_CAPABILITY,
        format!("Missing required client capability: the {EXTENSION_ID} extension"),
    )
    .with_data(json!({"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}))
}

/// Adds the extension to a `server/discover` result's `capabilities.extensions`.
pub fn advertise(discover: &mut Value) {
    if !discover["capabilities"].is_object() {
        discover["capabilities"] = json!({});
    }
    let caps = &mut discover["capabilities"];
    if !caps["extensions"].is_object() {
        caps["extensions"] = json!({});
    }
    caps["extensions"][EXTENSION_ID] = json!({});
}

/// Why a task operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    /// Unknown, expired, or owned by another principal: the same answer for all three.
    #[error("Failed to retrieve task: Task not found")]
    NotFound,
    /// Malformed parameters.
    #[error("{0}")]
    InvalidParams(String),
    /// The request did not declare the extension.
    #[error("the client did not declare the {EXTENSION_ID} extension")]
    MissingExtension,
    /// The task store cannot be reached.
    #[error("task store unavailable: {0}")]
    Unavailable(String),
    /// Stored data is unreadable, or writers kept racing.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<TaskError> for ErrorObject {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::NotFound | TaskError::InvalidParams(_) => {
                ErrorObject::new(codes::INVALID_PARAMS, e.to_string())
            }
            TaskError::MissingExtension => missing_extension(),
            TaskError::Unavailable(_) | TaskError::Internal(_) => {
                ErrorObject::new(codes::INTERNAL_ERROR, e.to_string())
            }
        }
    }
}

impl From<crate::store::StoreError> for TaskError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::NotFound => TaskError::NotFound,
            StoreError::Unavailable(m) => TaskError::Unavailable(m),
            StoreError::Full(n) => TaskError::Unavailable(format!("too many tasks (limit {n})")),
            other => TaskError::Internal(other.to_string()),
        }
    }
}

/// The parameters of `tasks/get`, `tasks/update` and `tasks/cancel`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskParams {
    /// `taskId`.
    pub task_id: String,
    /// `inputResponses` (`tasks/update` only; required there).
    pub input_responses: Map<String, Value>,
}

impl TaskParams {
    /// Parses the params of one of [`METHODS`].
    pub fn parse(method: &str, params: &Value) -> Result<Self, TaskError> {
        let task_id = match params.get("taskId") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_TASK_ID_LEN => s.clone(),
            Some(Value::String(_)) => {
                return Err(TaskError::InvalidParams(format!(
                    "taskId must be 1 to {MAX_TASK_ID_LEN} characters"
                )));
            }
            _ => return Err(TaskError::InvalidParams("taskId must be a string".into())),
        };
        let input_responses = if method == "tasks/update" {
            if params.get("inputResponses").is_none() {
                return Err(TaskError::InvalidParams(
                    "tasks/update requires inputResponses".into(),
                ));
            }
            crate::protocol::mrtr::input_responses(params)
                .map_err(|e| TaskError::InvalidParams(e.message))?
        } else {
            Map::new()
        };
        Ok(Self {
            task_id,
            input_responses,
        })
    }
}
