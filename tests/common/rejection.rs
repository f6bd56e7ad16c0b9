//! Assertions on the MCP server's auth rejections (status, `WWW-Authenticate` challenge and
//! JSON-RPC body) as a client sees them.

#![allow(dead_code)]

use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Assertions on the resource server's rejections
// ---------------------------------------------------------------------------------------------

/// An auth rejection as the client sees it.
#[derive(Debug)]
pub struct Rejection {
    /// HTTP status.
    pub status: reqwest::StatusCode,
    /// `WWW-Authenticate`, if any.
    pub challenge: Option<String>,
    /// `Retry-After`, if any.
    pub retry_after: Option<String>,
    /// The JSON body (`Null` if not JSON).
    pub body: Value,
}

/// Reads status, challenge, `Retry-After` and body of a response.
pub async fn rejection(res: reqwest::Response) -> Rejection {
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_owned())
    };
    let (status, challenge, retry_after) = (
        res.status(),
        header("www-authenticate"),
        header("retry-after"),
    );
    let body = res.json().await.unwrap_or(Value::Null);
    Rejection {
        status,
        challenge,
        retry_after,
        body,
    }
}

/// The protected resource metadata URL of a server's `/mcp` endpoint.
pub fn resource_metadata_of(base: &str) -> String {
    format!("{base}/.well-known/oauth-protected-resource/mcp")
}

impl Rejection {
    /// The body is a JSON-RPC error with `id: null` whose `data.error` is `oauth_error` (or
    /// which has no OAuth error code).
    pub fn assert_jsonrpc(&self, oauth_error: Option<&str>, ctx: &str) {
        let b = &self.body;
        assert_eq!(b["jsonrpc"], "2.0", "{ctx}: {b}");
        assert!(
            b.as_object().is_some_and(|o| o.contains_key("id")) && b["id"].is_null(),
            "{ctx}: id must be null: {b}"
        );
        assert!(b["error"]["code"].is_i64(), "{ctx}: {b}");
        assert!(
            b["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{ctx}: {b}"
        );
        match oauth_error {
            Some(code) => {
                assert_eq!(b["error"]["data"]["error"], code, "{ctx}: {b}");
                assert!(
                    b["error"]["data"]["error_description"].is_string(),
                    "{ctx}: {b}"
                );
            }
            None => assert!(b["error"]["data"]["error"].is_null(), "{ctx}: {b}"),
        }
    }

    /// The challenge, which must be present.
    pub fn challenge(&self, ctx: &str) -> &str {
        self.challenge
            .as_deref()
            .unwrap_or_else(|| panic!("{ctx}: no WWW-Authenticate on {}", self.status))
    }

    /// 401 `invalid_token` with a description, the metadata URL and the endpoint scope.
    pub fn assert_invalid_token(&self, resource_metadata: &str, ctx: &str) {
        assert_eq!(self.status, 401, "{ctx}: {:?}", self.body);
        let c = self.challenge(ctx);
        assert!(
            c.starts_with("Bearer error=\"invalid_token\", error_description=\""),
            "{ctx}: {c}"
        );
        assert!(
            c.contains(&format!("resource_metadata=\"{resource_metadata}\"")),
            "{ctx}: {c}"
        );
        assert!(c.ends_with("scope=\"mcp:tools\""), "{ctx}: {c}");
        self.assert_jsonrpc(Some("invalid_token"), ctx);
    }

    /// 403 `insufficient_scope` naming exactly `scope` (all scopes the operation needs).
    pub fn assert_insufficient_scope(&self, resource_metadata: &str, scope: &str, ctx: &str) {
        assert_eq!(self.status, 403, "{ctx}: {:?}", self.body);
        let c = self.challenge(ctx);
        assert!(
            c.starts_with("Bearer error=\"insufficient_scope\""),
            "{ctx}: {c}"
        );
        assert!(
            c.contains(&format!("resource_metadata=\"{resource_metadata}\"")),
            "{ctx}: {c}"
        );
        assert!(c.ends_with(&format!("scope=\"{scope}\"")), "{ctx}: {c}");
        self.assert_jsonrpc(Some("insufficient_scope"), ctx);
    }

    /// 401 without an error code: the plain challenge for a request without a bearer token.
    pub fn assert_missing_token(&self, resource_metadata: &str, ctx: &str) {
        assert_eq!(self.status, 401, "{ctx}: {:?}", self.body);
        assert_eq!(
            self.challenge(ctx),
            format!("Bearer resource_metadata=\"{resource_metadata}\", scope=\"mcp:tools\""),
            "{ctx}"
        );
        self.assert_jsonrpc(None, ctx);
    }

    /// 400 `invalid_request`.
    pub fn assert_invalid_request(&self, ctx: &str) {
        assert_eq!(self.status, 400, "{ctx}: {:?}", self.body);
        let c = self.challenge(ctx);
        assert!(
            c.starts_with("Bearer error=\"invalid_request\", error_description=\""),
            "{ctx}: {c}"
        );
        self.assert_jsonrpc(Some("invalid_request"), ctx);
    }

    /// 503 with `Retry-After` and no challenge (the client must not drop its token).
    pub fn assert_unavailable(&self, ctx: &str) {
        assert_eq!(self.status, 503, "{ctx}: {:?}", self.body);
        assert!(
            self.retry_after
                .as_deref()
                .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0)),
            "{ctx}: Retry-After {:?}",
            self.retry_after
        );
        assert!(
            self.challenge.is_none(),
            "{ctx}: a 503 must not challenge: {:?}",
            self.challenge
        );
        self.assert_jsonrpc(None, ctx);
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}
