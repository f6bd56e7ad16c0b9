//! The issuer's signing keys (a JWK Set, RFC 7517 §5) for JWT mode: fetched from `JWT_JWKS_URL`,
//! or from the `jwks_uri` of the issuer's metadata (falling back to
//! `<issuer>/.well-known/jwks.json`), cached, refetched when older than `jwks_max_age_secs`, and
//! refetched on an unknown `kid` (key rotation) at most once per `jwks_min_refetch_secs`, so
//! tokens with made-up key ids cannot turn the server into a load generator against the IdP.
//! One fetch runs at a time; concurrent requests wait for it. When a refetch fails, the keys
//! already known keep working (serve-stale).
//!
//! Only signature keys of asymmetric types are kept: `oct` (HMAC) keys and `use: "enc"` keys are
//! dropped, so no token is ever verified with a symmetric key.

use super::discovery::discover;
use super::fetch::{FetchError, json_object};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use parking_lot::RwLock;
use serde_json::Value;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One verification key.
pub struct Key {
    /// `kid`.
    pub kid: Option<String>,
    /// `alg`, when the key pins one.
    pub alg: Option<Algorithm>,
    /// The key.
    pub decoding: DecodingKey,
}

impl Key {
    /// Whether this key may verify a signature made with `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.decoding.family() == alg.family()
            && self.decoding.family() != AlgorithmFamily::Hmac
            && self.alg.is_none_or(|a| a == alg)
    }
}

/// Why no key was found.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No key with that id (after a refetch, or a refetch is not allowed yet).
    #[error("no signing key with kid {0:?} fits the token")]
    Unknown(Option<String>),
    /// The key set could not be fetched and no usable key is known.
    #[error("the signing keys are unavailable: {0}")]
    Unavailable(String),
}

/// Where the key set comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A fixed JWKS URL.
    Url(String),
    /// Discovered from the issuer's metadata.
    Issuer(String),
}

#[derive(Default)]
struct Keys {
    entries: Vec<Arc<Key>>,
    fetched_at: Option<Instant>,
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    last_error: Option<String>,
    jwks_url: Option<String>,
}

/// The cached key set of one issuer.
pub struct KeySet {
    http: reqwest::Client,
    source: KeySource,
    keys: RwLock<Keys>,
    refresh: tokio::sync::Mutex<RefreshState>,
    max_age: Duration,
    min_refetch: Duration,
    observer: std::sync::OnceLock<Arc<dyn super::observe::AuthObserver>>,
}

impl KeySet {
    /// A key set that fetches lazily (see [`KeySet::prefetch`]).
    pub fn new(
        http: reqwest::Client,
        source: KeySource,
        max_age: Duration,
        min_refetch: Duration,
    ) -> Self {
        Self {
            http,
            source,
            keys: RwLock::new(Keys::default()),
            refresh: tokio::sync::Mutex::new(RefreshState::default()),
            max_age,
            min_refetch,
            observer: std::sync::OnceLock::new(),
        }
    }

    /// Reports every later fetch of the key set to `observer` (the first observer set stays).
    pub fn observe(&self, observer: Arc<dyn super::observe::AuthObserver>) {
        let _ = self.observer.set(observer);
    }

    /// Fetches the keys now (at start-up, so the first request does not wait); failures are
    /// logged and retried on demand.
    pub async fn prefetch(&self) {
        let mut state = self.refresh.lock().await;
        if let Err(e) = self.refetch(&mut state).await {
            tracing::warn!(error = %e, "could not prefetch the JWT signing keys; will retry on the first token");
        }
    }

    /// Readiness: keys fetched within `max_age`, or a fetch now succeeds (at most one attempt
    /// per `min_refetch`; the last error is repeated in between).
    pub async fn reachable(&self) -> Result<(), String> {
        if self.is_fresh(&self.keys.read()) {
            return Ok(());
        }
        let mut state = self.refresh.lock().await;
        if self.is_fresh(&self.keys.read()) {
            return Ok(());
        }
        let recent = state
            .last_attempt
            .is_some_and(|t| t.elapsed() < self.min_refetch);
        if let (true, Some(e)) = (recent, &state.last_error) {
            return Err(e.clone());
        }
        self.refetch(&mut state).await.map_err(|e| e.to_string())
    }

    /// The key for a token header's `kid` and `alg`.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<Key>, KeyError> {
        {
            let keys = self.keys.read();
            if self.is_fresh(&keys)
                && let Some(k) = find(&keys, kid, alg)
            {
                return Ok(k);
            }
        }
        let mut state = self.refresh.lock().await;
        let (fresh, found) = {
            let keys = self.keys.read();
            (self.is_fresh(&keys), find(&keys, kid, alg))
        };
        if let (true, Some(k)) = (fresh, &found) {
            return Ok(Arc::clone(k));
        }
        // Stale keys are refetched, and unknown key ids trigger a refetch, but never more than
        // once per `min_refetch`: a failing JWKS endpoint is not retried on every token.
        let may_fetch = state
            .last_attempt
            .is_none_or(|t| t.elapsed() >= self.min_refetch);
        if may_fetch {
            if let Err(e) = self.refetch(&mut state).await {
                let e = e.to_string();
                tracing::warn!(error = %e, "JWKS fetch failed");
                return found.ok_or(KeyError::Unavailable(e));
            }
        } else if let (Some(e), None) = (&state.last_error, &found) {
            return Err(KeyError::Unavailable(e.clone()));
        }
        let keys = self.keys.read();
        find(&keys, kid, alg).ok_or_else(|| KeyError::Unknown(kid.map(str::to_owned)))
    }

    fn is_fresh(&self, keys: &Keys) -> bool {
        keys.fetched_at.is_some_and(|t| t.elapsed() < self.max_age)
    }

    async fn refetch(&self, state: &mut RefreshState) -> Result<(), FetchError> {
        state.last_attempt = Some(Instant::now());
        let result = self.fetch(state).await;
        if let Some(o) = self.observer.get() {
            o.jwks_fetch(if result.is_ok() { "ok" } else { "error" });
        }
        match &result {
            Ok(entries) => {
                tracing::debug!(keys = entries.len(), "JWKS fetched");
                let mut keys = self.keys.write();
                keys.entries.clone_from(entries);
                keys.fetched_at = Some(Instant::now());
                state.last_error = None;
            }
            Err(e) => state.last_error = Some(e.to_string()),
        }
        result.map(|_| ())
    }

    async fn fetch(&self, state: &mut RefreshState) -> Result<Vec<Arc<Key>>, FetchError> {
        let url = match (&self.source, &state.jwks_url) {
            (KeySource::Url(u), _) => u.clone(),
            (KeySource::Issuer(_), Some(u)) => u.clone(),
            (KeySource::Issuer(issuer), None) => {
                let url = match discover(&self.http, issuer).await {
                    Ok(doc) => doc
                        .get("jwks_uri")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| FetchError::Body {
                            url: issuer.clone(),
                            reason: "the issuer's metadata has no jwks_uri".into(),
                        })?,
                    Err(FetchError::Status { .. }) => {
                        format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
                    }
                    Err(e) => return Err(e),
                };
                tracing::info!(jwks_uri = %url, issuer = %issuer, "JWKS location discovered");
                state.jwks_url = Some(url.clone());
                url
            }
        };
        let doc = json_object(self.http.get(&url), &url).await?;
        let Some(Value::Array(list)) = doc.get("keys") else {
            return Err(FetchError::Body {
                url,
                reason: "no \"keys\" array".into(),
            });
        };
        Ok(list.iter().filter_map(parse_key).map(Arc::new).collect())
    }
}

/// A usable signature key from one JWK, or `None` for keys that must not verify tokens.
fn parse_key(v: &Value) -> Option<Key> {
    if v.get("use")
        .and_then(Value::as_str)
        .is_some_and(|u| u != "sig")
    {
        return None;
    }
    if v.get("kty").and_then(Value::as_str) == Some("oct") {
        return None;
    }
    let alg = match v.get("alg").and_then(Value::as_str) {
        Some(a) => Some(Algorithm::from_str(a).ok()?),
        None => None,
    };
    let jwk: Jwk = serde_json::from_value(v.clone()).ok()?;
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    if decoding.family() == AlgorithmFamily::Hmac {
        return None;
    }
    Some(Key {
        kid: v.get("kid").and_then(Value::as_str).map(str::to_owned),
        alg,
        decoding,
    })
}

/// The key for `kid` (or, for a token without `kid`, the only key that fits `alg`).
fn find(keys: &Keys, kid: Option<&str>, alg: Algorithm) -> Option<Arc<Key>> {
    match kid {
        Some(kid) => keys
            .entries
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid) && k.fits(alg))
            .cloned(),
        None => {
            let mut fitting = keys.entries.iter().filter(|k| k.fits(alg));
            match (fitting.next(), fitting.next()) {
                (Some(k), None) => Some(Arc::clone(k)),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_symmetric_and_encryption_keys() {
        assert!(parse_key(&json!({"kty": "oct", "k": "c2VjcmV0", "kid": "h"})).is_none());
        let rsa = json!({
            "kty": "RSA", "kid": "r", "alg": "RS256",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"
        });
        assert!(parse_key(&rsa).is_some());
        let mut enc = rsa.clone();
        enc["use"] = json!("enc");
        assert!(parse_key(&enc).is_none());
        let mut oaep = rsa;
        oaep["alg"] = json!("RSA-OAEP");
        assert!(parse_key(&oaep).is_none());
    }

    #[test]
    fn key_fits_only_its_family_and_alg() {
        let key = parse_key(&json!({
            "kty": "RSA", "alg": "RS256",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"
        }))
        .unwrap();
        assert!(key.fits(Algorithm::RS256));
        assert!(!key.fits(Algorithm::RS384));
        assert!(!key.fits(Algorithm::HS256));
        assert!(!key.fits(Algorithm::ES256));
    }
}
