//! What both token modes read from a token's claims (a JWT payload or an RFC 7662 introspection
//! response): audience (RFC 7519 §4.1.3, RFC 8707 §2), scopes (`scope` per RFC 8693 §4.2 /
//! RFC 9068 §2.2.3, or `scp` as Okta and Entra issue it), issuer, subject and client id, turned
//! into the [`Verified`] token the rest of the server sees.

use crate::principal::Principal;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A validated token, as the auth layer hands it on: the principal and when the token expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who the token was issued to (shared: every request presenting the token gets this one
    /// copy from the token cache).
    pub principal: Arc<Principal>,
    /// `exp` (seconds since the Unix epoch), when the token has one.
    pub expires_at: Option<u64>,
}

/// The audiences a token must name one of (MCP 2025-06-18+ `basic/authorization.mdx`, "Token
/// Audience Binding and Validation"). Comparison is on normalized URIs: scheme and host are
/// case-insensitive and one trailing slash is ignored, as in the audience validator of the MCP
/// authorization tutorial (`http://localhost:3000` and `http://localhost:3000/` are the same).
#[derive(Debug, Clone)]
pub struct Audiences {
    accepted: Vec<String>,
}

impl Audiences {
    /// Accepts any of `accepted`.
    pub fn new(accepted: &[String]) -> Self {
        Self {
            accepted: accepted.iter().map(|a| normalize_uri(a)).collect(),
        }
    }

    /// The accepted audiences, normalized.
    pub fn accepted(&self) -> &[String] {
        &self.accepted
    }

    /// Whether one of the token's audiences is accepted.
    pub fn accepts(&self, token_audiences: &[String]) -> bool {
        token_audiences
            .iter()
            .any(|a| self.accepted.contains(&normalize_uri(a)))
    }
}

/// Lowercases the scheme and authority of an absolute URI and drops one trailing slash; other
/// strings (non-URI audiences such as client ids) only lose the trailing slash.
pub fn normalize_uri(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_suffix('/').unwrap_or(s);
    match s.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            format!(
                "{}://{}{}",
                scheme.to_ascii_lowercase(),
                authority.to_ascii_lowercase(),
                path
            )
        }
        None => s.to_owned(),
    }
}

/// Whether two issuer identifiers are the same, tolerating one trailing slash (Auth0 issuers end
/// with `/`, Keycloak's do not; operators copy them either way).
pub fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// `aud` as a list (it is a string or an array of strings).
pub fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Granted scopes from `scope` (space-separated string, or an array from some servers) or `scp`
/// (array or space-separated string).
pub fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in ["scope", "scp"] {
        match claims.get(key) {
            Some(Value::String(s)) => out.extend(s.split_whitespace().map(str::to_owned)),
            Some(Value::Array(a)) => out.extend(
                a.iter()
                    .filter_map(|v| v.as_str())
                    .flat_map(str::split_whitespace)
                    .map(str::to_owned),
            ),
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

fn string_claim(claims: &Map<String, Value>, key: &str) -> Option<String> {
    claims
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A numeric date claim (`exp`, `nbf`), accepting integers and floats (RFC 7519 NumericDate).
pub fn numeric_date(claims: &Map<String, Value>, key: &str) -> Option<u64> {
    let v = claims.get(key)?;
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// The principal named by the claims; `issuer` fills in a missing `iss` (introspection
/// responses often omit it: the authorization server that answered is the issuer).
pub fn principal(claims: &Map<String, Value>, issuer: Option<&str>) -> Principal {
    Principal {
        issuer: string_claim(claims, "iss").or_else(|| issuer.map(str::to_owned)),
        subject: string_claim(claims, "sub"),
        client_id: string_claim(claims, "client_id").or_else(|| string_claim(claims, "azp")),
        scopes: scopes(claims),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn audience_tolerates_trailing_slash_and_host_case() {
        let a = Audiences::new(&["http://localhost:3000/mcp".to_owned()]);
        assert!(a.accepts(&["http://localhost:3000/mcp/".into()]));
        assert!(a.accepts(&["HTTP://LocalHost:3000/mcp".into()]));
        assert!(!a.accepts(&["http://localhost:3000/MCP".into()]));
        assert!(!a.accepts(&["http://localhost:3000".into()]));
        assert!(!a.accepts(&["http://localhost:3000/mcp/other".into()]));
        assert!(!a.accepts(&[]));
    }

    #[test]
    fn scopes_from_scope_or_scp() {
        assert_eq!(
            scopes(&map(json!({"scope": "b a  a"}))),
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert_eq!(
            scopes(&map(json!({"scp": ["x", "y"]}))),
            vec!["x".to_owned(), "y".to_owned()]
        );
        assert!(scopes(&map(json!({"scope": 5}))).is_empty());
    }

    #[test]
    fn principal_from_claims() {
        let p = principal(
            &map(json!({"sub": "u1", "azp": "cli", "scope": "mcp:tools"})),
            Some("https://as.example"),
        );
        assert_eq!(p.issuer.as_deref(), Some("https://as.example"));
        assert_eq!(p.subject.as_deref(), Some("u1"));
        assert_eq!(p.client_id.as_deref(), Some("cli"));
        assert_eq!(
            audiences(&map(json!({"aud": ["a", 1, "b"]}))),
            vec!["a", "b"]
        );
        assert_eq!(numeric_date(&map(json!({"exp": 12.5})), "exp"), Some(12));
    }
}
