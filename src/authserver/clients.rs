//! Clients of the demo authorization server:
//!
//! - [`register`]: dynamic client registration (RFC 7591 §3) at `POST /register`, with the
//!   metadata of RFC 7591 §2 checked ([`validate_metadata`]) and redirect URIs held to the rules
//!   of OAuth 2.1 and RFC 8252 ([`validate_redirect_uri`]);
//! - [`register_static`]: the clients of `authserver.clients`, stored at start-up;
//! - [`find`]: a client by id: stored (registered or configured) or, for an https URL, a Client
//!   ID Metadata Document (see [`super::cimd`]);
//! - [`authenticate`]: client authentication at the token, introspection and revocation
//!   endpoints (RFC 6749 §2.3.1: HTTP Basic or form parameters; public clients by `client_id`).
//!
//! Client secrets are stored as SHA-256 only and never logged.

use super::AsState;
use super::cimd;
use super::error::OAuthError;
use super::params::Params;
use super::pkce::constant_time_eq;
use super::state::{ClientRecord, digest, now_secs, random_token};
use crate::config::StaticClient;
use actix_web::http::header;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::collections::HashSet;

mod validate;

pub use validate::{
    AUTH_METHODS, GRANT_TYPES, Metadata, Origin, validate_metadata, validate_redirect_uri,
};

const MAX_CLIENT_ID_LEN: usize = 2048;

fn bad(msg: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClientMetadata(msg.into())
}

/// The stored record of validated metadata.
pub(crate) fn record(
    client_id: String,
    secret_hash: Option<String>,
    m: Metadata,
    static_client: bool,
) -> ClientRecord {
    ClientRecord {
        client_id,
        secret_hash,
        redirect_uris: m.redirect_uris,
        grant_types: m.grant_types,
        token_endpoint_auth_method: m.token_endpoint_auth_method,
        scope: m.scope,
        client_name: m.client_name,
        application_type: m.application_type,
        created_at: now_secs(),
        static_client,
    }
}

/// `POST /register`: dynamic client registration (RFC 7591 §3.1). Answers 201 with the client
/// information (RFC 7591 §3.2.1: `client_id`, `client_secret` for confidential methods,
/// `client_id_issued_at`, `client_secret_expires_at` 0 = never, and the registered metadata), or
/// a §3.2.2 error. 404 while `authserver.registration_enabled` is off (the metadata then lists no
/// `registration_endpoint`).
pub async fn register(
    req: HttpRequest,
    body: web::Bytes,
    st: web::Data<AsState>,
) -> Result<HttpResponse, OAuthError> {
    if !st.settings.registration_enabled {
        return Ok(HttpResponse::NotFound().json(json!({
            "error": "not_found",
            "error_description": "dynamic client registration is disabled",
        })));
    }
    if body.len() > st.settings.max_registration_bytes {
        return Err(bad(format!(
            "the registration request is larger than {} bytes",
            st.settings.max_registration_bytes
        )));
    }
    if !req.content_type().eq_ignore_ascii_case("application/json") {
        return Err(bad(
            "the registration request must be application/json (RFC 7591 §3.1)",
        ));
    }
    let doc = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(doc)) => doc,
        Ok(_) => return Err(bad("the registration request must be a JSON object")),
        Err(e) => return Err(bad(format!("the registration request is not JSON: {e}"))),
    };
    let m = validate_metadata(&doc, &st.settings.scopes_supported, Origin::Registration)?;
    let secret = (m.token_endpoint_auth_method != "none").then(|| random_token(32));
    let response_types = m.response_types.clone();
    let rec = record(random_token(16), secret.as_deref().map(digest), m, false);
    st.state.put_client(&rec).await?;
    tracing::info!(
        client_id = %rec.client_id,
        client_name = rec.client_name.as_deref().unwrap_or(""),
        method = %rec.token_endpoint_auth_method,
        "registered a client (RFC 7591)"
    );
    let mut out = json!({
        "client_id": rec.client_id,
        "client_id_issued_at": rec.created_at,
        "redirect_uris": rec.redirect_uris,
        "grant_types": rec.grant_types,
        "response_types": response_types,
        "token_endpoint_auth_method": rec.token_endpoint_auth_method,
        "application_type": rec.application_type,
    });
    if let Some(secret) = secret {
        out["client_secret"] = json!(secret);
        out["client_secret_expires_at"] = json!(0);
    }
    if let Some(scope) = &rec.scope {
        out["scope"] = json!(scope);
    }
    if let Some(name) = &rec.client_name {
        out["client_name"] = json!(name);
    }
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(out))
}

/// The metadata of a configured client: `client_secret_basic` with a secret, else `none`; an
/// empty `grant_types` means every grant the client can use (authorization_code and
/// refresh_token with redirect URIs, client_credentials with a secret).
fn static_metadata(c: &StaticClient, scopes_supported: &[String]) -> Result<Metadata, OAuthError> {
    if c.client_id.is_empty() || c.client_id.len() > MAX_CLIENT_ID_LEN {
        return Err(bad("client_id must be 1 to 2048 bytes"));
    }
    let confidential = !c.client_secret.is_empty();
    let mut grants = c.grant_types.clone();
    if grants.is_empty() {
        if !c.redirect_uris.is_empty() {
            grants = vec!["authorization_code".into(), "refresh_token".into()];
        }
        if confidential {
            grants.push("client_credentials".into());
        }
    }
    let doc = json!({
        "redirect_uris": c.redirect_uris,
        "grant_types": grants,
        "token_endpoint_auth_method": if confidential { "client_secret_basic" } else { "none" },
        "scope": c.scope,
        "client_name": c.client_name,
    });
    let doc = doc.as_object().cloned().unwrap_or_default();
    validate_metadata(&doc, scopes_supported, Origin::Registration)
}

/// Stores the clients of `authserver.clients` at start-up (never expiring, secrets hashed), with
/// the checks of dynamic registration (RFC 7591 §2); the first bad entry stops the start.
pub async fn register_static(st: &AsState) -> Result<(), OAuthError> {
    let mut seen = HashSet::new();
    for c in &st.settings.clients {
        let m = static_metadata(c, &st.settings.scopes_supported).map_err(|e| {
            bad(format!(
                "authserver.clients {:?}: {}",
                c.client_id,
                e.description()
            ))
        })?;
        if !seen.insert(c.client_id.as_str()) {
            return Err(bad(format!(
                "authserver.clients: {:?} is listed twice",
                c.client_id
            )));
        }
        let hash = (!c.client_secret.is_empty()).then(|| digest(&c.client_secret));
        st.state
            .put_client(&record(c.client_id.clone(), hash, m, true))
            .await?;
    }
    Ok(())
}

/// A stored client; a dynamically registered one has its lifetime renewed on use.
async fn stored(st: &AsState, client_id: &str) -> Result<Option<ClientRecord>, OAuthError> {
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN {
        return Ok(None);
    }
    let client = st.state.client(client_id).await?;
    if let Some(c) = client.as_ref().filter(|c| !c.static_client) {
        st.state.put_client(c).await?;
    }
    Ok(client)
}

/// A client by id: registered (RFC 7591) or configured; otherwise, when
/// `authserver.client_metadata_documents` is on and `client_id` is an https URL, the client its
/// Client ID Metadata Document describes (draft-ietf-oauth-client-id-metadata-document, MCP
/// 2025-11-25 authorization "Client ID Metadata Documents"). A document that cannot be fetched
/// or is invalid makes the client unknown (`Ok(None)`, logged at warn).
pub async fn find(st: &AsState, client_id: &str) -> Result<Option<ClientRecord>, OAuthError> {
    if let Some(c) = stored(st, client_id).await? {
        return Ok(Some(c));
    }
    if st.settings.client_metadata_documents
        && client_id.len() <= MAX_CLIENT_ID_LEN
        && cimd::is_document_url(client_id, st.settings.cimd_allow_private)
    {
        return Ok(cimd::lookup(st, client_id).await);
    }
    Ok(None)
}

/// The user id and password of `Authorization: Basic` (RFC 7617), still form-encoded:
/// `Ok(None)` without a Basic header (other schemes are ignored).
pub fn parse_basic(value: &str) -> Result<Option<(String, String)>, &'static str> {
    use base64::Engine as _;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| "malformed Basic credentials")?;
    let text = String::from_utf8(raw).map_err(|_| "malformed Basic credentials")?;
    let (id, secret) = text.split_once(':').ok_or("malformed Basic credentials")?;
    Ok(Some((id.to_owned(), secret.to_owned())))
}

/// `application/x-www-form-urlencoded` decoding (RFC 6749 §2.3.1 encodes Basic credentials so);
/// `None` for a bad escape or non-UTF-8 result.
fn form_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The decoded value first, then the raw one (clients that skip the encoding).
pub fn basic_candidates(raw: &str) -> Vec<String> {
    match form_decode(raw) {
        Some(d) if d != raw => vec![d, raw.to_owned()],
        _ => vec![raw.to_owned()],
    }
}

fn unauthorized(msg: &str) -> OAuthError {
    OAuthError::InvalidClient(msg.to_owned())
}

/// Authenticates the client of a token, introspection or revocation request (RFC 6749 §2.3.1,
/// §3.2.1): HTTP Basic (form-encoded id and secret; unencoded ones are tolerated) or the
/// `client_id` and `client_secret` form parameters, never both. A confidential client must
/// present its secret (either way, whichever method it registered); a public client presents
/// none and is accepted by `client_id` only when `allow_public`. Failures are `invalid_client`
/// (401), using two methods at once `invalid_request`.
pub async fn authenticate(
    st: &AsState,
    req: &HttpRequest,
    params: &Params,
    allow_public: bool,
) -> Result<ClientRecord, OAuthError> {
    let basic = match req.headers().get(header::AUTHORIZATION) {
        Some(v) => v
            .to_str()
            .map_err(|_| "malformed Authorization header")
            .and_then(parse_basic)
            .map_err(unauthorized)?,
        None => None,
    };
    let (ids, secrets) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method: Basic or client_secret, not both".into(),
            ));
        }
        (Some((id, secret)), None) => {
            let ids = basic_candidates(&id);
            if params
                .get("client_id")
                .is_some_and(|p| !ids.iter().any(|i| i == p))
            {
                return Err(unauthorized(
                    "client_id does not match the Basic credentials",
                ));
            }
            let secrets = if secret.is_empty() {
                Vec::new()
            } else {
                basic_candidates(&secret)
            };
            (ids, secrets)
        }
        (None, Some(secret)) => {
            let id = params.get("client_id").ok_or_else(|| {
                OAuthError::InvalidRequest("client_secret without client_id".into())
            })?;
            (vec![id.to_owned()], vec![secret.to_owned()])
        }
        (None, None) => match params.get("client_id") {
            Some(id) => (vec![id.to_owned()], Vec::new()),
            None => return Err(unauthorized("client authentication is required")),
        },
    };

    if secrets.is_empty() {
        if !allow_public {
            return Err(unauthorized("client authentication is required"));
        }
        let client = match ids.first() {
            Some(id) => find(st, id).await?,
            None => None,
        };
        let Some(client) = client else {
            return Err(unauthorized("unknown client"));
        };
        if client.secret_hash.is_some() || client.token_endpoint_auth_method != "none" {
            tracing::debug!(client_id = %client.client_id, "confidential client without its secret");
            return Err(unauthorized(
                "this client must authenticate with its secret",
            ));
        }
        return Ok(client);
    }

    let mut client = None;
    for id in &ids {
        if let Some(c) = stored(st, id).await? {
            client = Some(c);
            break;
        }
    }
    let Some(client) = client else {
        return Err(unauthorized("unknown client"));
    };
    let Some(hash) = client.secret_hash.as_deref() else {
        tracing::debug!(client_id = %client.client_id, "public client presented a secret");
        return Err(unauthorized("a public client must not present a secret"));
    };
    if !secrets
        .iter()
        .any(|s| constant_time_eq(digest(s).as_bytes(), hash.as_bytes()))
    {
        tracing::debug!(client_id = %client.client_id, "wrong client secret");
        return Err(unauthorized("client authentication failed"));
    }
    Ok(client)
}

#[cfg(test)]
mod tests;
