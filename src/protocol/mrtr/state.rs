//! The sealed `requestState` of multi round-trip requests (MCP 2026-07-28 `mrtr.mdx`,
//! "Security": the state is attacker-controlled input; a server whose state influences its
//! logic MUST protect its integrity and reject state that fails verification, and SHOULD bind
//! it to the principal, an expiry and the originating request).
//!
//! The state is XChaCha20-Poly1305 authenticated encryption (random 192-bit nonce) of
//! [`Claims`]: the answers collected so far, the expiry, the caller's binding key and a SHA-256
//! digest of the request (method, name or URI, arguments). The key comes from configuration
//! (`protocol.state_key` / `MCP_STATE_KEY`) and is shared by every replica, so any replica can
//! continue a request another one started; the answers are encrypted, not only signed, because
//! they may hold what a user typed. Wire form: `v1.` + base64url(nonce ‖ ciphertext).

use crate::protocol::jsonrpc::ErrorObject;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

const PREFIX: &str = "v1.";
const AAD: &[u8] = b"mcp-hive/mrtr/requestState/v1";
const NONCE_LEN: usize = 24;
/// Longest accepted `requestState` (answers accumulate across rounds).
pub const MAX_STATE_CHARS: usize = 256 * 1024;

/// What a `requestState` proves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// The caller's binding key (`Principal::binding_key`), empty without auth.
    pub sub: String,
    /// Digest of the originating request ([`request_digest`]).
    pub req: String,
    /// Answers of the earlier rounds.
    pub ans: Map<String, Value>,
}

/// Why a `requestState` is refused (all `-32602` on the wire).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not something this server issued, or altered.
    #[error("requestState failed its integrity check")]
    Forged,
    /// Older than `protocol.state_ttl_secs`.
    #[error("requestState has expired; start the request again without it")]
    Expired,
    /// Issued to another caller.
    #[error("requestState was issued to another principal")]
    WrongPrincipal,
    /// Issued for another request (method, name or arguments differ).
    #[error("requestState belongs to a different request")]
    WrongRequest,
    /// Larger than [`MAX_STATE_CHARS`].
    #[error("requestState is too large")]
    TooLarge,
}

impl From<StateError> for ErrorObject {
    fn from(e: StateError) -> Self {
        ErrorObject::invalid_params(e.to_string())
    }
}

/// Seals and opens request states with one key.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    ttl_secs: u64,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer with a 256-bit key.
    pub fn new(key: [u8; 32], ttl_secs: u64) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
            ttl_secs,
        }
    }

    /// A sealer with a random key: states only open on this process.
    pub fn random(ttl_secs: u64) -> Self {
        use rand::Rng as _;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::new(key, ttl_secs)
    }

    /// Seals the answers of a request for `sub`, valid for the configured lifetime from `now`.
    pub fn seal(&self, sub: &str, req: &str, ans: &Map<String, Value>, now: u64) -> String {
        use rand::Rng as _;
        let claims = Claims {
            exp: now.saturating_add(self.ttl_secs),
            sub: sub.to_owned(),
            req: req.to_owned(),
            ans: ans.clone(),
        };
        let plain = serde_json::to_vec(&claims).unwrap_or_default();
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers; an empty
        // ciphertext would simply never open.
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: AAD,
                },
            )
            .unwrap_or_default();
        let mut wire = Vec::with_capacity(NONCE_LEN + sealed.len());
        wire.extend_from_slice(&nonce);
        wire.extend_from_slice(&sealed);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(wire)
        )
    }

    /// Opens a state and checks it against the caller and the request it comes with.
    pub fn open(&self, state: &str, sub: &str, req: &str, now: u64) -> Result<Claims, StateError> {
        if state.len() > MAX_STATE_CHARS {
            return Err(StateError::TooLarge);
        }
        let body = state.strip_prefix(PREFIX).ok_or(StateError::Forged)?;
        let wire = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| StateError::Forged)?;
        if wire.len() <= NONCE_LEN {
            return Err(StateError::Forged);
        }
        let (nonce, sealed) = wire.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| StateError::Forged)?;
        let plain = self
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: AAD,
                },
            )
            .map_err(|_| StateError::Forged)?;
        let claims: Claims = serde_json::from_slice(&plain).map_err(|_| StateError::Forged)?;
        if claims.exp <= now {
            return Err(StateError::Expired);
        }
        if claims.sub != sub {
            return Err(StateError::WrongPrincipal);
        }
        if claims.req != req {
            return Err(StateError::WrongRequest);
        }
        Ok(claims)
    }
}

/// SHA-256 (hex) over the method, the target (tool or prompt name, resource URI) and the
/// arguments in canonical form (object keys sorted), so a state cannot be replayed against a
/// different call.
pub fn request_digest(method: &str, params: &Value) -> String {
    let target = params
        .get("name")
        .or_else(|| params.get("uri"))
        .cloned()
        .unwrap_or(Value::Null);
    let arguments = params.get("arguments").cloned().unwrap_or(Value::Null);
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(canonical(&target).as_bytes());
    h.update([0]);
    h.update(canonical(&arguments).as_bytes());
    hex::encode(h.finalize())
}

/// JSON with object keys sorted at every level.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        Value::String(k.clone()),
                        canonical(m.get(k).unwrap_or(&Value::Null))
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Decodes a configured key: 32 bytes in standard or URL-safe base64 (padding optional).
pub fn decode_key(raw: &str) -> Result<[u8; 32], String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let raw = raw.trim();
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(raw).ok())
        .ok_or("is not base64 (generate one with: openssl rand -base64 32)")?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("decodes to {} bytes; 32 are needed", bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answers() -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "step1".into(),
            json!({"action": "accept", "content": {"name": "Ada"}}),
        );
        m
    }

    #[test]
    fn a_sealed_state_opens_only_for_its_caller_request_and_lifetime() {
        let s = Sealer::new([7; 32], 60);
        let req = request_digest(
            "tools/call",
            &json!({"name": "t", "arguments": {"b": 1, "a": 2}}),
        );
        let state = s.seal("iss|sub:alice", &req, &answers(), 1000);
        assert!(!state.contains("Ada"), "answers are encrypted");
        let claims = s.open(&state, "iss|sub:alice", &req, 1001);
        assert_eq!(claims.map(|c| c.ans), Ok(answers()));
        assert_eq!(
            s.open(&state, "iss|sub:bob", &req, 1001),
            Err(StateError::WrongPrincipal)
        );
        assert_eq!(
            s.open(&state, "iss|sub:alice", "other", 1001),
            Err(StateError::WrongRequest)
        );
        assert_eq!(
            s.open(&state, "iss|sub:alice", &req, 1060),
            Err(StateError::Expired)
        );
        let same_args_reordered = request_digest(
            "tools/call",
            &json!({"name": "t", "arguments": {"a": 2, "b": 1}}),
        );
        assert_eq!(same_args_reordered, req);
    }

    #[test]
    fn altered_or_foreign_states_are_forged() {
        let s = Sealer::new([7; 32], 60);
        let state = s.seal("", "r", &answers(), 1000);
        for bad in [
            format!("{state}-TAMPERED"),
            state.replacen("v1.", "v2.", 1),
            format!(
                "{}{}{}",
                &state[..10],
                if &state[10..11] == "A" { "B" } else { "A" },
                &state[11..]
            ),
            "v1.".to_owned(),
            "{\"kind\":\"x\"}".to_owned(),
        ] {
            assert_eq!(
                s.open(&bad, "", "r", 1001),
                Err(StateError::Forged),
                "{bad}"
            );
        }
        let other = Sealer::new([8; 32], 60);
        assert_eq!(other.open(&state, "", "r", 1001), Err(StateError::Forged));
    }

    #[test]
    fn keys_decode_from_base64_of_32_bytes_only() {
        let k = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        assert_eq!(decode_key(&k), Ok([1u8; 32]));
        assert!(decode_key("c2hvcnQ=").is_err());
        assert!(decode_key("not base64!").is_err());
    }
}
