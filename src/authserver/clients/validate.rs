//! Client metadata checks (RFC 7591 §2, §3.2.2) shared by dynamic registration, configured
//! clients and Client ID Metadata Documents: [`validate_metadata`] applies the defaults and
//! refuses inconsistent or unsupported metadata; [`validate_redirect_uri`] holds redirect URIs to
//! OAuth 2.1 §2.3.1 and RFC 8252 §7.

use crate::authserver::error::OAuthError;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// Grant types a client may register (RFC 7591 §2).
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
/// Token endpoint authentication methods a client may register (RFC 7591 §2).
pub const AUTH_METHODS: [&str; 3] = ["none", "client_secret_basic", "client_secret_post"];
const MAX_REDIRECT_URIS: usize = 20;
const MAX_URI_LEN: usize = 2048;
const MAX_CLIENT_NAME_CHARS: usize = 200;
/// Schemes that are never redirect targets, whatever the application type.
const DENIED_SCHEMES: [&str; 9] = [
    "javascript",
    "data",
    "vbscript",
    "file",
    "about",
    "blob",
    "filesystem",
    "ws",
    "wss",
];

/// Where client metadata comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A registration request (RFC 7591 §3.1) or the configuration.
    Registration,
    /// A Client ID Metadata Document: a public client; unknown scopes are dropped, not refused.
    Document,
}

/// Validated client metadata (RFC 7591 §2), defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `redirect_uris`, as given (exact match at the authorization endpoint).
    pub redirect_uris: Vec<String>,
    /// `grant_types` (default `["authorization_code"]`).
    pub grant_types: Vec<String>,
    /// `response_types` (`["code"]` exactly when `authorization_code` is granted).
    pub response_types: Vec<String>,
    /// `token_endpoint_auth_method` (default `client_secret_basic`; `none` for documents).
    pub token_endpoint_auth_method: String,
    /// `application_type` (OpenID Connect Dynamic Client Registration §2): `web` or `native`.
    pub application_type: String,
    /// `scope`, normalised; `None` = any supported scope.
    pub scope: Option<String>,
    /// `client_name`.
    pub client_name: Option<String>,
}

fn bad(msg: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClientMetadata(msg.into())
}

fn opt_str<'a>(doc: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, OAuthError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("{key} must be a string"))),
    }
}

/// A string array, deduplicated in order.
fn opt_list(doc: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, OAuthError> {
    let items = match doc.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad(format!("{key} must be an array of strings"))),
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let s = item
            .as_str()
            .ok_or_else(|| bad(format!("{key} must be an array of strings")))?;
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(Some(out))
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_custom_scheme(uri: &str) -> bool {
    reqwest::Url::parse(uri).is_ok_and(|u| !matches!(u.scheme(), "http" | "https"))
}

/// Checks one redirect URI (RFC 7591 §2, OAuth 2.1 §2.3.1, RFC 8252 §7): absolute, no fragment,
/// no user information; `https`, `http` only on a loopback host (`127.0.0.1`, `[::1]`,
/// `localhost`), or a private-use scheme (`com.example.app:/cb`, RFC 8252 §7.1) for `native`
/// clients. `javascript:`, `data:`, `file:` and the like are refused for every client.
pub fn validate_redirect_uri(uri: &str, application_type: &str) -> Result<(), String> {
    if uri.len() > MAX_URI_LEN {
        return Err(format!("redirect URIs are limited to {MAX_URI_LEN} bytes"));
    }
    if uri.contains('#') {
        return Err(format!("{uri:?} must not contain a fragment"));
    }
    let u = reqwest::Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URI: {e}"))?;
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!("{uri:?} must not contain user information"));
    }
    match u.scheme() {
        "https" if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "https" => Err(format!("{uri:?} has no host")),
        "http" if u.host_str().is_some_and(is_loopback_host) => Ok(()),
        "http" => Err(format!(
            "{uri:?}: http is allowed only for loopback hosts (127.0.0.1, [::1], localhost); use https"
        )),
        s if DENIED_SCHEMES.contains(&s) => Err(format!("{uri:?}: scheme {s} is not allowed")),
        _ if application_type == "native" => Ok(()),
        s => Err(format!(
            "{uri:?}: the private-use scheme {s} needs application_type native (RFC 8252)"
        )),
    }
}

/// Validates client metadata (RFC 7591 §2 and §3.2.2): unknown fields are ignored; bad redirect
/// URIs give `invalid_redirect_uri`, anything else `invalid_client_metadata`. Without an
/// `application_type`, a private-use redirect scheme makes the client `native` (Cursor-style
/// `cursor://…` callbacks), otherwise it is `web`.
pub fn validate_metadata(
    doc: &Map<String, Value>,
    scopes_supported: &[String],
    origin: Origin,
) -> Result<Metadata, OAuthError> {
    let redirect_uris = opt_list(doc, "redirect_uris")?.unwrap_or_default();
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(bad(format!("at most {MAX_REDIRECT_URIS} redirect_uris")));
    }
    let application_type = match opt_str(doc, "application_type")? {
        Some(t @ ("web" | "native")) => t.to_owned(),
        Some(t) => return Err(bad(format!("application_type {t:?} is not web or native"))),
        None if redirect_uris.iter().any(|u| is_custom_scheme(u)) => "native".to_owned(),
        None => "web".to_owned(),
    };

    let grant_types =
        opt_list(doc, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    if grant_types.is_empty() {
        return Err(bad("grant_types must not be empty"));
    }
    if let Some(g) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(bad(format!("unsupported grant type {g:?}")));
    }
    let has = |g: &str| grant_types.iter().any(|x| x == g);
    let code = has("authorization_code");
    if has("refresh_token") && !code {
        return Err(bad("the refresh_token grant needs authorization_code"));
    }
    let response_types = match opt_list(doc, "response_types")? {
        None if code => vec!["code".to_owned()],
        None => Vec::new(),
        Some(list) => list,
    };
    if let Some(r) = response_types.iter().find(|r| *r != "code") {
        return Err(bad(format!("unsupported response type {r:?}")));
    }
    if response_types.is_empty() == code {
        return Err(bad(
            "response_types code goes with grant type authorization_code (RFC 7591 §2.1)",
        ));
    }

    let default_method = match origin {
        Origin::Registration => "client_secret_basic",
        Origin::Document => "none",
    };
    let method = opt_str(doc, "token_endpoint_auth_method")?.unwrap_or(default_method);
    match origin {
        Origin::Registration if !AUTH_METHODS.contains(&method) => {
            return Err(bad(format!(
                "token_endpoint_auth_method {method:?} is not one of {}",
                AUTH_METHODS.join(", ")
            )));
        }
        Origin::Document if method != "none" => {
            return Err(bad(format!(
                "a client metadata document describes a public client; token_endpoint_auth_method {method:?} is not supported"
            )));
        }
        Origin::Document
            if doc.contains_key("client_secret")
                || doc.contains_key("client_secret_expires_at") =>
        {
            return Err(bad(
                "a client metadata document must not contain a client secret",
            ));
        }
        _ => {}
    }
    if has("client_credentials") && method == "none" {
        return Err(bad(
            "client_credentials needs a confidential client (a client secret)",
        ));
    }

    if code && redirect_uris.is_empty() {
        return Err(OAuthError::InvalidRedirectUri(
            "redirect_uris is required for the authorization_code grant".into(),
        ));
    }
    for uri in &redirect_uris {
        validate_redirect_uri(uri, &application_type).map_err(OAuthError::InvalidRedirectUri)?;
    }

    let mut scopes: Vec<&str> = Vec::new();
    for s in opt_str(doc, "scope")?
        .unwrap_or_default()
        .split_whitespace()
    {
        if scopes_supported.iter().any(|k| k == s) {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        } else if origin == Origin::Registration {
            return Err(bad(format!(
                "unknown scope {s:?}; supported: {}",
                scopes_supported.join(" ")
            )));
        }
    }
    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));

    let client_name = match opt_str(doc, "client_name")?.map(str::trim) {
        Some(n) if n.chars().count() > MAX_CLIENT_NAME_CHARS => {
            return Err(bad(format!(
                "client_name is limited to {MAX_CLIENT_NAME_CHARS} characters"
            )));
        }
        Some(n) if n.chars().any(char::is_control) => {
            return Err(bad("client_name must not contain control characters"));
        }
        Some(n) if !n.is_empty() => Some(n.to_owned()),
        _ => None,
    };

    Ok(Metadata {
        redirect_uris,
        grant_types,
        response_types,
        token_endpoint_auth_method: method.to_owned(),
        application_type,
        scope,
        client_name,
    })
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scopes() -> Vec<String> {
        vec!["mcp:tools".into(), "mcp:admin".into()]
    }

    fn meta(v: Value, origin: Origin) -> Result<Metadata, OAuthError> {
        validate_metadata(v.as_object().unwrap(), &scopes(), origin)
    }

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://oauth.pstmn.io/v1/callback",
            "http://localhost:33418/callback",
            "http://127.0.0.1:8080/cb?x=1",
            "http://[::1]/cb",
        ] {
            assert_eq!(validate_redirect_uri(ok, "web"), Ok(()), "{ok}");
        }
        assert_eq!(
            validate_redirect_uri("com.example.app:/cb", "native"),
            Ok(())
        );
        assert_eq!(
            validate_redirect_uri("cursor://anysphere.cursor-mcp/oauth", "native"),
            Ok(())
        );
        for bad in [
            "/relative",
            "https://example.com/cb#frag",
            "http://example.com/cb",
            "http://10.0.0.1/cb",
            "https://user:pw@example.com/cb",
            "com.example.app:/cb",
        ] {
            assert!(validate_redirect_uri(bad, "web").is_err(), "{bad}");
        }
        assert!(validate_redirect_uri("javascript:alert(1)", "native").is_err());
        assert!(validate_redirect_uri("data:text/html,x", "native").is_err());
    }

    #[test]
    fn seed_registration_is_accepted() {
        let m = meta(
            json!({"client_name":"cli","redirect_uris":["https://oauth.pstmn.io/v1/callback"],
                "grant_types":["authorization_code"],"response_types":["code"],
                "token_endpoint_auth_method":"client_secret_post","scope":"mcp:tools"}),
            Origin::Registration,
        )
        .unwrap();
        assert_eq!(m.token_endpoint_auth_method, "client_secret_post");
        assert_eq!(m.scope.as_deref(), Some("mcp:tools"));
        assert_eq!(m.application_type, "web");
        assert_eq!(m.client_name.as_deref(), Some("cli"));
    }

    #[test]
    fn sdk_registration_and_defaults() {
        let m = meta(
            json!({"redirect_uris":["http://localhost:9999/callback"],
                "grant_types":["authorization_code","refresh_token"],
                "token_endpoint_auth_method":"none","client_uri":"https://x","software_id":"s"}),
            Origin::Registration,
        )
        .unwrap();
        assert_eq!(m.response_types, vec!["code"]);
        assert_eq!(m.scope, None);
        let m = meta(
            json!({"redirect_uris":["https://a.example/cb"]}),
            Origin::Registration,
        )
        .unwrap();
        assert_eq!(m.grant_types, vec!["authorization_code"]);
        assert_eq!(m.token_endpoint_auth_method, "client_secret_basic");
        let m = meta(
            json!({"redirect_uris":["cursor://x/cb"]}),
            Origin::Registration,
        )
        .unwrap();
        assert_eq!(m.application_type, "native");
        let m = meta(
            json!({"grant_types":["client_credentials"]}),
            Origin::Registration,
        )
        .unwrap();
        assert!(m.response_types.is_empty());
    }

    #[test]
    fn bad_metadata_is_refused() {
        let code = |v: Value| meta(v, Origin::Registration).unwrap_err().code();
        assert_eq!(code(json!({})), "invalid_redirect_uri");
        assert_eq!(
            code(json!({"redirect_uris":["http://evil.example/cb"]})),
            "invalid_redirect_uri"
        );
        assert_eq!(
            code(json!({"redirect_uris":["com.ex:/cb"],"application_type":"web"})),
            "invalid_redirect_uri"
        );
        for v in [
            json!({"redirect_uris":"https://a.example/cb"}),
            json!({"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]}),
            json!({"redirect_uris":["https://a.example/cb"],"grant_types":[]}),
            json!({"redirect_uris":["https://a.example/cb"],"response_types":["token"]}),
            json!({"grant_types":["client_credentials"],"response_types":["code"]}),
            json!({"grant_types":["refresh_token"]}),
            json!({"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}),
            json!({"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}),
            json!({"redirect_uris":["https://a.example/cb"],"scope":"mcp:tools openid"}),
            json!({"redirect_uris":["https://a.example/cb"],"application_type":"desktop"}),
            json!({"redirect_uris":["https://a.example/cb"],"client_name":"x".repeat(201)}),
            json!({"redirect_uris":["https://a.example/cb"],"client_name":"a\nb"}),
        ] {
            assert_eq!(code(v.clone()), "invalid_client_metadata", "{v}");
        }
    }

    #[test]
    fn documents_are_public_and_lenient_on_scopes() {
        let m = meta(
            json!({"redirect_uris":["https://a.example/cb"],"scope":"openid mcp:tools"}),
            Origin::Document,
        )
        .unwrap();
        assert_eq!(m.token_endpoint_auth_method, "none");
        assert_eq!(m.scope.as_deref(), Some("mcp:tools"));
        for v in [
            json!({"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}),
            json!({"redirect_uris":["https://a.example/cb"],"client_secret":"x"}),
        ] {
            assert!(meta(v, Origin::Document).is_err());
        }
    }
}
