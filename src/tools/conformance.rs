//! The fixtures the official MCP conformance suite (`@modelcontextprotocol/conformance`) expects
//! of a server under test: `test_*` tools, `test://` resources and template, `test_*` prompts and
//! a completion. Served only with `MCP_CONFORMANCE_FIXTURES=true`.

use crate::protocol::context::{LogLevel, RequestContext};
use crate::protocol::jsonrpc::ErrorObject;
use crate::registry::Registry;
use crate::registry::prompt::{CompletionRef, PromptArgument, PromptDef};
use crate::registry::resource::{ResourceDef, TemplateDef, blob_contents, text_contents};
use crate::registry::tool::{CallToolResult, ToolDefError, ToolError, ToolSpec, content};
use serde_json::{Value, json};
use std::time::Duration;

/// A 1x1 PNG.
pub const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A 44-byte WAV.
pub const WAV_TINY: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

fn no_args() -> Value {
    json!({"type": "object", "properties": {}})
}

fn simple(
    registry: &Registry,
    name: &str,
    description: &str,
    result: CallToolResult,
) -> Result<(), ToolDefError> {
    registry.add_tool(
        ToolSpec::new(name, description)
            .input_schema(no_args())
            .build_raw(move |_args, _ctx| {
                let result = result.clone();
                async move { Ok(result) }
            })?,
    );
    Ok(())
}

/// Registers every fixture.
pub fn register(registry: &Registry) -> Result<(), ToolDefError> {
    register_tools(registry)?;
    register_interactive_tools(registry)?;
    register_resources(registry);
    register_prompts(registry);
    super::conformance_stateless::register(registry)?;
    Ok(())
}

fn register_tools(registry: &Registry) -> Result<(), ToolDefError> {
    simple(
        registry,
        "test_simple_text",
        "Tests simple text content response",
        CallToolResult::text("This is a simple text response for testing."),
    )?;
    simple(
        registry,
        "test_image_content",
        "Tests image content response",
        CallToolResult::content(vec![content::image(PNG_1X1, "image/png")]),
    )?;
    simple(
        registry,
        "test_audio_content",
        "Tests audio content response",
        CallToolResult::content(vec![content::audio(WAV_TINY, "audio/wav")]),
    )?;
    simple(
        registry,
        "test_embedded_resource",
        "Tests embedded resource content response",
        CallToolResult::content(vec![content::embedded_text(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content.",
        )]),
    )?;
    simple(
        registry,
        "test_multiple_content_types",
        "Tests response with multiple content types (text, image, resource)",
        CallToolResult::content(vec![
            content::text("Multiple content types test:"),
            content::image(PNG_1X1, "image/png"),
            content::embedded_text(
                "test://mixed-content-resource",
                "application/json",
                r#"{"test":"data","value":123}"#,
            ),
        ]),
    )?;
    simple(
        registry,
        "test_error_handling",
        "Tests error response handling",
        CallToolResult::error("This tool intentionally returns an error for testing"),
    )?;
    registry.add_tool(
        ToolSpec::new(
            "test_tool_with_logging",
            "Tests tool that emits log messages during execution",
        )
        .input_schema(no_args())
        .build_raw(|_args, ctx: RequestContext| async move {
            for (i, msg) in [
                "Tool execution started",
                "Tool processing data",
                "Tool execution completed",
            ]
            .into_iter()
            .enumerate()
            {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                ctx.log(LogLevel::Info, None, json!(msg)).await?;
            }
            Ok(CallToolResult::text(
                "Tool with logging executed successfully",
            ))
        })?,
    );
    registry.add_tool(
        ToolSpec::new(
            "test_tool_with_progress",
            "Tests tool that reports progress notifications",
        )
        .input_schema(no_args())
        .build_raw(|_args, ctx: RequestContext| async move {
            for (i, p) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let msg = format!("Completed step {p} of 100");
                ctx.progress(p, Some(100.0), Some(&msg)).await?;
            }
            let token = ctx.progress_token.clone().unwrap_or(Value::Null);
            let text = token
                .as_str()
                .map_or_else(|| token.to_string(), str::to_owned);
            Ok(CallToolResult::text(text))
        })?,
    );
    registry.add_tool(
        ToolSpec::new("test_reconnection", "Tests SSE stream disconnection and client reconnection (SEP-1699)")
            .input_schema(no_args())
            .build_raw(|_args, ctx: RequestContext| async move {
                ctx.close_sse_connection();
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(CallToolResult::text(
                    "Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.",
                ))
            })?,
    );
    registry.add_tool(
        ToolSpec::new("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features")
            .input_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                    "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
                "properties": {
                    "name": {"type": "string"},
                    "address": {"$ref": "#/$defs/address"},
                    "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                    "phone": {"type": "string"},
                    "email": {"type": "string"}
                },
                "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
                "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
                "then": {"required": ["phone"]},
                "else": {"required": ["email"]},
                "additionalProperties": false
            }))
            .build_raw(|args, _ctx| async move { Ok(CallToolResult::text(format!("Received: {args}"))) })?,
    );
    Ok(())
}

fn register_interactive_tools(registry: &Registry) -> Result<(), ToolDefError> {
    registry.add_tool(
        ToolSpec::new(
            "test_sampling",
            "Tests server-initiated sampling (LLM completion request)",
        )
        .input_schema(
            json!({"type": "object", "properties": {"prompt": {"type": "string",
                "description": "The prompt to send to the LLM"}}, "required": ["prompt"]}),
        )
        .build_raw(|args: Value, ctx: RequestContext| async move {
            let prompt = args
                .get("prompt")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let answer = ctx
                .create_message(json!({
                    "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
                    "maxTokens": 100
                }))
                .await?;
            let text = answer
                .pointer("/content/text")
                .and_then(Value::as_str)
                .unwrap_or("");
            Ok(CallToolResult::text(format!("LLM response: {text}")))
        })?,
    );
    registry.add_tool(
        ToolSpec::new(
            "test_elicitation",
            "Tests server-initiated elicitation (user input request)",
        )
        .input_schema(
            json!({"type": "object", "properties": {"message": {"type": "string",
                "description": "The message to show the user"}}, "required": ["message"]}),
        )
        .build_raw(|args: Value, ctx: RequestContext| async move {
            let message = args
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let schema = json!({"type": "object", "properties": {
                    "username": {"type": "string", "description": "User's response"},
                    "email": {"type": "string", "description": "User's email address"}},
                    "required": ["username", "email"]});
            elicit_summary(&ctx, &message, schema, "User response").await
        })?,
    );
    registry.add_tool(
        ToolSpec::new("test_elicitation_sep1034_defaults", "Tests elicitation with default values per SEP-1034")
            .input_schema(no_args())
            .build_raw(|_args, ctx: RequestContext| async move {
                let schema = json!({"type": "object", "properties": {
                    "name": {"type": "string", "description": "User name", "default": "John Doe"},
                    "age": {"type": "integer", "description": "User age", "default": 30},
                    "score": {"type": "number", "description": "User score", "default": 95.5},
                    "status": {"type": "string", "description": "User status",
                        "enum": ["active", "inactive", "pending"], "default": "active"},
                    "verified": {"type": "boolean", "description": "Verification status", "default": true}},
                    "required": []});
                elicit_summary(&ctx, "Please review and update the form fields with defaults", schema, "Elicitation completed").await
            })?,
    );
    registry.add_tool(
        ToolSpec::new("test_elicitation_sep1330_enums", "Tests elicitation with enum schema improvements per SEP-1330")
            .input_schema(no_args())
            .build_raw(|_args, ctx: RequestContext| async move {
                let schema = json!({"type": "object", "properties": {
                    "untitledSingle": {"type": "string", "description": "Select one option",
                        "enum": ["option1", "option2", "option3"]},
                    "titledSingle": {"type": "string", "description": "Select one option with titles",
                        "oneOf": [{"const": "value1", "title": "First Option"},
                                  {"const": "value2", "title": "Second Option"},
                                  {"const": "value3", "title": "Third Option"}]},
                    "legacyEnum": {"type": "string", "description": "Select one option (legacy)",
                        "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"]},
                    "untitledMulti": {"type": "array", "description": "Select multiple options",
                        "minItems": 1, "maxItems": 3,
                        "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                    "titledMulti": {"type": "array", "description": "Select multiple options with titles",
                        "minItems": 1, "maxItems": 3,
                        "items": {"anyOf": [{"const": "value1", "title": "First Choice"},
                                            {"const": "value2", "title": "Second Choice"},
                                            {"const": "value3", "title": "Third Choice"}]}}},
                    "required": []});
                elicit_summary(&ctx, "Please select options from the enum fields", schema, "Elicitation completed").await
            })?,
    );
    Ok(())
}

async fn elicit_summary(
    ctx: &RequestContext,
    message: &str,
    schema: Value,
    label: &str,
) -> Result<CallToolResult, ToolError> {
    let answer = ctx
        .elicit(json!({"message": message, "requestedSchema": schema}))
        .await?;
    let action = answer
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let content = answer.get("content").cloned().unwrap_or(Value::Null);
    Ok(CallToolResult::text(format!(
        "{label}: action={action}, content={content}"
    )))
}

fn register_resources(registry: &Registry) {
    registry.add_resource(
        ResourceDef::new(
            "test://static-text",
            "static-text",
            Some("text/plain"),
            |uri, _ctx| async move {
                Ok::<_, ErrorObject>(vec![text_contents(
                    &uri,
                    "text/plain",
                    "This is the content of the static text resource.",
                )])
            },
        )
        .field("title", json!("Static Text Resource"))
        .field("description", json!("A static text resource for testing")),
    );
    registry.add_resource(
        ResourceDef::new(
            "test://static-binary",
            "static-binary",
            Some("image/png"),
            |uri, _ctx| async move {
                Ok::<_, ErrorObject>(vec![blob_contents(&uri, "image/png", PNG_1X1)])
            },
        )
        .field("title", json!("Static Binary Resource"))
        .field(
            "description",
            json!("A static binary resource (image) for testing"),
        ),
    );
    registry.add_resource(
        ResourceDef::new(
            "test://watched-resource",
            "watched-resource",
            Some("text/plain"),
            |uri, _ctx| async move {
                Ok::<_, ErrorObject>(vec![text_contents(
                    &uri,
                    "text/plain",
                    "Watched resource content",
                )])
            },
        )
        .field("title", json!("Watched Resource"))
        .field("description", json!("A resource that can be subscribed to")),
    );
    registry.add_template(
        TemplateDef::new(
            "test://template/{id}/data",
            "template",
            Some("application/json"),
            |uri, vars, _ctx| async move {
                let id = vars.get("id").cloned().unwrap_or_default();
                let text =
                    json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")})
                        .to_string();
                Ok::<_, ErrorObject>(vec![text_contents(&uri, "application/json", text)])
            },
        )
        .field("title", json!("Template Resource"))
        .field(
            "description",
            json!("A resource template with an id parameter"),
        ),
    );
}

fn register_prompts(registry: &Registry) {
    registry.add_prompt(PromptDef::new("test_simple_prompt", "A simple prompt without arguments", vec![], |_a, _c| async move {
        Ok(json!({"messages": [{"role": "user", "content": {"type": "text", "text": "This is a simple prompt for testing."}}]}))
    }));
    registry.add_prompt(PromptDef::new(
        "test_prompt_with_arguments",
        "A prompt with required arguments",
        vec![
            PromptArgument::required("arg1", "First test argument"),
            PromptArgument::required("arg2", "Second test argument"),
        ],
        |a, _c| async move {
            let text = format!(
                "Prompt with arguments: arg1='{}', arg2='{}'",
                a.get("arg1").map_or("", String::as_str),
                a.get("arg2").map_or("", String::as_str)
            );
            Ok(json!({"messages": [{"role": "user", "content": {"type": "text", "text": text}}]}))
        },
    ));
    registry.add_prompt(PromptDef::new(
        "test_prompt_with_embedded_resource",
        "A prompt that embeds a resource",
        vec![PromptArgument::required("resourceUri", "URI of the resource to embed")],
        |a, _c| async move {
            let uri = a.get("resourceUri").cloned().unwrap_or_default();
            Ok(json!({"messages": [
                {"role": "user", "content": {"type": "resource", "resource":
                    {"uri": uri, "mimeType": "text/plain", "text": "Embedded resource content for testing."}}},
                {"role": "user", "content": {"type": "text", "text": "Please process the embedded resource above."}}
            ]}))
        },
    ));
    registry.add_prompt(PromptDef::new("test_prompt_with_image", "A prompt that includes an image", vec![], |_a, _c| async move {
        Ok(json!({"messages": [
            {"role": "user", "content": {"type": "image", "data": PNG_1X1, "mimeType": "image/png"}},
            {"role": "user", "content": {"type": "text", "text": "Please analyze the image above."}}
        ]}))
    }));
    registry.add_completer(
        CompletionRef::Prompt("test_prompt_with_arguments".into()),
        "arg1",
        |value, _ctx| {
            ["test", "testing", "tested", "example"]
                .into_iter()
                .filter(|v| v.starts_with(value))
                .map(str::to_owned)
                .collect()
        },
    );
}
