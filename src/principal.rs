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
    /// The stable key used to bind sessions to their creator: issuer and subject, or issuer and
    /// client id for client-credentials tokens without a subject (tagged, so a subject can never
    /// be mistaken for a client id). Scopes are not part of it: a client may step up to more
    /// scopes and keep its session.
    pub fn binding_key(&self) -> String {
        let (issuer, who) = self.binding();
        match who {
            Who::Subject(sub) => format!("{issuer}|sub:{sub}"),
            Who::Client(client) => format!("{issuer}|client:{client}"),
            Who::Nobody => format!("{issuer}|-"),
        }
    }

    /// Whether `other` has the same [`binding_key`](Self::binding_key), compared field by
    /// field without building the keys: the per-request session ownership check.
    pub fn same_binding(&self, other: &Principal) -> bool {
        self.binding() == other.binding()
    }

    /// The components of [`binding_key`](Self::binding_key): issuer without trailing `/`, and
    /// subject, or client id when there is no subject.
    fn binding(&self) -> (&str, Who<'_>) {
        let issuer = self.issuer.as_deref().unwrap_or("").trim_end_matches('/');
        let who = match (&self.subject, &self.client_id) {
            (Some(sub), _) => Who::Subject(sub),
            (None, Some(client)) => Who::Client(client),
            (None, None) => Who::Nobody,
        };
        (issuer, who)
    }

    /// Whether the principal was granted `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Who a session is bound to, besides the issuer (tagged, so a subject is never a client id).
#[derive(PartialEq)]
enum Who<'a> {
    Subject(&'a str),
    Client(&'a str),
    Nobody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_keys_separate_subjects_from_clients() {
        let user = Principal {
            issuer: Some("https://as/".into()),
            subject: Some("x".into()),
            ..Principal::default()
        };
        let client = Principal {
            issuer: Some("https://as".into()),
            client_id: Some("x".into()),
            ..Principal::default()
        };
        assert_ne!(user.binding_key(), client.binding_key());
        let stepped_up = Principal {
            scopes: vec!["more".into()],
            client_id: Some("other-client".into()),
            ..user.clone()
        };
        assert_eq!(user.binding_key(), stepped_up.binding_key());
        assert!(user.same_binding(&stepped_up));
        assert!(!user.same_binding(&client) && !client.same_binding(&user));
        let anonymous = Principal::default();
        assert!(anonymous.same_binding(&Principal::default()));
        assert!(!anonymous.same_binding(&client));
        let other_issuer = Principal {
            issuer: Some("https://elsewhere".into()),
            ..user.clone()
        };
        assert!(!user.same_binding(&other_issuer));
        // Agrees with the keys on every pair above.
        let all = [&user, &client, &stepped_up, &anonymous, &other_issuer];
        for a in all {
            for b in all {
                assert_eq!(a.same_binding(b), a.binding_key() == b.binding_key());
            }
        }
    }
}
