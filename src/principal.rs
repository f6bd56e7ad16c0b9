//! The authenticated caller of a request: the identity the auth layer derives from a validated
//! bearer token and records on a session at `initialize`.
//!
//! This module is deliberately tiny and dependency-free so that the protocol core (which hands
//! the principal to tools), the store (which persists it with the session record) and the auth
//! layer (which produces it) can share it without depending on one another. Tokens never appear
//! here: only the claims the server acts on.

use serde::{Deserialize, Serialize};

/// Who made a request, as established by the auth layer (issuer, subject, client, scopes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Principal {
    /// Token issuer (`iss`), or the introspection endpoint's issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Subject (`sub`): the user or service the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// OAuth client id (`client_id` / `azp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

impl Principal {
    /// The stable key used to bind sessions to their creator: issuer and subject (falling back
    /// to the client id for client-credentials tokens without a subject).
    pub fn binding_key(&self) -> String {
        format!(
            "{}|{}",
            self.issuer.as_deref().unwrap_or(""),
            self.subject
                .as_deref()
                .or(self.client_id.as_deref())
                .unwrap_or("")
        )
    }
}
