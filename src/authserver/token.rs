//! The token endpoint (`POST /token`, OAuth 2.1 draft §3.2 / RFC 6749 §4-6):
//!
//! - `authorization_code`: the code is taken atomically (single use); a replayed code revokes
//!   the grant it started (every token issued from it, OAuth 2.1 §4.1.3); it must belong to the
//!   authenticated client, be unexpired, match `redirect_uri`, and the PKCE `code_verifier` must
//!   hash to its S256 challenge; `resource` (RFC 8707) must repeat the authorized one;
//! - `refresh_token`: rotated on every use (taken atomically, a new one issued), scope may only
//!   narrow, a revoked grant refuses it;
//! - `client_credentials`: confidential clients only, no refresh token.
//!
//! Access tokens are opaque (stored by hash, checked by introspection) or JWTs (RFC 9068
//! `at+jwt`: `iss`, `sub`, `aud` = resource, `client_id`, `scope`, `exp`, `iat`, `jti`), per
//! `AUTH_TOKEN_FORMAT`; responses carry `Cache-Control: no-store`.

use super::AsState;
use super::clients;
use super::error::OAuthError;
use super::params::Params;
use super::pkce;
use super::state::{CodeTake, RefreshTake, TokenRecord, now_secs, random_token};
use crate::config::TokenFormat;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::time::Duration;

/// `POST /token`.
pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    st: web::Data<AsState>,
) -> Result<HttpResponse, OAuthError> {
    require_form(&req)?;
    let params = Params::parse(&body)?;
    let grant_type = params.require("grant_type")?;
    let client =
        clients::authenticate(&st, &req, &params, grant_type != "client_credentials").await?;
    if !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(match grant_type {
            "authorization_code" | "refresh_token" | "client_credentials" => {
                OAuthError::UnauthorizedClient(format!(
                    "the client is not registered for the {grant_type} grant"
                ))
            }
            other => OAuthError::UnsupportedGrantType(format!("{other} is not supported")),
        });
    }
    let grant = match grant_type {
        "authorization_code" => authorization_code(&st, &params, &client.client_id).await?,
        "refresh_token" => refresh(&st, &params, &client.client_id).await?,
        "client_credentials" => client_credentials(&st, &params, &client)?,
        other => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "{other} is not supported"
            )));
        }
    };
    let with_refresh = grant_type != "client_credentials"
        && client.grant_types.iter().any(|g| g == "refresh_token");
    issue(&st, grant, with_refresh).await
}

/// What a successful grant authorizes.
struct Grant {
    client_id: String,
    subject: Option<String>,
    scope: String,
    resource: Option<String>,
    grant_id: String,
    /// Absolute expiry of the refresh token (kept across rotations).
    refresh_expires_at: Option<u64>,
    /// The scope of the grant, which the new refresh token keeps even when this access token
    /// was narrowed (RFC 6749 §6).
    grant_scope: Option<String>,
}

fn require_form(req: &HttpRequest) -> Result<(), OAuthError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.split(';').next().is_some_and(|m| {
        m.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    }) {
        Ok(())
    } else {
        Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ))
    }
}

async fn authorization_code(
    st: &AsState,
    params: &Params,
    client_id: &str,
) -> Result<Grant, OAuthError> {
    let code = params.require("code")?;
    let verifier = params.require("code_verifier").map_err(|_| {
        OAuthError::InvalidRequest("missing parameter code_verifier (PKCE is required)".into())
    })?;
    let remember = Duration::from_secs(st.settings.refresh_token_ttl_secs);
    let rec = match st.state.take_code(code, remember).await? {
        CodeTake::Fresh(rec) => rec,
        CodeTake::Replayed { grant_id } => {
            st.state.revoke_grant(&grant_id, remember).await?;
            tracing::warn!(client = %client_id, "authorization code replayed; its grant is revoked");
            return Err(OAuthError::InvalidGrant(
                "the authorization code was already used; tokens issued with it are revoked".into(),
            ));
        }
        CodeTake::Unknown => {
            return Err(OAuthError::InvalidGrant(
                "the authorization code is invalid or expired".into(),
            ));
        }
    };
    if rec.client_id != client_id {
        return Err(OAuthError::InvalidGrant(
            "the authorization code was issued to another client".into(),
        ));
    }
    if rec.expires_at < now_secs() {
        return Err(OAuthError::InvalidGrant(
            "the authorization code expired".into(),
        ));
    }
    if params
        .get("redirect_uri")
        .is_some_and(|r| r != rec.redirect_uri)
    {
        return Err(OAuthError::InvalidGrant(
            "redirect_uri differs from the authorization request's".into(),
        ));
    }
    if !pkce::valid_verifier(verifier) || !pkce::verify(verifier, &rec.code_challenge) {
        return Err(OAuthError::InvalidGrant(
            "the code_verifier does not match the code_challenge".into(),
        ));
    }
    check_same_resource(params, rec.resource.as_deref())?;
    Ok(Grant {
        client_id: rec.client_id,
        subject: Some(rec.subject),
        scope: rec.scope,
        resource: rec.resource,
        grant_id: rec.grant_id,
        refresh_expires_at: None,
        grant_scope: None,
    })
}

/// Every `resource` of the request must be the one the grant is for (RFC 8707 §2).
fn check_same_resource(params: &Params, granted: Option<&str>) -> Result<(), OAuthError> {
    if params
        .resources()
        .iter()
        .any(|r| Some(r.as_str()) != granted)
    {
        return Err(OAuthError::InvalidTarget(
            "resource differs from the authorized resource".into(),
        ));
    }
    Ok(())
}

async fn refresh(st: &AsState, params: &Params, client_id: &str) -> Result<Grant, OAuthError> {
    let token = params.require("refresh_token")?;
    let invalid =
        || OAuthError::InvalidGrant("the refresh token is invalid, expired or revoked".into());
    // Everything is checked before the token is taken: a refused request costs nothing.
    let Some(rec) = st.state.refresh(token).await? else {
        if let RefreshTake::Replayed { grant_id } = st.state.take_refresh(token).await? {
            let remember = Duration::from_secs(st.settings.refresh_token_ttl_secs);
            st.state.revoke_grant(&grant_id, remember).await?;
            tracing::warn!(client = %client_id, "rotated refresh token replayed; its grant is revoked");
        }
        return Err(invalid());
    };
    if rec.client_id != client_id
        || rec.expires_at < now_secs()
        || st.state.grant_revoked(&rec.grant_id).await?
    {
        return Err(invalid());
    }
    let scope = match params.get("scope") {
        Some(requested) => {
            let granted: Vec<&str> = rec.scope.split_whitespace().collect();
            if requested.split_whitespace().any(|s| !granted.contains(&s)) {
                return Err(OAuthError::InvalidScope(
                    "a refresh may not add scopes to the original grant".into(),
                ));
            }
            requested.to_owned()
        }
        None => rec.scope.clone(),
    };
    check_same_resource(params, rec.resource.as_deref())?;
    let rec = match st.state.take_refresh(token).await? {
        RefreshTake::Fresh(rec) => rec,
        // Another request rotated it between the check and the take.
        RefreshTake::Replayed { .. } | RefreshTake::Unknown => return Err(invalid()),
    };
    Ok(Grant {
        client_id: rec.client_id,
        subject: rec.subject,
        scope,
        resource: rec.resource,
        grant_id: rec.grant_id,
        refresh_expires_at: Some(rec.expires_at),
        grant_scope: Some(rec.scope),
    })
}

fn client_credentials(
    st: &AsState,
    params: &Params,
    client: &super::state::ClientRecord,
) -> Result<Grant, OAuthError> {
    if client.secret_hash.is_none() {
        return Err(OAuthError::UnauthorizedClient(
            "client_credentials needs a confidential client".into(),
        ));
    }
    let allowed: Vec<&str> = client
        .scope
        .as_deref()
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_else(|| {
            st.settings
                .scopes_supported
                .iter()
                .map(String::as_str)
                .collect()
        });
    let scope = params
        .get("scope")
        .unwrap_or(st.settings.default_scope.as_str())
        .to_owned();
    if let Some(bad) = scope.split_whitespace().find(|s| !allowed.contains(s)) {
        return Err(OAuthError::InvalidScope(format!(
            "scope {bad} is not allowed"
        )));
    }
    if params.resources().len() > 1 {
        return Err(OAuthError::InvalidTarget(
            "this server issues a token for one resource at a time".into(),
        ));
    }
    let resource = params.get("resource").map(str::to_owned);
    if let Some(r) = &resource {
        check_resource(r)?;
    }
    Ok(Grant {
        client_id: client.client_id.clone(),
        subject: None,
        scope,
        resource,
        grant_id: random_token(16),
        refresh_expires_at: None,
        grant_scope: None,
    })
}

/// An RFC 8707 resource: an absolute URI without a fragment.
pub fn check_resource(r: &str) -> Result<(), OAuthError> {
    let ok = r
        .split_once("://")
        .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty())
        && !r.contains('#');
    if ok {
        Ok(())
    } else {
        Err(OAuthError::InvalidTarget(
            "resource must be an absolute URI without a fragment".into(),
        ))
    }
}

async fn issue(st: &AsState, grant: Grant, with_refresh: bool) -> Result<HttpResponse, OAuthError> {
    let s = &st.settings;
    let now = now_secs();
    let expires_at = now + s.access_token_ttl_secs;
    let access_token = match s.token_format {
        TokenFormat::Opaque => {
            let token = random_token(32);
            let rec = TokenRecord {
                client_id: grant.client_id.clone(),
                subject: grant.subject.clone(),
                scope: grant.scope.clone(),
                resource: grant.resource.clone(),
                grant_id: grant.grant_id.clone(),
                issued_at: now,
                expires_at,
            };
            st.state.put_access(&token, &rec).await?;
            token
        }
        TokenFormat::Jwt => st
            .keys
            .sign(&json!({
                "iss": st.issuer,
                // RFC 9068 §2.2: for client credentials, the client is the subject.
                "sub": grant.subject.as_deref().unwrap_or(&grant.client_id),
                "aud": grant.resource.as_deref().unwrap_or(&st.issuer),
                "client_id": grant.client_id,
                "scope": grant.scope,
                "iat": now,
                "exp": expires_at,
                "jti": random_token(16),
                "gid": grant.grant_id,
            }))
            .map_err(|e| OAuthError::Unavailable(format!("could not sign the token: {e}")))?,
    };
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": s.access_token_ttl_secs,
        "scope": grant.scope,
    });
    if with_refresh {
        let refresh = random_token(32);
        let rec = TokenRecord {
            client_id: grant.client_id,
            subject: grant.subject,
            scope: grant.grant_scope.unwrap_or(grant.scope),
            resource: grant.resource,
            grant_id: grant.grant_id,
            issued_at: now,
            expires_at: grant
                .refresh_expires_at
                .unwrap_or(now + s.refresh_token_ttl_secs),
        };
        st.state.put_refresh(&refresh, &rec).await?;
        body["refresh_token"] = json!(refresh);
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body))
}
