//! The fixtures the conformance suite (0.2.0-alpha.12) expects for MCP 2026-07-28 servers: the
//! multi round-trip tools and prompt of the `input-required-result-*` scenarios, the
//! diagnostic tools of `server-stateless` (capability check, logging, list-change triggers)
//! and a tool with an `x-mcp-header` argument for `http-custom-header-server-validation`;
//! [`register`] also adds the tasks extension's fixtures ([`super::conformance_tasks`]).
//!
//! They are written against the ordinary registry API: the same handlers serve session-era
//! clients (where each question becomes a server-to-client request) and stateless clients
//! (where it becomes an `inputRequests` entry, see [`crate::protocol::mrtr`]). Served only with
//! `MCP_CONFORMANCE_FIXTURES=true`.

use crate::protocol::context::{LogLevel, RequestContext};
use crate::registry::prompt::PromptDef;
use crate::registry::tool::{CallToolResult, ToolDefError, ToolError, ToolSpec};
use crate::registry::{Registry, ServerEvent};
use serde_json::{Value, json};

fn no_args() -> Value {
    json!({"type": "object", "properties": {}})
}

fn ask_schema(field: &str, kind: &str) -> Value {
    json!({"type": "object", "properties": {field: {"type": kind}}, "required": [field]})
}

fn elicitation(message: &str, field: &str, kind: &str) -> Value {
    json!({"message": message, "requestedSchema": ask_schema(field, kind)})
}

fn sampling(text: &str, max_tokens: u32) -> Value {
    json!({"messages": [{"role": "user", "content": {"type": "text", "text": text}}],
           "maxTokens": max_tokens})
}

/// `content.<field>` of an accepted elicitation, as text.
fn accepted(answer: &Value, field: &str) -> Result<String, ToolError> {
    if answer.get("action").and_then(Value::as_str) != Some("accept") {
        return Err(ToolError::Execution("the user did not accept".into()));
    }
    match answer.pointer(&format!("/content/{field}")) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ (Value::Bool(_) | Value::Number(_))) => Ok(v.to_string()),
        _ => Err(ToolError::InvalidArguments(format!(
            "the elicitation result lacks content.{field}"
        ))),
    }
}

fn sampled_text(answer: &Value) -> String {
    answer
        .pointer("/content/text")
        .and_then(Value::as_str)
        .unwrap_or("no response")
        .to_owned()
}

fn roots_count(answer: &Value) -> usize {
    answer
        .get("roots")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

fn tool<F, Fut>(
    registry: &Registry,
    name: &str,
    description: &str,
    f: F,
) -> Result<(), ToolDefError>
where
    F: Fn(Value, RequestContext) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
{
    registry.add_tool(
        ToolSpec::new(name, description)
            .input_schema(no_args())
            .build_raw(f)?,
    );
    Ok(())
}

/// Registers every 2026-07-28 fixture.
pub fn register(registry: &Registry) -> Result<(), ToolDefError> {
    register_mrtr(registry)?;
    register_diagnostics(registry)?;
    register_prompt(registry);
    super::conformance_tasks::register(registry)
}

fn register_mrtr(registry: &Registry) -> Result<(), ToolDefError> {
    tool(
        registry,
        "test_input_required_result_elicitation",
        "MRTR: asks the user's name (elicitation)",
        |_a, ctx| async move {
            let answer = ctx
                .input(
                    "user_name",
                    "elicitation/create",
                    elicitation("What is your name?", "name", "string"),
                )
                .await?;
            Ok(CallToolResult::text(format!(
                "Hello, {}!",
                accepted(&answer, "name")?
            )))
        },
    )?;
    tool(
        registry,
        "test_input_required_result_sampling",
        "MRTR: asks for an LLM completion (sampling)",
        |_a, ctx| async move {
            let answer = ctx
                .input(
                    "sample_request",
                    "sampling/createMessage",
                    sampling("What is the capital of France?", 100),
                )
                .await?;
            Ok(CallToolResult::text(format!(
                "Sampling result: {}",
                sampled_text(&answer)
            )))
        },
    )?;
    tool(
        registry,
        "test_input_required_result_list_roots",
        "MRTR: asks for the client's roots",
        |_a, ctx| async move {
            let answer = ctx.input("roots_request", "roots/list", json!({})).await?;
            Ok(CallToolResult::text(format!(
                "Found {} root(s)",
                roots_count(&answer)
            )))
        },
    )?;
    tool(
        registry,
        "test_input_required_result_request_state",
        "MRTR: a confirmation carried in requestState",
        |_a, ctx| async move {
            let answer = ctx
                .input(
                    "confirm",
                    "elicitation/create",
                    elicitation("Please confirm", "ok", "boolean"),
                )
                .await?;
            if accepted(&answer, "ok")? != "true" {
                return Err(ToolError::Execution("not confirmed".into()));
            }
            Ok(CallToolResult::text("state-ok: requestState validated"))
        },
    )?;
    tool(
        registry,
        "test_input_required_result_multiple_inputs",
        "MRTR: three questions in one round",
        |_a, ctx| async move {
            let answers = ctx
                .inputs(vec![
                    (
                        "user_name".into(),
                        "elicitation/create".into(),
                        elicitation("What is your name?", "name", "string"),
                    ),
                    (
                        "greeting".into(),
                        "sampling/createMessage".into(),
                        sampling("Generate a greeting", 50),
                    ),
                    ("client_roots".into(), "roots/list".into(), json!({})),
                ])
                .await?;
            let [name, greeting, roots] = answers.as_slice() else {
                return Err(ToolError::Execution("three answers expected".into()));
            };
            Ok(CallToolResult::text(format!(
                "Name: {}; Greeting: {}; Roots: {}",
                accepted(name, "name")?,
                sampled_text(greeting),
                roots_count(roots)
            )))
        },
    )?;
    tool(
        registry,
        "test_input_required_result_multi_round",
        "MRTR: two rounds, the second depending on the first",
        |_a, ctx| async move {
            let first = ctx
                .input(
                    "step1",
                    "elicitation/create",
                    elicitation("Step 1: What is your name?", "name", "string"),
                )
                .await?;
            let name = accepted(&first, "name")?;
            let second = ctx
                .input(
                    "step2",
                    "elicitation/create",
                    elicitation("Step 2: What is your favorite color?", "color", "string"),
                )
                .await?;
            let color = accepted(&second, "color")?;
            Ok(CallToolResult::text(format!(
                "Multi-round complete for {name} who likes {color}"
            )))
        },
    )?;
    tool(
        registry,
        "test_input_required_result_tampered_state",
        "MRTR: requestState integrity (sealed state)",
        |_a, ctx| async move {
            ctx.input(
                "confirm",
                "elicitation/create",
                elicitation("Please confirm", "ok", "boolean"),
            )
            .await?;
            Ok(CallToolResult::text("integrity-ok: state verified"))
        },
    )?;
    tool(
        registry,
        "test_input_required_result_capabilities",
        "MRTR: only asks what the client's capabilities allow",
        |_a, ctx| async move {
            let mut questions = Vec::new();
            if ctx.client_supports("elicitation") {
                questions.push((
                    "elicit_input".to_owned(),
                    "elicitation/create".to_owned(),
                    elicitation("Elicitation input", "value", "string"),
                ));
            }
            if ctx.client_supports("sampling") {
                questions.push((
                    "sample_input".to_owned(),
                    "sampling/createMessage".to_owned(),
                    sampling("Sample request", 50),
                ));
            }
            if questions.is_empty() {
                return Ok(CallToolResult::text("No supported capabilities declared"));
            }
            let keys: Vec<String> = questions.iter().map(|(k, _, _)| k.clone()).collect();
            ctx.inputs(questions).await?;
            Ok(CallToolResult::text(format!(
                "capabilities-ok: received {}",
                keys.join(",")
            )))
        },
    )?;
    Ok(())
}

fn register_diagnostics(registry: &Registry) -> Result<(), ToolDefError> {
    tool(
        registry,
        "test_missing_capability",
        "Needs the client's sampling capability",
        |_a, ctx| async move {
            ctx.require_client_capability("sampling")?;
            Ok(CallToolResult::text("Success"))
        },
    )?;
    tool(
        registry,
        "test_streaming_elicitation",
        "Reports progress, then asks the user (never a request on the stream)",
        |_a, ctx| async move {
            ctx.progress(50.0, Some(100.0), Some("halfway")).await?;
            let answer = ctx
                .elicit(elicitation("Continue streaming?", "ok", "boolean"))
                .await?;
            Ok(CallToolResult::text(format!(
                "Streaming complete: {}",
                accepted(&answer, "ok")?
            )))
        },
    )?;
    tool(
        registry,
        "test_logging_tool",
        "Logs at info (only sent when the request asked for logs)",
        |_a, ctx| async move {
            ctx.log(
                LogLevel::Info,
                Some("conformance"),
                json!("Diagnostic trace logging activated"),
            )
            .await?;
            Ok(CallToolResult::text("Logging evaluated"))
        },
    )?;
    for (name, event) in [
        ("test_trigger_tool_change", ServerEvent::ToolsChanged),
        ("test_trigger_prompt_change", ServerEvent::PromptsChanged),
    ] {
        let target = registry.clone();
        registry.add_tool(
            ToolSpec::new(
                name,
                "Announces a list change to every listener (diagnostic hook)",
            )
            .input_schema(no_args())
            .build_raw(move |_a, _ctx| {
                target.announce_everywhere(event.clone());
                async move { Ok(CallToolResult::text("Mutation triggered")) }
            })?,
        );
    }
    registry.add_tool(
        ToolSpec::new("test_header_param", "Echoes an argument mirrored in the Mcp-Param-Region header")
            .input_schema(json!({"type": "object", "properties": {
                "region": {"type": "string", "description": "Routing region", "x-mcp-header": "Region"}},
                "required": ["region"]}))
            .build_raw(|args: Value, _ctx| async move {
                let region = args.get("region").and_then(Value::as_str).unwrap_or_default().to_owned();
                Ok(CallToolResult::text(format!("region: {region}")))
            })?,
    );
    Ok(())
}

fn register_prompt(registry: &Registry) {
    registry.add_prompt(PromptDef::new(
        "test_input_required_result_prompt",
        "MRTR: a prompt that asks the user for context",
        vec![],
        |_args, ctx| async move {
            let answer = ctx
                .input(
                    "user_context",
                    "elicitation/create",
                    elicitation("What context should the prompt use?", "context", "string"),
                )
                .await?;
            let context = answer
                .pointer("/content/context")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Ok(json!({"messages": [{"role": "user",
                "content": {"type": "text", "text": format!("Prompt with context: {context}")}}]}))
        },
    ));
}
