//! Resources and resource templates (`server/resources.mdx`): listings, readers, and the
//! RFC 6570 level-1 template matcher (`{var}` segments) used to route `resources/read`.

use crate::protocol::context::RequestContext;
use crate::protocol::jsonrpc::ErrorObject;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// Reader of a static resource: returns the `contents` array of `ReadResourceResult`.
pub type ResourceReader = Arc<
    dyn Fn(String, RequestContext) -> BoxFuture<'static, Result<Vec<Value>, ErrorObject>>
        + Send
        + Sync,
>;

/// Reader of a templated resource; receives the URI and the matched variables.
pub type TemplateReader = Arc<
    dyn Fn(
            String,
            HashMap<String, String>,
            RequestContext,
        ) -> BoxFuture<'static, Result<Vec<Value>, ErrorObject>>
        + Send
        + Sync,
>;

/// A concrete resource.
#[derive(Clone)]
pub struct ResourceDef {
    /// The resource URI.
    pub uri: String,
    /// Listing fields (`name`, `title`, `description`, `mimeType`, `size`, ...).
    pub listing: Map<String, Value>,
    pub(crate) reader: ResourceReader,
}

/// A resource template (`resources/templates/list`).
#[derive(Clone)]
pub struct TemplateDef {
    /// RFC 6570 template, e.g. `file:///{path}`.
    pub uri_template: String,
    /// Listing fields (`name`, `description`, `mimeType`, ...).
    pub listing: Map<String, Value>,
    pub(crate) reader: TemplateReader,
}

fn base_listing(name: &str, mime_type: Option<&str>) -> Map<String, Value> {
    let mut listing = Map::new();
    listing.insert("name".into(), json!(name));
    if let Some(m) = mime_type {
        listing.insert("mimeType".into(), json!(m));
    }
    listing
}

/// `{"uri", "mimeType", "text"}` resource contents.
pub fn text_contents(uri: &str, mime_type: &str, text: impl Into<String>) -> Value {
    json!({"uri": uri, "mimeType": mime_type, "text": text.into()})
}

/// `{"uri", "mimeType", "blob"}` resource contents (base64 data).
pub fn blob_contents(uri: &str, mime_type: &str, base64_blob: impl Into<String>) -> Value {
    json!({"uri": uri, "mimeType": mime_type, "blob": base64_blob.into()})
}

impl ResourceDef {
    /// A resource with a name and optional MIME type and a reader.
    pub fn new<F, Fut>(uri: &str, name: &str, mime_type: Option<&str>, reader: F) -> Self
    where
        F: Fn(String, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Value>, ErrorObject>> + Send + 'static,
    {
        let listing = base_listing(name, mime_type);
        Self {
            uri: uri.to_owned(),
            listing,
            reader: Arc::new(move |uri, ctx| Box::pin(reader(uri, ctx))),
        }
    }

    /// Adds a listing field (`description`, `title`, `annotations`, ...).
    pub fn field(mut self, key: &str, value: Value) -> Self {
        self.listing.insert(key.into(), value);
        self
    }

    /// The `Resource` object for `resources/list`.
    pub fn to_listing(&self) -> Value {
        let mut obj = self.listing.clone();
        obj.insert("uri".into(), json!(self.uri));
        Value::Object(obj)
    }
}

impl TemplateDef {
    /// A template with a name, optional MIME type and a reader.
    pub fn new<F, Fut>(uri_template: &str, name: &str, mime_type: Option<&str>, reader: F) -> Self
    where
        F: Fn(String, HashMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Value>, ErrorObject>> + Send + 'static,
    {
        let listing = base_listing(name, mime_type);
        Self {
            uri_template: uri_template.to_owned(),
            listing,
            reader: Arc::new(move |uri, vars, ctx| Box::pin(reader(uri, vars, ctx))),
        }
    }

    /// Adds a listing field.
    pub fn field(mut self, key: &str, value: Value) -> Self {
        self.listing.insert(key.into(), value);
        self
    }

    /// The `ResourceTemplate` object for `resources/templates/list`.
    pub fn to_listing(&self) -> Value {
        let mut obj = self.listing.clone();
        obj.insert("uriTemplate".into(), json!(self.uri_template));
        Value::Object(obj)
    }

    /// Matches a URI against the template; returns the variables on success.
    pub fn matches(&self, uri: &str) -> Option<HashMap<String, String>> {
        match_template(&self.uri_template, uri)
    }

    /// The variable names of the template, in order.
    pub fn variables(&self) -> Vec<String> {
        let mut vars = Vec::new();
        let mut rest = self.uri_template.as_str();
        while let Some(start) = rest.find('{') {
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            vars.push(rest[start + 1..start + end].to_owned());
            rest = &rest[start + end + 1..];
        }
        vars
    }
}

/// Level-1 RFC 6570 matching: literal text must match exactly, each `{var}` captures a
/// non-empty run up to the next literal (and never a `/` unless it is the last variable).
pub fn match_template(template: &str, uri: &str) -> Option<HashMap<String, String>> {
    let mut vars = HashMap::new();
    let mut t = template;
    let mut u = uri;
    loop {
        match t.find('{') {
            None => return (t == u).then_some(vars),
            Some(start) => {
                let literal = &t[..start];
                u = u.strip_prefix(literal)?;
                let end = t[start..].find('}')? + start;
                let name = &t[start + 1..end];
                t = &t[end + 1..];
                let next_literal_end = t.find('{').unwrap_or(t.len());
                let next_literal = &t[..next_literal_end];
                let value_len = if next_literal.is_empty() {
                    if t.is_empty() { u.len() } else { return None }
                } else {
                    u.find(next_literal)?
                };
                let value = &u[..value_len];
                if value.is_empty() || (!t.is_empty() && value.contains('/')) {
                    return None;
                }
                vars.insert(name.to_owned(), value.to_owned());
                u = &u[value_len..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_matching() {
        let v = match_template("test://template/{id}/data", "test://template/42/data").unwrap();
        assert_eq!(v["id"], "42");
        assert!(match_template("test://template/{id}/data", "test://template//data").is_none());
        assert!(match_template("test://template/{id}/data", "test://other/42/data").is_none());
        let v = match_template("file:///{path}", "file:///a/b.txt").unwrap();
        assert_eq!(v["path"], "a/b.txt");
        // Only the last variable may span `/`.
        assert_eq!(
            match_template("a://{x}/{y}", "a://1/2/3").unwrap()["y"],
            "2/3"
        );
        assert!(match_template("a://{x}/z", "a://1/2/z").is_none());
    }
}
