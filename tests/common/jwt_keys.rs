//! JWT helpers of the auth tests: [`SigningKey`] loads the committed test keys
//! (`tests/fixtures/jwt`), signs tokens and publishes their public JWKs; the `hostile` functions
//! build the malformed and forged tokens a resource server must refuse.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------------
// JWT helpers
// ---------------------------------------------------------------------------------------------

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A unique `jti`, so that otherwise equal tokens differ (the server caches verdicts per token).
pub fn unique_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}-{}", now(), NEXT.fetch_add(1, Ordering::SeqCst))
}

/// A private signing key of `tests/fixtures/jwt`, its key id and its public JWK.
#[derive(Clone)]
pub struct SigningKey {
    /// The `kid` of its JWK and of the tokens it signs.
    pub kid: String,
    /// Signature algorithm.
    pub alg: Algorithm,
    key: EncodingKey,
    /// The public JWK (`kid`, `alg`, `use: sig`).
    pub jwk: Value,
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/jwt/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

impl SigningKey {
    /// `rsa-a.key.pem`, RS256, kid `rsa-a`.
    pub fn rsa_a() -> Self {
        Self::rsa("rsa-a.key.pem", "rsa-a")
    }

    /// `rsa-b.key.pem`, RS256, kid `rsa-b` (the rotation key).
    pub fn rsa_b() -> Self {
        Self::rsa("rsa-b.key.pem", "rsa-b")
    }

    /// `ec-a.key.pem`, ES256, kid `ec-a`.
    pub fn ec_a() -> Self {
        let key = EncodingKey::from_ec_pem(&fixture("ec-a.key.pem")).expect("EC PKCS8 key");
        Self::new(key, Algorithm::ES256, "ec-a")
    }

    fn rsa(file: &str, kid: &str) -> Self {
        let key = EncodingKey::from_rsa_pem(&fixture(file)).expect("RSA PKCS8 key");
        Self::new(key, Algorithm::RS256, kid)
    }

    fn new(key: EncodingKey, alg: Algorithm, kid: &str) -> Self {
        let mut jwk = Jwk::from_encoding_key(&key, alg).expect("public JWK of a test key");
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Self {
            kid: kid.to_owned(),
            alg,
            key,
            jwk: serde_json::to_value(&jwk).expect("JWK as JSON"),
        }
    }

    /// The same private key published under another key id.
    pub fn with_kid(&self, kid: &str) -> Self {
        let mut k = self.clone();
        k.kid = kid.to_owned();
        k.jwk["kid"] = json!(kid);
        k
    }

    /// A token signed with this key, its header naming this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_kid(Some(&self.kid), claims)
    }

    /// A token signed with this key, with the given header `kid` (or none).
    pub fn sign_with_kid(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign a test token")
    }

    /// The RSA modulus of the public JWK (`n`, base64url), for key-confusion attacks.
    pub fn jwk_n(&self) -> String {
        self.jwk["n"].as_str().expect("an RSA JWK has n").to_owned()
    }
}

/// The public key PEM of a fixture key (`rsa-a.pub.pem` ...).
pub fn public_pem(name: &str) -> Vec<u8> {
    fixture(name)
}

/// Hand-crafted tokens a resource server must refuse.
pub mod hostile {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// `{"alg":"none"}` with the claims and an empty signature.
    pub fn alg_none(claims: &Value) -> String {
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(claims.to_string().as_bytes())
        )
    }

    /// HS256 with `secret` as the HMAC key (the key-confusion attack: a public key as the
    /// secret), naming `kid`.
    pub fn hs256(kid: &str, secret: &[u8], claims: &Value) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret))
            .expect("sign an HS256 token")
    }

    /// `token` with its payload replaced by `claims` (the signature is the original one).
    pub fn tampered_payload(token: &str, claims: &Value) -> String {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "a JWS compact token");
        format!(
            "{}.{}.{}",
            parts[0],
            b64(claims.to_string().as_bytes()),
            parts[2]
        )
    }

    /// `token` with one character in the middle of its signature changed.
    pub fn tampered_signature(token: &str) -> String {
        let (signed, sig) = token.rsplit_once('.').expect("a JWS compact token");
        let mut sig: Vec<u8> = sig.bytes().collect();
        let mid = sig.len() / 2;
        sig[mid] = if sig[mid] == b'A' { b'B' } else { b'A' };
        format!(
            "{signed}.{}",
            String::from_utf8(sig).expect("base64url is ASCII")
        )
    }

    /// `token` cut short in the middle of its signature.
    pub fn truncated(token: &str) -> String {
        let keep = token.rfind('.').expect("a JWS compact token") + 20;
        token[..keep].to_owned()
    }
}
