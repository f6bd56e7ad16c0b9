//! The demo tools of the seed walkthroughs: `add` and `multiply` (the Keycloak tutorial's math
//! tools), `greet` and `count` (the curl walkthrough), `whoami` (the caller's principal, as the
//! auth layer established it from the bearer token), `notify` (announces an update of a resource
//! to its subscribers on every replica and returns the server time of the announcement, so a
//! load generator can measure publish-to-delivery latency), plus the `demo://clock` resource that
//! pushes `notifications/resources/updated` to subscribers once a second, so a GET stream has
//! something to carry.

use crate::protocol::context::{LogLevel, RequestContext, json_number};
use crate::protocol::jsonrpc::ErrorObject;
use crate::registry::resource::{ResourceDef, text_contents};
use crate::registry::tool::{CallToolResult, ToolDefError, ToolError, ToolSpec};
use crate::registry::{Registry, ServerEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The URI of the clock resource.
pub const CLOCK_URI: &str = "demo://clock";

/// Arguments of `add` and `multiply`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TwoNumbers {
    /// The first operand.
    pub a: f64,
    /// The second operand.
    pub b: f64,
}

/// Structured result of `add` and `multiply`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NumberResult {
    /// The computed value.
    #[serde(serialize_with = "serialize_number")]
    pub result: f64,
}

/// Whole numbers as JSON integers (`5`, not `5.0`), others as floats.
fn serialize_number<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    json_number(*x).serialize(s)
}

/// Arguments of `greet`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GreetArgs {
    /// Who to greet.
    pub name: String,
}

/// Arguments of `count`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CountArgs {
    /// Count from 1 up to this number (1-1000).
    #[schemars(range(min = 1, max = 1000))]
    pub number: u32,
    /// Milliseconds between steps (0-10000, default 100).
    #[serde(default = "default_interval", rename = "intervalMs")]
    #[schemars(range(min = 0, max = 10000))]
    pub interval_ms: u64,
}

/// `whoami` takes no arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoArgs {}

/// Structured result of `whoami`: the principal of the request's token.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WhoAmI {
    /// Whether the request carried a validated token (false when auth is disabled).
    pub authenticated: bool,
    /// Token issuer.
    pub issuer: Option<String>,
    /// Token subject.
    pub subject: Option<String>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// Arguments of `notify`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NotifyArgs {
    /// The resource whose subscribers get `notifications/resources/updated` (a known URI).
    pub uri: String,
}

/// Structured result of `notify`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NotifyResult {
    /// The resource announced.
    pub uri: String,
    /// When the update was announced: microseconds since the Unix epoch, server clock.
    #[serde(rename = "announcedAtUs")]
    pub announced_at_us: u64,
}

/// Microseconds since the Unix epoch.
fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn default_interval() -> u64 {
    100
}

fn format_number(x: f64) -> String {
    json_number(x).to_string()
}

/// Registers the demo tools and the clock resource.
pub fn register(registry: &Registry) -> Result<(), ToolDefError> {
    registry.add_tool(
        ToolSpec::new("add", "Add two numbers")
            .title("Add")
            .annotations(json!({"readOnlyHint": true, "idempotentHint": true}))
            .output::<NumberResult>()
            .build(|args: TwoNumbers, _ctx| async move {
                let result = args.a + args.b;
                Ok(CallToolResult::structured_with_text(
                    NumberResult { result },
                    format!(
                        "The sum of {} and {} is {}",
                        format_number(args.a),
                        format_number(args.b),
                        format_number(result)
                    ),
                ))
            })?,
    );
    registry.add_tool(
        ToolSpec::new("multiply", "Multiply two numbers")
            .title("Multiply")
            .annotations(json!({"readOnlyHint": true, "idempotentHint": true}))
            .output::<NumberResult>()
            .build(|args: TwoNumbers, _ctx| async move {
                let result = args.a * args.b;
                Ok(CallToolResult::structured_with_text(
                    NumberResult { result },
                    format!(
                        "The product of {} and {} is {}",
                        format_number(args.a),
                        format_number(args.b),
                        format_number(result)
                    ),
                ))
            })?,
    );
    registry.add_tool(
        ToolSpec::new("greet", "Greet someone by name")
            .title("Greet")
            .annotations(json!({"readOnlyHint": true}))
            .build(|args: GreetArgs, _ctx| async move {
                if args.name.trim().is_empty() {
                    return Err(ToolError::Execution("name must not be empty".into()));
                }
                Ok(CallToolResult::text(format!("Hello, {}!", args.name)))
            })?,
    );
    registry.add_tool(
        ToolSpec::new(
            "count",
            "Count from 1 to `number`, sending a progress notification (and an info log message) per step",
        )
        .title("Count")
        .annotations(json!({"readOnlyHint": true}))
        .build(count)?,
    );
    registry.add_tool(
        ToolSpec::new(
            "whoami",
            "Who the server thinks you are: the issuer, subject, client id and scopes of your token",
        )
        .title("Who am I")
        .annotations(json!({"readOnlyHint": true, "idempotentHint": true}))
        .output::<WhoAmI>()
        .build(|_args: NoArgs, ctx: RequestContext| async move {
            let p = ctx.principal.map(Arc::unwrap_or_clone).unwrap_or_default();
            let who = WhoAmI {
                authenticated: p.issuer.is_some() || p.subject.is_some() || p.client_id.is_some(),
                issuer: p.issuer,
                subject: p.subject,
                client_id: p.client_id,
                scopes: p.scopes,
            };
            let text = if who.authenticated {
                format!(
                    "subject {} (client {}) from {}, scopes: {}",
                    who.subject.as_deref().unwrap_or("-"),
                    who.client_id.as_deref().unwrap_or("-"),
                    who.issuer.as_deref().unwrap_or("-"),
                    who.scopes.join(" ")
                )
            } else {
                "anonymous: authentication is disabled on this server".to_owned()
            };
            Ok(CallToolResult::structured_with_text(who, text))
        })?,
    );
    let announcer = registry.clone();
    registry.add_tool(
        ToolSpec::new(
            "notify",
            "Announce that a resource changed: its subscribers on every replica get \
             notifications/resources/updated; returns the server time of the announcement",
        )
        .title("Notify subscribers")
        .output::<NotifyResult>()
        .build(move |args: NotifyArgs, _ctx| {
            let registry = announcer.clone();
            async move {
                if !registry.knows_uri(&args.uri) {
                    return Err(ToolError::Execution(format!(
                        "unknown resource {}",
                        args.uri
                    )));
                }
                let announced_at_us = now_us();
                registry.notify_resource_updated(&args.uri);
                let text = format!(
                    "announced an update of {} at {announced_at_us} µs",
                    args.uri
                );
                Ok(CallToolResult::structured_with_text(
                    NotifyResult {
                        uri: args.uri,
                        announced_at_us,
                    },
                    text,
                ))
            }
        })?,
    );
    registry.add_resource(
        ResourceDef::new(
            CLOCK_URI,
            "clock",
            Some("text/plain"),
            |uri, _ctx| async move {
                let now = crate::store::record::now_ms();
                Ok::<_, ErrorObject>(vec![text_contents(
                    &uri,
                    "text/plain",
                    format!("unix-ms {now}"),
                )])
            },
        )
        .field("title", json!("Server clock"))
        .field(
            "description",
            json!("The server time; subscribers get notifications/resources/updated every second"),
        ),
    );
    Ok(())
}

async fn count(args: CountArgs, ctx: RequestContext) -> Result<CallToolResult, ToolError> {
    let n = args.number;
    let interval = Duration::from_millis(args.interval_ms.min(10_000));
    for i in 1..=n {
        if i > 1 && !interval.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = ctx.cancellation.cancelled() => return Err(ToolError::Cancelled),
            }
        }
        let message = format!("Counted {i} of {n}");
        ctx.progress(f64::from(i), Some(f64::from(n)), Some(&message))
            .await?;
        ctx.log(LogLevel::Info, Some("count"), json!(message))
            .await?;
    }
    Ok(CallToolResult::text(format!("Counted to {n}")))
}

/// Announces a clock update every `period` until the registry's last receiver is gone
/// (runs for the life of the process).
pub fn spawn_clock(registry: Registry, period: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Every replica ticks: announce to this replica's sessions only.
            registry.announce_local(ServerEvent::ResourceUpdated(CLOCK_URI.to_owned()));
        }
    });
}
