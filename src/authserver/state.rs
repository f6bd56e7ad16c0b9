//! The authorization server's records and their lifecycle on a [`Kv`] store:
//!
//! | key (after the prefix) | value | lives |
//! |---|---|---|
//! | `client:<client_id>` | [`ClientRecord`] (secret as SHA-256) | registration: 30 days, refreshed on use |
//! | `code:<sha256(code)>` | [`CodeRecord`] | `code_ttl_secs`; taken atomically at the token endpoint |
//! | `code-used:<sha256(code)>` | the grant id | the refresh lifetime: a replayed code revokes its grant |
//! | `at:<sha256(token)>` | [`TokenRecord`] (opaque access tokens) | the token lifetime |
//! | `rt:<sha256(token)>` | [`TokenRecord`] (refresh tokens) | refresh lifetime; taken (rotated) on use |
//! | `rt-used:<sha256(token)>` | the grant id | the rest of its lifetime: a replayed refresh token revokes its grant |
//! | `revoked-grant:<grant>` | `1` | the refresh lifetime |
//! | `revoked-jti:<jti>` | `1` | the JWT's lifetime (RFC 7009 for JWT access tokens) |
//! | `signing-key` | PEM | forever (shared by replicas) |
//!
//! Codes and tokens are stored under their SHA-256 only: a copy of the store holds no usable
//! credential.

use super::kv::{Kv, KvError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a registered client is kept without use.
pub const CLIENT_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A registered client (RFC 7591 §2 metadata that the server acts on).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClientRecord {
    /// `client_id`.
    pub client_id: String,
    /// SHA-256 (hex) of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub token_endpoint_auth_method: String,
    /// Allowed scopes (space-separated); `None` = any supported scope.
    pub scope: Option<String>,
    /// Display name.
    pub client_name: Option<String>,
    /// `web` or `native`.
    pub application_type: String,
    /// Registration time (seconds).
    pub created_at: u64,
    /// Registered by configuration (never expires) rather than dynamically.
    #[serde(default)]
    pub static_client: bool,
}

/// An issued authorization code, bound to everything the token request must repeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeRecord {
    /// The client it was issued to.
    pub client_id: String,
    /// The exact redirect URI of the authorization request.
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Granted scope.
    pub scope: String,
    /// RFC 8707 resource the token will be for.
    pub resource: Option<String>,
    /// The user who approved.
    pub subject: String,
    /// The grant this code starts (tokens derived from it carry it).
    pub grant_id: String,
    /// Expiry (seconds).
    pub expires_at: u64,
}

/// An issued access or refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Client.
    pub client_id: String,
    /// User (absent for client credentials).
    pub subject: Option<String>,
    /// Scope.
    pub scope: String,
    /// Audience (the RFC 8707 resource).
    pub resource: Option<String>,
    /// The grant (authorization) it belongs to.
    pub grant_id: String,
    /// Issued at (seconds).
    pub issued_at: u64,
    /// Expiry (seconds).
    pub expires_at: u64,
}

/// What taking a refresh token found.
#[derive(Debug)]
pub enum RefreshTake {
    /// The current token of its grant.
    Fresh(TokenRecord),
    /// Already rotated: its grant must be revoked (OAuth 2.1 §4.3.1).
    Replayed {
        /// The grant the token belonged to.
        grant_id: String,
    },
    /// Never issued, expired or revoked.
    Unknown,
}

/// What taking a code found.
#[derive(Debug)]
pub enum CodeTake {
    /// The first use.
    Fresh(CodeRecord),
    /// Used before: its grant must be revoked.
    Replayed {
        /// The grant the code started.
        grant_id: String,
    },
    /// Never issued, or expired.
    Unknown,
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Hex SHA-256 of a secret, code or token.
pub fn digest(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A random credential: `bytes` bytes from the OS CSPRNG, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine as _;
    use rand::Rng as _;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Typed access to the authorization server's state.
#[derive(Clone)]
pub struct State {
    kv: Arc<dyn Kv>,
    prefix: String,
}

fn decode<T: serde::de::DeserializeOwned>(raw: Option<String>) -> Option<T> {
    raw.and_then(|s| serde_json::from_str(&s).ok())
}

fn encode<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl State {
    /// State on `kv`, keys prefixed with `prefix:`.
    pub fn new(kv: Arc<dyn Kv>, prefix: &str) -> Self {
        Self {
            kv,
            prefix: prefix.to_owned(),
        }
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.prefix)
    }

    /// Saves a client.
    pub async fn put_client(&self, c: &ClientRecord) -> Result<(), KvError> {
        let ttl = if c.static_client {
            Duration::from_secs(100 * 365 * 24 * 3600)
        } else {
            CLIENT_TTL
        };
        self.kv
            .put(&self.key("client", &c.client_id), &encode(c), ttl)
            .await
    }

    /// A client by id.
    pub async fn client(&self, id: &str) -> Result<Option<ClientRecord>, KvError> {
        Ok(decode(self.kv.get(&self.key("client", id)).await?))
    }

    /// Saves a code for `ttl`.
    pub async fn put_code(
        &self,
        code: &str,
        rec: &CodeRecord,
        ttl: Duration,
    ) -> Result<(), KvError> {
        self.kv
            .put(&self.key("code", &digest(code)), &encode(rec), ttl)
            .await
    }

    /// Takes a code (single use); a second use reports the grant to revoke.
    pub async fn take_code(&self, code: &str, remember: Duration) -> Result<CodeTake, KvError> {
        let hash = digest(code);
        match decode::<CodeRecord>(self.kv.take(&self.key("code", &hash)).await?) {
            Some(rec) => {
                self.kv
                    .put(&self.key("code-used", &hash), &rec.grant_id, remember)
                    .await?;
                Ok(CodeTake::Fresh(rec))
            }
            None => Ok(match self.kv.get(&self.key("code-used", &hash)).await? {
                Some(grant_id) => CodeTake::Replayed { grant_id },
                None => CodeTake::Unknown,
            }),
        }
    }

    /// Saves an opaque access token.
    pub async fn put_access(&self, token: &str, rec: &TokenRecord) -> Result<(), KvError> {
        let ttl = Duration::from_secs(rec.expires_at.saturating_sub(now_secs()).max(1));
        self.kv
            .put(&self.key("at", &digest(token)), &encode(rec), ttl)
            .await
    }

    /// An opaque access token's record.
    pub async fn access(&self, token: &str) -> Result<Option<TokenRecord>, KvError> {
        Ok(decode(self.kv.get(&self.key("at", &digest(token))).await?))
    }

    /// Forgets an opaque access token.
    pub async fn delete_access(&self, token: &str) -> Result<(), KvError> {
        self.kv.delete(&self.key("at", &digest(token))).await
    }

    /// Saves a refresh token.
    pub async fn put_refresh(&self, token: &str, rec: &TokenRecord) -> Result<(), KvError> {
        let ttl = Duration::from_secs(rec.expires_at.saturating_sub(now_secs()).max(1));
        self.kv
            .put(&self.key("rt", &digest(token)), &encode(rec), ttl)
            .await
    }

    /// Takes a refresh token (rotation: of concurrent users, one wins) and remembers it as used
    /// until it would have expired, so a replay can be recognized.
    pub async fn take_refresh(&self, token: &str) -> Result<RefreshTake, KvError> {
        let hash = digest(token);
        match decode::<TokenRecord>(self.kv.take(&self.key("rt", &hash)).await?) {
            Some(rec) => {
                let ttl = Duration::from_secs(rec.expires_at.saturating_sub(now_secs()).max(1));
                self.kv
                    .put(&self.key("rt-used", &hash), &rec.grant_id, ttl)
                    .await?;
                Ok(RefreshTake::Fresh(rec))
            }
            None => Ok(match self.kv.get(&self.key("rt-used", &hash)).await? {
                Some(grant_id) => RefreshTake::Replayed { grant_id },
                None => RefreshTake::Unknown,
            }),
        }
    }

    /// A refresh token's record (without taking it).
    pub async fn refresh(&self, token: &str) -> Result<Option<TokenRecord>, KvError> {
        Ok(decode(self.kv.get(&self.key("rt", &digest(token))).await?))
    }

    /// Forgets a refresh token.
    pub async fn delete_refresh(&self, token: &str) -> Result<(), KvError> {
        self.kv.delete(&self.key("rt", &digest(token))).await
    }

    /// Revokes every token of a grant for `ttl`.
    pub async fn revoke_grant(&self, grant_id: &str, ttl: Duration) -> Result<(), KvError> {
        self.kv
            .put(&self.key("revoked-grant", grant_id), "1", ttl)
            .await
    }

    /// Whether the grant was revoked.
    pub async fn grant_revoked(&self, grant_id: &str) -> Result<bool, KvError> {
        Ok(self
            .kv
            .get(&self.key("revoked-grant", grant_id))
            .await?
            .is_some())
    }

    /// Revokes a JWT access token by `jti` until it expires.
    pub async fn revoke_jti(&self, jti: &str, ttl: Duration) -> Result<(), KvError> {
        self.kv.put(&self.key("revoked-jti", jti), "1", ttl).await
    }

    /// Whether a JWT access token was revoked.
    pub async fn jti_revoked(&self, jti: &str) -> Result<bool, KvError> {
        Ok(self.kv.get(&self.key("revoked-jti", jti)).await?.is_some())
    }

    /// The shared signing key: `candidate` unless a replica stored one first.
    pub async fn signing_key(&self, candidate: &str) -> Result<String, KvError> {
        self.kv
            .put_if_absent(&format!("{}:signing-key", self.prefix), candidate, None)
            .await
    }
}
