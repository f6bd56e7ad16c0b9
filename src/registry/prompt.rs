//! Prompts (`server/prompts.mdx`) and argument completion (`server/utilities/completion.mdx`).

use crate::protocol::context::RequestContext;
use crate::protocol::jsonrpc::ErrorObject;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// Renders a prompt: receives the string arguments, returns a `GetPromptResult` object
/// (`{"description"?, "messages": [...]}`).
pub type PromptRenderer = Arc<
    dyn Fn(
            HashMap<String, String>,
            RequestContext,
        ) -> BoxFuture<'static, Result<Value, ErrorObject>>
        + Send
        + Sync,
>;

/// One declared prompt argument.
#[derive(Debug, Clone)]
pub struct PromptArgument {
    /// Argument name.
    pub name: String,
    /// Description shown to the user.
    pub description: Option<String>,
    /// Whether `prompts/get` must supply it.
    pub required: bool,
}

impl PromptArgument {
    /// A required argument.
    pub fn required(name: &str, description: &str) -> Self {
        Self {
            name: name.into(),
            description: Some(description.into()),
            required: true,
        }
    }
    /// An optional argument.
    pub fn optional(name: &str, description: &str) -> Self {
        Self {
            name: name.into(),
            description: Some(description.into()),
            required: false,
        }
    }
}

/// A registered prompt.
#[derive(Clone)]
pub struct PromptDef {
    /// Unique name.
    pub name: String,
    /// Listing fields other than name and arguments (`title`, `description`, `icons`...).
    pub extra: Map<String, Value>,
    /// Declared arguments.
    pub arguments: Vec<PromptArgument>,
    pub(crate) renderer: PromptRenderer,
}

impl PromptDef {
    /// A prompt with a description, arguments and a renderer.
    pub fn new<F, Fut>(
        name: &str,
        description: &str,
        arguments: Vec<PromptArgument>,
        render: F,
    ) -> Self
    where
        F: Fn(HashMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ErrorObject>> + Send + 'static,
    {
        let mut extra = Map::new();
        extra.insert("description".into(), json!(description));
        Self {
            name: name.into(),
            extra,
            arguments,
            renderer: Arc::new(move |args, ctx| Box::pin(render(args, ctx))),
        }
    }

    /// The `Prompt` object for `prompts/list`.
    pub fn to_listing(&self) -> Value {
        let mut obj = self.extra.clone();
        obj.insert("name".into(), json!(self.name));
        if !self.arguments.is_empty() {
            let args: Vec<Value> = self
                .arguments
                .iter()
                .map(|a| {
                    let mut o = json!({"name": a.name, "required": a.required});
                    if let Some(d) = &a.description {
                        o["description"] = json!(d);
                    }
                    o
                })
                .collect();
            obj.insert("arguments".into(), Value::Array(args));
        }
        Value::Object(obj)
    }

    /// Checks that every required argument is present.
    pub fn check_arguments(&self, args: &HashMap<String, String>) -> Result<(), ErrorObject> {
        let missing: Vec<&str> = self
            .arguments
            .iter()
            .filter(|a| a.required && !args.contains_key(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ErrorObject::invalid_params(format!(
                "prompt {:?} is missing required argument(s): {}",
                self.name,
                missing.join(", ")
            )))
        }
    }
}

/// What a completion is for: `ref/prompt` (by name) or `ref/resource` (by URI template).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompletionRef {
    /// A prompt argument.
    Prompt(String),
    /// A resource template variable.
    ResourceTemplate(String),
}

/// Produces completion values for `(argument value, other context arguments)`.
pub type Completer = Arc<dyn Fn(&str, &HashMap<String, String>) -> Vec<String> + Send + Sync>;

/// The `completion` object of `CompleteResult`: at most 100 values (`completion.mdx`),
/// with `total` and `hasMore` when truncated.
pub fn completion_result(mut values: Vec<String>) -> Value {
    let total = values.len();
    values.truncate(100);
    json!({"completion": {"values": values, "total": total, "hasMore": total > 100}})
}
