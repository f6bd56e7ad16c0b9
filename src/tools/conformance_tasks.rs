//! The fixtures the conformance suite (0.2.0-alpha.12) expects for the tasks extension
//! `io.modelcontextprotocol/tasks` (SEP-2663; scenarios `tasks-*`). `greet` (sync only) is a
//! demo tool. Each declares `execution.taskSupport` and, where it should always become a task,
//! calls [`RequestContext::detach`] first:
//!
//! | tool | support | behaviour |
//! |---|---|---|
//! | `slow_compute` | optional | `seconds: 0` answers at once; otherwise a task that sleeps `seconds` (cancellable) |
//! | `failing_job` | required | a task whose tool result is an error (`isError`) after ~1 s |
//! | `protocol_error_job` | optional | a task that fails with a JSON-RPC error |
//! | `confirm_delete` | optional | a task that asks one confirmation (`inputRequests`) |
//! | `multi_input` | optional | a task that asks two questions at once |
//! | `test_tool_with_task` | required | asks `user_name` by multi round-trip *before* becoming a task, whose result greets that name |
//!
//! Served only with `MCP_CONFORMANCE_FIXTURES=true`; with other clients (session era, or a
//! request without the extension) the same handlers simply run to completion.

use crate::protocol::context::RequestContext;
use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::tasks::{TaskSupport, ToolSpecTasks as _};
use crate::registry::Registry;
use crate::registry::tool::{CallToolResult, ToolDefError, ToolError, ToolSpec};
use serde_json::{Value, json};
use std::time::Duration;

/// Longest `slow_compute` accepted, seconds.
const MAX_SECONDS: f64 = 3600.0;

fn ask(message: &str, field: &str, kind: &str) -> Value {
    json!({"mode": "form", "message": message, "requestedSchema": {"type": "object",
        "properties": {field: {"type": kind}}, "required": [field]}})
}

/// `content.<field>` of an accepted elicitation, as text (`None` if declined or absent).
fn answered(answer: &Value, field: &str) -> Option<String> {
    if answer.get("action").and_then(Value::as_str) != Some("accept") {
        return None;
    }
    match answer.pointer(&format!("/content/{field}"))? {
        Value::String(s) => Some(s.clone()),
        v @ (Value::Bool(_) | Value::Number(_)) => Some(v.to_string()),
        _ => None,
    }
}

fn spec(name: &str, description: &str, support: TaskSupport, schema: Value) -> ToolSpec {
    ToolSpec::new(name, description)
        .input_schema(schema)
        .task_support(support)
}

fn no_args() -> Value {
    json!({"type": "object", "properties": {}})
}

/// Registers the task fixtures.
pub fn register(registry: &Registry) -> Result<(), ToolDefError> {
    registry.add_tool(
        spec(
            "slow_compute",
            "Sleeps `seconds` seconds, then reports (a task unless seconds is 0)",
            TaskSupport::Optional,
            json!({"type": "object", "properties": {
                "seconds": {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
                "label": {"type": "string"}}, "required": ["seconds"]}),
        )
        .build_raw(|args: Value, ctx: RequestContext| async move {
            let seconds = args.get("seconds").and_then(Value::as_f64).unwrap_or(0.0);
            let label = args
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or("job")
                .to_owned();
            if seconds > 0.0 {
                ctx.detach().await?;
                tokio::time::sleep(Duration::from_secs_f64(seconds.min(MAX_SECONDS))).await;
            }
            Ok(CallToolResult::text(format!(
                "slow_compute {label}: done after {seconds} s"
            )))
        })?,
    );
    registry.add_tool(
        spec(
            "failing_job",
            "A task whose tool result is an error after about a second",
            TaskSupport::Required,
            no_args(),
        )
        .build_raw(|_a: Value, ctx: RequestContext| async move {
            ctx.detach().await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            Err(ToolError::Execution(
                "failing_job: the job failed (simulated)".into(),
            ))
        })?,
    );
    registry.add_tool(
        spec(
            "protocol_error_job",
            "A task that fails with a JSON-RPC (protocol) error",
            TaskSupport::Optional,
            no_args(),
        )
        .build_raw(|_a: Value, ctx: RequestContext| async move {
            ctx.detach().await?;
            Err(ToolError::Protocol(ErrorObject::internal(
                "protocol_error_job: simulated internal failure",
            )))
        })?,
    );
    register_input(registry)
}

fn register_input(registry: &Registry) -> Result<(), ToolDefError> {
    registry.add_tool(
        spec(
            "confirm_delete",
            "A task that asks the user to confirm deleting `filename`",
            TaskSupport::Optional,
            json!({"type": "object", "properties": {"filename": {"type": "string"}},
                "required": ["filename"]}),
        )
        .build_raw(|args: Value, ctx: RequestContext| async move {
            let file = args
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            ctx.detach().await?;
            let answer = ctx
                .input(
                    "confirm_delete",
                    "elicitation/create",
                    ask(&format!("Delete {file}?"), "confirm", "boolean"),
                )
                .await?;
            Ok(CallToolResult::text(
                if answered(&answer, "confirm").as_deref() == Some("true") {
                    format!("Deleted {file}")
                } else {
                    format!("Kept {file}")
                },
            ))
        })?,
    );
    registry.add_tool(
        spec(
            "multi_input",
            "A task that asks two questions at once",
            TaskSupport::Optional,
            no_args(),
        )
        .build_raw(|_a: Value, ctx: RequestContext| async move {
            ctx.detach().await?;
            let answers = ctx
                .inputs(vec![
                    (
                        "multi_name".into(),
                        "elicitation/create".into(),
                        ask("What is your name?", "name", "string"),
                    ),
                    (
                        "multi_confirm".into(),
                        "elicitation/create".into(),
                        ask("Proceed?", "confirm", "boolean"),
                    ),
                ])
                .await?;
            let name = answers.first().and_then(|a| answered(a, "name"));
            let confirm = answers.get(1).and_then(|a| answered(a, "confirm"));
            Ok(CallToolResult::text(format!(
                "name: {}, confirmed: {}",
                name.unwrap_or_default(),
                confirm.unwrap_or_default()
            )))
        })?,
    );
    registry.add_tool(
        spec(
            "test_tool_with_task",
            "Asks the user's name (multi round-trip), then finishes as a task that greets them",
            TaskSupport::Required,
            no_args(),
        )
        .build_raw(|_a: Value, ctx: RequestContext| async move {
            let answer = ctx
                .input(
                    "user_name",
                    "elicitation/create",
                    ask("What is your name?", "name", "string"),
                )
                .await?;
            let name = answered(&answer, "name")
                .ok_or_else(|| ToolError::Execution("no name was given".into()))?;
            ctx.detach().await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok(CallToolResult::text(format!(
                "Hello, {name}! (asked before the task started)"
            )))
        })?,
    );
    Ok(())
}
