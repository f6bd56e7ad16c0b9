//! Introspection mode: asks the authorization server about each (uncached) token with an
//! RFC 7662 §2.1 request (`token`, `token_type_hint=access_token`), authenticating as a client
//! by HTTP Basic or form parameters (RFC 6749 §2.3.1), and reads the §2.2 response: `active`
//! must be `true`; `exp`/`nbf` are re-checked with the leeway (a misbehaving server cannot make an
//! expired token live); `aud` must name this resource (MCP "Token Audience Binding and
//! Validation"; a response without `aud` is refused unless `auth.require_audience = false`).
//!
//! The authorization server is authoritative for its tokens, so a missing `iss` is filled in
//! with the configured issuer. A server that cannot be reached, times out, answers 5xx or
//! refuses this server's credentials yields [`Rejected::Unavailable`] (HTTP 503), never 401.

use super::claims::{Audiences, Verified, audiences, numeric_date, principal};
use super::fetch::{FetchError, json_object};
use super::{Rejected, Verify};
use crate::config::ClientAuthMethod;
use serde_json::Value;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// How this server authenticates to the introspection endpoint.
#[derive(Clone)]
pub enum ClientAuth {
    /// No client authentication.
    None,
    /// HTTP Basic (`client_secret_basic`).
    Basic {
        /// Client id.
        id: String,
        /// Client secret.
        secret: String,
    },
    /// Form parameters (`client_secret_post`).
    Post {
        /// Client id.
        id: String,
        /// Client secret.
        secret: String,
    },
}

impl ClientAuth {
    /// From the configured method and credentials (`auto` = Basic when a secret is set).
    pub fn from_settings(method: ClientAuthMethod, id: &str, secret: &str) -> Self {
        let (id, secret) = (id.to_owned(), secret.to_owned());
        match method {
            ClientAuthMethod::None => ClientAuth::None,
            ClientAuthMethod::Auto if secret.is_empty() => ClientAuth::None,
            ClientAuthMethod::Auto | ClientAuthMethod::ClientSecretBasic => {
                ClientAuth::Basic { id, secret }
            }
            ClientAuthMethod::ClientSecretPost => ClientAuth::Post { id, secret },
        }
    }
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.write_str(match self {
            ClientAuth::None => "none",
            ClientAuth::Basic { .. } => "client_secret_basic",
            ClientAuth::Post { .. } => "client_secret_post",
        })
    }
}

/// An RFC 7662 client.
pub struct Introspector {
    http: reqwest::Client,
    url: String,
    auth: ClientAuth,
    issuer: String,
    audiences: Audiences,
    require_audience: bool,
    leeway: u64,
}

impl Introspector {
    /// A client of the introspection endpoint at `url`.
    pub fn new(
        http: reqwest::Client,
        url: String,
        auth: ClientAuth,
        issuer: String,
        audiences: Audiences,
        require_audience: bool,
        leeway: u64,
    ) -> Self {
        Self {
            http,
            url,
            auth,
            issuer,
            audiences,
            require_audience,
            leeway,
        }
    }

    async fn check(&self, token: &str) -> Result<Verified, Rejected> {
        let mut form: Vec<(&str, &str)> =
            vec![("token", token), ("token_type_hint", "access_token")];
        let mut request = self.http.post(&self.url);
        match &self.auth {
            ClientAuth::None => {}
            ClientAuth::Basic { id, secret } => {
                // RFC 6749 §2.3.1: the credentials are form-urlencoded before Basic encoding.
                request = request.basic_auth(form_encode(id), Some(form_encode(secret)));
            }
            ClientAuth::Post { id, secret } => {
                form.push(("client_id", id));
                form.push(("client_secret", secret));
            }
        }
        let response = json_object(request.form(&form), &self.url)
            .await
            .map_err(|e| {
                if let FetchError::Status {
                    status: 400,
                    oauth_error: Some(code),
                    ..
                } = &e
                    && code == "unsupported_token_type"
                {
                    // Some servers (oidc-provider) answer this instead of `active: false` for
                    // tokens they did not issue as access tokens (a JWT, an ID token).
                    return Rejected::Invalid(
                        "the authorization server does not know this token".into(),
                    );
                }
                let reason = match &e {
                    FetchError::Status {
                        status: 401 | 403, ..
                    } => format!(
                        "{e}: the introspection endpoint refused this server's client credentials \
                         (check OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET / OAUTH_CLIENT_AUTH_METHOD)"
                    ),
                    _ => e.to_string(),
                };
                tracing::error!(reason = %reason, "token introspection failed");
                Rejected::Unavailable("the authorization server could not check the token".into())
            })?;
        if response.get("active") != Some(&Value::Bool(true)) {
            return Err(Rejected::Invalid("token is not active".into()));
        }
        if response.get("token_type").and_then(Value::as_str) == Some("refresh_token") {
            return Err(Rejected::Invalid(
                "a refresh token is not an access token".into(),
            ));
        }
        let now = now_secs();
        let exp = numeric_date(&response, "exp");
        if exp.is_some_and(|exp| exp + self.leeway <= now) {
            return Err(Rejected::Invalid("token expired".into()));
        }
        if numeric_date(&response, "nbf").is_some_and(|nbf| nbf > now + self.leeway) {
            return Err(Rejected::Invalid("token not yet valid (nbf)".into()));
        }
        let aud = audiences(&response);
        if aud.is_empty() {
            if self.require_audience {
                return Err(Rejected::Invalid(
                    "the token names no audience (aud); it may be meant for another resource"
                        .into(),
                ));
            }
        } else if !self.audiences.accepts(&aud) {
            return Err(Rejected::Invalid(
                "audience mismatch: the token was not issued for this resource".into(),
            ));
        }
        Ok(Verified {
            principal: Arc::new(principal(&response, Some(&self.issuer))),
            expires_at: exp,
        })
    }
}

#[async_trait::async_trait]
impl Verify for Introspector {
    async fn verify(&self, token: &str) -> Result<Verified, Rejected> {
        self.check(token).await
    }

    /// Asks about a token no server issued: any answer but a server error or a refusal of
    /// this server's client credentials means token checks can run.
    async fn reachable(&self) -> Result<(), String> {
        let probe = self.http.post(&self.url);
        let probe = match &self.auth {
            ClientAuth::None => probe.form(&[("token", "mcp-hive-readiness-probe")]),
            ClientAuth::Basic { id, secret } => probe
                .basic_auth(form_encode(id), Some(form_encode(secret)))
                .form(&[("token", "mcp-hive-readiness-probe")]),
            ClientAuth::Post { id, secret } => probe.form(&[
                ("token", "mcp-hive-readiness-probe"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
            ]),
        };
        match json_object(probe, &self.url).await {
            Ok(_) => Ok(()),
            Err(FetchError::Status {
                status: 401 | 403, ..
            }) => Err(format!(
                "{} refuses this server's client credentials (OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET)",
                self.url
            )),
            Err(e @ FetchError::Status { status, .. }) if status >= 500 => Err(e.to_string()),
            Err(FetchError::Status { .. }) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B).
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_of_credentials() {
        assert_eq!(form_encode("a b:c/é"), "a+b%3Ac%2F%C3%A9");
        assert_eq!(form_encode("mcp-server_1.x"), "mcp-server_1.x");
    }

    #[test]
    fn auto_picks_basic_only_with_a_secret() {
        assert!(matches!(
            ClientAuth::from_settings(ClientAuthMethod::Auto, "id", ""),
            ClientAuth::None
        ));
        assert!(matches!(
            ClientAuth::from_settings(ClientAuthMethod::Auto, "id", "s"),
            ClientAuth::Basic { .. }
        ));
        assert!(matches!(
            ClientAuth::from_settings(ClientAuthMethod::ClientSecretPost, "id", "s"),
            ClientAuth::Post { .. }
        ));
    }
}
