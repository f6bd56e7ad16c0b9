//! Authorization server metadata discovery, as MCP 2025-11-25 `basic/authorization.mdx`
//! ("Authorization Server Metadata Discovery") orders it: RFC 8414 §3.1 with path insertion,
//! then OpenID Connect Discovery 1.0 with path insertion, then OpenID Connect Discovery appended
//! to the issuer path. The document's `issuer` must be the one asked for (RFC 8414 §3.3).
//!
//! Used for `jwks_uri` in JWT mode and for the `/.well-known/oauth-authorization-server`
//! pass-through served to 2025-03-26 clients.

use super::claims::same_issuer;
use super::fetch::{FetchError, json_object};
use serde_json::{Map, Value};

/// The metadata URLs of an issuer, in the order they are tried.
pub fn metadata_urls(issuer: &str) -> Vec<String> {
    let issuer = issuer.trim_end_matches('/');
    let (origin, path) = split_origin(issuer);
    if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    }
}

/// `scheme://authority` and the path (without a trailing slash) of an absolute URL.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

/// Fetches the issuer's metadata from the first URL that has it. A 4xx moves on to the next
/// URL; an unreachable server or a 5xx stops at once (asking elsewhere would not help).
pub async fn discover(
    client: &reqwest::Client,
    issuer: &str,
) -> Result<Map<String, Value>, FetchError> {
    let mut last = None;
    for url in metadata_urls(issuer) {
        match discover_at(client, &url, issuer).await {
            Ok(doc) => return Ok(doc),
            Err(
                e @ FetchError::Status {
                    status: 400..500, ..
                },
            ) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(FetchError::Status {
        url: issuer.to_owned(),
        status: 404,
        oauth_error: None,
    }))
}

/// Fetches the metadata document at `url`, which must name `issuer` (RFC 8414 §3.3).
pub async fn discover_at(
    client: &reqwest::Client,
    url: &str,
    issuer: &str,
) -> Result<Map<String, Value>, FetchError> {
    let doc = json_object(client.get(url), url).await?;
    let found = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
    if !same_issuer(found, issuer) {
        return Err(FetchError::Body {
            url: url.to_owned(),
            reason: format!("its issuer is {found:?}, expected {issuer:?}"),
        });
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_and_without_path() {
        assert_eq!(
            metadata_urls("https://as.example/"),
            vec![
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            metadata_urls("http://localhost:8080/realms/master"),
            vec![
                "http://localhost:8080/.well-known/oauth-authorization-server/realms/master",
                "http://localhost:8080/.well-known/openid-configuration/realms/master",
                "http://localhost:8080/realms/master/.well-known/openid-configuration",
            ]
        );
    }
}
