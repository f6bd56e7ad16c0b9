//! [`AuthObserver`]: how the resource server reports token-check events (cache hits and
//! misses, introspection calls, JWKS fetches) to whoever counts them, without knowing who that
//! is. Reports carry outcomes only: never a token, a subject or a client id.

/// Receives token-check events; set with [`super::Authenticator::observe`].
pub trait AuthObserver: Send + Sync + 'static {
    /// A token was checked: answered from the cache (`hit`, including a token whose
    /// verification another request was already running), or verified anew (`!hit`).
    fn token_cache(&self, hit: bool);
    /// An introspection request (RFC 7662) ended: `active`, `inactive` (the token was refused)
    /// or `error` (the authorization server could not be asked).
    fn introspection(&self, outcome: &'static str);
    /// A fetch of the issuer's key set (JWKS) ended: `ok` or `error`.
    fn jwks_fetch(&self, outcome: &'static str);
}
