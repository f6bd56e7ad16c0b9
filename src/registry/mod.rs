//! The library API for what a server offers: tools, resources, resource templates, prompts and
//! completions, registered at start-up or changed at run time.
//!
//! Changes and resource updates are announced on a broadcast channel ([`ServerEvent`]); live
//! sessions turn them into `notifications/*/list_changed` and `notifications/resources/updated`
//! for their clients. Listings keep registration order so pagination cursors are stable.
//!
//! ```no_run
//! use mcp_hive::registry::{Registry, tool::{ToolSpec, CallToolResult}};
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Args { name: String }
//! let registry = Registry::new();
//! registry.add_tool(ToolSpec::new("hello", "Says hello").build(|a: Args, _ctx| async move {
//!     Ok(CallToolResult::text(format!("Hello, {}!", a.name)))
//! })?);
//! # Ok(()) }
//! ```

pub mod prompt;
pub mod resource;
pub mod tool;

use indexmap::IndexMap;
use parking_lot::RwLock;
use prompt::{Completer, CompletionRef, PromptDef};
use resource::{ResourceDef, TemplateDef};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast;
use tool::ToolDef;

/// A change announced to live sessions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", content = "uri", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The tool list changed.
    ToolsChanged,
    /// The resource (or template) list changed.
    ResourcesChanged,
    /// The prompt list changed.
    PromptsChanged,
    /// The content of a resource changed (for `resources/subscribe`).
    ResourceUpdated(String),
}

#[derive(Default)]
struct Inner {
    /// Hashed with foldhash, not SipHash: only the server registers names (a client's
    /// `tools/call` only looks one up, so it cannot fill the map with colliding keys), and the
    /// lookups run a few times per call.
    tools: IndexMap<String, Arc<ToolDef>, foldhash::fast::RandomState>,
    resources: IndexMap<String, Arc<ResourceDef>>,
    templates: IndexMap<String, Arc<TemplateDef>>,
    prompts: IndexMap<String, Arc<PromptDef>>,
    completers: HashMap<(CompletionRef, String), Completer>,
}

/// Publishes a cluster-wide event to every replica (set by the startup when a shared store
/// is configured); every replica, this one included, then announces it locally.
pub type Fanout = Arc<dyn Fn(ServerEvent) + Send + Sync>;

/// Everything the server offers. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<RwLock<Inner>>,
    events: broadcast::Sender<ServerEvent>,
    fanout: Arc<RwLock<Option<Fanout>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(RwLock::new(Inner::default())),
            events,
            fanout: Arc::new(RwLock::new(None)),
        }
    }

    /// Subscribes to change events.
    pub fn subscribe(&self) -> broadcast::Receiver<ServerEvent> {
        self.events.subscribe()
    }

    /// How many listen for change events: on a server, the live sessions of this replica
    /// with a standalone stream attached (the others do not listen), plus stateless listeners.
    pub fn listeners(&self) -> usize {
        self.events.receiver_count()
    }

    fn announce(&self, event: ServerEvent) {
        // No receivers simply means no live session cares.
        let _ = self.events.send(event);
    }

    /// Announces an event to this replica's sessions only.
    pub fn announce_local(&self, event: ServerEvent) {
        self.announce(event);
    }

    /// Routes [`Registry::notify_resource_updated`] through `fanout` (all replicas).
    pub fn set_fanout(&self, fanout: Fanout) {
        *self.fanout.write() = Some(fanout);
    }

    /// Adds or replaces a tool and announces `tools/list_changed`.
    pub fn add_tool(&self, tool: ToolDef) {
        self.inner
            .write()
            .tools
            .insert(tool.name.clone(), Arc::new(tool));
        self.announce(ServerEvent::ToolsChanged);
    }

    /// Removes a tool; returns whether it existed.
    pub fn remove_tool(&self, name: &str) -> bool {
        let removed = self.inner.write().tools.shift_remove(name).is_some();
        if removed {
            self.announce(ServerEvent::ToolsChanged);
        }
        removed
    }

    /// Adds or replaces a resource.
    pub fn add_resource(&self, resource: ResourceDef) {
        self.inner
            .write()
            .resources
            .insert(resource.uri.clone(), Arc::new(resource));
        self.announce(ServerEvent::ResourcesChanged);
    }

    /// Adds or replaces a resource template.
    pub fn add_template(&self, template: TemplateDef) {
        self.inner
            .write()
            .templates
            .insert(template.uri_template.clone(), Arc::new(template));
        self.announce(ServerEvent::ResourcesChanged);
    }

    /// Adds or replaces a prompt.
    pub fn add_prompt(&self, prompt: PromptDef) {
        self.inner
            .write()
            .prompts
            .insert(prompt.name.clone(), Arc::new(prompt));
        self.announce(ServerEvent::PromptsChanged);
    }

    /// Registers a completer for a prompt argument or a template variable.
    pub fn add_completer(
        &self,
        reference: CompletionRef,
        argument: &str,
        completer: impl Fn(&str, &HashMap<String, String>) -> Vec<String> + Send + Sync + 'static,
    ) {
        self.inner
            .write()
            .completers
            .insert((reference, argument.to_owned()), Arc::new(completer));
    }

    /// Announces a change to the clients of every replica (with a shared store), for changes
    /// every replica makes or that concern them all; [`Registry::add_tool`] and friends announce
    /// on this replica only, since each replica registers its own definitions.
    pub fn announce_everywhere(&self, event: ServerEvent) {
        let fanout = self.fanout.read().clone();
        match fanout {
            Some(f) => f(event),
            None => self.announce(event),
        }
    }

    /// Announces that a resource's content changed, to subscribers on every replica
    /// (`notifications/resources/updated`).
    pub fn notify_resource_updated(&self, uri: &str) {
        self.announce_everywhere(ServerEvent::ResourceUpdated(uri.to_owned()));
    }

    /// A tool by name.
    pub fn tool(&self, name: &str) -> Option<Arc<ToolDef>> {
        self.inner.read().tools.get(name).cloned()
    }

    /// All tools, in registration order.
    pub fn tools(&self) -> Vec<Arc<ToolDef>> {
        self.inner.read().tools.values().cloned().collect()
    }

    /// All resources, in registration order.
    pub fn resources(&self) -> Vec<Arc<ResourceDef>> {
        self.inner.read().resources.values().cloned().collect()
    }

    /// All templates, in registration order.
    pub fn templates(&self) -> Vec<Arc<TemplateDef>> {
        self.inner.read().templates.values().cloned().collect()
    }

    /// All prompts, in registration order.
    pub fn prompts(&self) -> Vec<Arc<PromptDef>> {
        self.inner.read().prompts.values().cloned().collect()
    }

    /// A prompt by name.
    pub fn prompt(&self, name: &str) -> Option<Arc<PromptDef>> {
        self.inner.read().prompts.get(name).cloned()
    }

    /// A concrete resource by URI.
    pub fn resource(&self, uri: &str) -> Option<Arc<ResourceDef>> {
        self.inner.read().resources.get(uri).cloned()
    }

    /// The first template matching a URI, with its variables.
    pub fn match_template(&self, uri: &str) -> Option<(Arc<TemplateDef>, HashMap<String, String>)> {
        self.inner
            .read()
            .templates
            .values()
            .find_map(|t| t.matches(uri).map(|vars| (Arc::clone(t), vars)))
    }

    /// Whether a URI names a readable resource (concrete or templated).
    pub fn knows_uri(&self, uri: &str) -> bool {
        self.resource(uri).is_some() || self.match_template(uri).is_some()
    }

    /// The completer for a reference and argument.
    pub fn completer(&self, reference: &CompletionRef, argument: &str) -> Option<Completer> {
        self.inner
            .read()
            .completers
            .get(&(reference.clone(), argument.to_owned()))
            .cloned()
    }
}
