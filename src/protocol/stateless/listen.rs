//! `subscriptions/listen` (MCP 2026-07-28 `basic/patterns/subscriptions.mdx`): the filter a
//! client asks for, the acknowledgment that must open the stream, the notifications a
//! [`ServerEvent`] turns into for one subscription, and the completion result of a subscription
//! the server ends (shutdown). Every message carries the subscription id (the JSON-RPC id of
//! the listen request) in `_meta`. The transport owns the stream; this module owns the rules.

use crate::protocol::jsonrpc::{ErrorObject, RequestId};
use crate::registry::ServerEvent;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// `_meta` key of the subscription id.
pub const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// The acknowledgment notification.
pub const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";
/// Most resource URIs one subscription may watch.
pub const MAX_RESOURCE_SUBSCRIPTIONS: usize = 1024;

/// What a subscription asked for and was granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `toolsListChanged`.
    pub tools: bool,
    /// `promptsListChanged`.
    pub prompts: bool,
    /// `resourcesListChanged`.
    pub resources: bool,
    /// `resourceSubscriptions`.
    pub resource_uris: BTreeSet<String>,
}

impl Filter {
    /// Parses `params.notifications` (every field optional; unknown fields are not granted).
    pub fn parse(params: &Value) -> Result<Self, ErrorObject> {
        let Some(n) = params.get("notifications") else {
            return Ok(Self::default());
        };
        let n = n
            .as_object()
            .ok_or_else(|| ErrorObject::invalid_params("notifications must be an object"))?;
        let flag = |k: &str| -> Result<bool, ErrorObject> {
            match n.get(k) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(ErrorObject::invalid_params(format!(
                    "notifications.{k} must be a boolean"
                ))),
            }
        };
        let mut resource_uris = BTreeSet::new();
        match n.get("resourceSubscriptions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(uris)) => {
                if uris.len() > MAX_RESOURCE_SUBSCRIPTIONS {
                    return Err(ErrorObject::invalid_params(format!(
                        "at most {MAX_RESOURCE_SUBSCRIPTIONS} resourceSubscriptions per subscription"
                    )));
                }
                for uri in uris {
                    let uri = uri.as_str().ok_or_else(|| {
                        ErrorObject::invalid_params("resourceSubscriptions must be URI strings")
                    })?;
                    resource_uris.insert(uri.to_owned());
                }
            }
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "notifications.resourceSubscriptions must be an array of URIs",
                ));
            }
        }
        Ok(Self {
            tools: flag("toolsListChanged")?,
            prompts: flag("promptsListChanged")?,
            resources: flag("resourcesListChanged")?,
            resource_uris,
        })
    }

    /// The granted filter as the acknowledgment echoes it (types not granted are omitted).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        for (on, key) in [
            (self.tools, "toolsListChanged"),
            (self.prompts, "promptsListChanged"),
            (self.resources, "resourcesListChanged"),
        ] {
            if on {
                m.insert(key.to_owned(), json!(true));
            }
        }
        if !self.resource_uris.is_empty() {
            m.insert(
                "resourceSubscriptions".to_owned(),
                json!(self.resource_uris),
            );
        }
        Value::Object(m)
    }

    /// The notification a server event becomes on this subscription, if it asked for it.
    pub fn notification(&self, event: &ServerEvent, id: &RequestId) -> Option<Value> {
        let (method, mut params) = match event {
            ServerEvent::ToolsChanged if self.tools => {
                ("notifications/tools/list_changed", json!({}))
            }
            ServerEvent::PromptsChanged if self.prompts => {
                ("notifications/prompts/list_changed", json!({}))
            }
            ServerEvent::ResourcesChanged if self.resources => {
                ("notifications/resources/list_changed", json!({}))
            }
            ServerEvent::ResourceUpdated(uri) if self.resource_uris.contains(uri) => {
                ("notifications/resources/updated", json!({"uri": uri}))
            }
            _ => return None,
        };
        params["_meta"] = json!({ META_SUBSCRIPTION_ID: id });
        Some(json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    /// The first message of the stream.
    pub fn acknowledgment(&self, id: &RequestId) -> Value {
        json!({
            "jsonrpc": "2.0",
            "method": ACKNOWLEDGED,
            "params": {
                "_meta": { META_SUBSCRIPTION_ID: id },
                "notifications": self.to_value(),
            }
        })
    }
}

/// The response that ends a subscription gracefully (`subscriptions.mdx` §Graceful Closure).
pub fn completion(id: &RequestId) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {
            "resultType": "complete",
            "_meta": { META_SUBSCRIPTION_ID: id },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requested_types_are_granted_and_delivered() {
        let f = Filter::parse(&json!({"notifications": {
            "promptsListChanged": true,
            "resourceSubscriptions": ["file:///a"],
            "somethingElse": true
        }}));
        let f = f.unwrap_or_default();
        let id = RequestId::Number(7);
        assert!(f.notification(&ServerEvent::ToolsChanged, &id).is_none());
        let n = f.notification(&ServerEvent::PromptsChanged, &id);
        assert_eq!(
            n.map(|n| n["params"]["_meta"][META_SUBSCRIPTION_ID].clone()),
            Some(json!(7))
        );
        assert!(
            f.notification(&ServerEvent::ResourceUpdated("file:///b".into()), &id)
                .is_none()
        );
        assert_eq!(
            f.acknowledgment(&id)["params"]["notifications"],
            json!({"promptsListChanged": true, "resourceSubscriptions": ["file:///a"]})
        );
    }

    #[test]
    fn malformed_filters_are_invalid_params() {
        for bad in [
            json!({"notifications": 1}),
            json!({"notifications": {"toolsListChanged": "yes"}}),
            json!({"notifications": {"resourceSubscriptions": "file:///a"}}),
            json!({"notifications": {"resourceSubscriptions": [1]}}),
        ] {
            assert!(Filter::parse(&bad).is_err(), "{bad}");
        }
    }
}
