//! The authorization server's signing key: JWT access tokens (RFC 9068, `typ: at+jwt`) are signed
//! with it and resource servers verify them with the JWK Set at `/jwks` (RFC 7517). The key is a
//! P-256 key (ES256) generated at start and shared by replicas through the store, or an RSA /
//! P-256 PKCS#8 PEM file (`authserver.signing_key_file`). The `kid` is the key's RFC 7638
//! thumbprint.

use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Map, Value, json};

/// The signing key and its public forms.
pub struct SigningKeys {
    alg: Algorithm,
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

/// A fresh P-256 private key as PKCS#8 PEM.
pub fn generate_pem() -> Result<String, String> {
    use rand::Rng as _;
    for _ in 0..8 {
        let mut scalar = [0u8; 32];
        rand::rng().fill_bytes(&mut scalar);
        if let Ok(key) = SigningKey::from_slice(&scalar) {
            return key
                .to_pkcs8_pem(LineEnding::LF)
                .map(|pem| pem.to_string())
                .map_err(|e| format!("encoding the signing key: {e}"));
        }
    }
    Err("could not generate a P-256 key".into())
}

impl SigningKeys {
    /// Loads a PKCS#8 PEM key: P-256 (ES256) or RSA (RS256).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let (alg, encoding) = match EncodingKey::from_ec_pem(pem.as_bytes()) {
            Ok(k) => (Algorithm::ES256, k),
            Err(_) => (
                Algorithm::RS256,
                EncodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|e| format!("not a P-256 or RSA PKCS#8 PEM key: {e}"))?,
            ),
        };
        let mut jwk = Jwk::from_encoding_key(&encoding, alg)
            .map_err(|e| format!("deriving the public key: {e}"))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| format!("key thumbprint: {e}"))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| format!("public key: {e}"))?;
        let jwk = serde_json::to_value(&jwk).map_err(|e| e.to_string())?;
        Ok(Self {
            alg,
            kid,
            encoding,
            decoding,
            jwk,
        })
    }

    /// The JWK Set document.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// The signing algorithm (for metadata).
    pub fn algorithm(&self) -> &'static str {
        match self.alg {
            Algorithm::RS256 => "RS256",
            _ => "ES256",
        }
    }

    /// Signs a JWT access token (`typ: at+jwt`, RFC 9068 §2.1).
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let mut header = Header::new(self.alg);
        header.typ = Some("at+jwt".into());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// The claims of a JWT this server signed, if the signature verifies and it has not
    /// expired (for introspection and revocation of JWT access tokens).
    pub fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        let mut validation = Validation::new(self.alg);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify() {
        let keys = SigningKeys::from_pem(&generate_pem().unwrap()).unwrap();
        let token = keys
            .sign(&json!({"sub": "u", "exp": jsonwebtoken::get_current_timestamp() + 60}))
            .unwrap();
        assert_eq!(keys.verify(&token).unwrap()["sub"], "u");
        assert!(keys.verify(&format!("{token}x")).is_none());
        assert_eq!(keys.jwks()["keys"][0]["kid"], keys.kid.as_str());
        let other = SigningKeys::from_pem(&generate_pem().unwrap()).unwrap();
        assert!(other.verify(&token).is_none());
    }
}
