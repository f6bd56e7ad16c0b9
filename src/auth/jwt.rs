//! JWT mode: local validation of JWT access tokens (RFC 9068, OAuth 2.1 §5.2) with the
//! `jsonwebtoken` crate.
//!
//! Order of checks: the header's `alg` must be in the configured allow-list (asymmetric only:
//! `none` cannot even be parsed, HMAC is refused by configuration and by [`super::jwks`], which
//! keeps no symmetric keys, so an HS256 token "signed" with the public key fails); the key is
//! chosen by `kid` and must belong to the algorithm's family; the signature is verified; `exp`
//! (required) and `nbf` with `leeway_secs`; `iss` must be the configured issuer; `aud` must name
//! this resource (RFC 8707 §2, MCP "Token Audience Binding and Validation").

use super::claims::{Audiences, Verified, audiences, numeric_date, principal, same_issuer};
use super::jwks::{KeyError, KeySet};
use super::{Rejected, Verify};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Validates JWT access tokens of one issuer.
pub struct JwtVerifier {
    keys: Arc<KeySet>,
    issuer: String,
    audiences: Audiences,
    algorithms: Vec<Algorithm>,
    leeway: u64,
}

impl JwtVerifier {
    /// A verifier for `issuer`'s tokens, signed with one of `algorithms` by a key of `keys`.
    pub fn new(
        keys: Arc<KeySet>,
        issuer: String,
        audiences: Audiences,
        algorithms: Vec<Algorithm>,
        leeway: u64,
    ) -> Self {
        Self {
            keys,
            issuer,
            audiences,
            algorithms,
            leeway,
        }
    }

    /// The key set (for prefetching at start-up).
    pub fn keys(&self) -> &Arc<KeySet> {
        &self.keys
    }

    async fn check(&self, token: &str) -> Result<Verified, Rejected> {
        let header = decode_header(token).map_err(|e| {
            Rejected::Invalid(match e.kind() {
                ErrorKind::InvalidAlgorithmName => "unsupported signature algorithm".into(),
                _ => "not a well-formed JWT".into(),
            })
        })?;
        if !self.algorithms.contains(&header.alg) {
            return Err(Rejected::Invalid(format!(
                "signature algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let key = self
            .keys
            .key(header.kid.as_deref(), header.alg)
            .await
            .map_err(|e| match e {
                KeyError::Unknown(_) => Rejected::Invalid("unknown signing key".into()),
                KeyError::Unavailable(reason) => Rejected::Unavailable(reason),
            })?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss"]);
        let data =
            decode::<Map<String, Value>>(token, &key.decoding, &validation).map_err(|e| {
                Rejected::Invalid(
                    match e.kind() {
                        ErrorKind::ExpiredSignature => "token expired",
                        ErrorKind::ImmatureSignature => "token not yet valid (nbf)",
                        ErrorKind::InvalidSignature => "signature does not verify",
                        ErrorKind::MissingRequiredClaim(_) => "token lacks exp or iss",
                        ErrorKind::InvalidAlgorithm => "algorithm does not fit the key",
                        _ => "token cannot be decoded",
                    }
                    .into(),
                )
            })?;
        let claims = data.claims;
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        if !same_issuer(iss, &self.issuer) {
            return Err(Rejected::Invalid("issuer mismatch".into()));
        }
        if !self.audiences.accepts(&audiences(&claims)) {
            return Err(Rejected::Invalid(
                "audience mismatch: the token was not issued for this resource".into(),
            ));
        }
        Ok(Verified {
            principal: Arc::new(principal(&claims, None)),
            expires_at: numeric_date(&claims, "exp"),
        })
    }
}

#[async_trait::async_trait]
impl Verify for JwtVerifier {
    async fn verify(&self, token: &str) -> Result<Verified, Rejected> {
        self.check(token).await
    }

    async fn reachable(&self) -> Result<(), String> {
        self.keys.reachable().await
    }
}
