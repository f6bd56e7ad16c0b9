//! Token introspection (`POST /introspect`, RFC 7662) and revocation (`POST /revoke`, RFC 7009).
//!
//! Introspection requires client authentication (RFC 7662 §2.1, against token scanning) unless
//! `authserver.public_introspection` is on (the seed's quick token check; `mcp-hive dev` only).
//! It knows opaque access tokens, refresh tokens and its own JWT access tokens; a token of a
//! revoked grant, a revoked JWT (`jti`) or anything unknown is `{"active": false}`.
//!
//! Revocation: a client may revoke its own tokens; revoking a refresh token also revokes its
//! grant (every access token issued from it, RFC 7009 §2.1); an unknown token is a 200 no-op.

use super::AsState;
use super::clients;
use super::error::OAuthError;
use super::params::Params;
use super::state::{TokenRecord, now_secs};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// What a token turned out to be.
enum Found {
    Access(TokenRecord),
    Refresh(TokenRecord),
    Jwt(Map<String, Value>),
}

async fn lookup(st: &AsState, token: &str) -> Result<Option<Found>, OAuthError> {
    if let Some(rec) = st.state.access(token).await? {
        return Ok(Some(Found::Access(rec)));
    }
    if let Some(rec) = st.state.refresh(token).await? {
        return Ok(Some(Found::Refresh(rec)));
    }
    Ok(st.keys.verify(token).map(Found::Jwt))
}

fn no_store(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

fn record_claims(st: &AsState, rec: &TokenRecord, token_type: &str) -> Value {
    let mut out = json!({
        "active": true,
        "token_type": token_type,
        "client_id": rec.client_id,
        "scope": rec.scope,
        "iss": st.issuer,
        "iat": rec.issued_at,
        "exp": rec.expires_at,
    });
    if let Some(sub) = &rec.subject {
        out["sub"] = json!(sub);
        out["username"] = json!(sub);
    }
    if let Some(aud) = &rec.resource {
        out["aud"] = json!(aud);
    }
    out
}

/// `POST /introspect`.
pub async fn introspect(
    req: HttpRequest,
    body: web::Bytes,
    st: web::Data<AsState>,
) -> Result<HttpResponse, OAuthError> {
    let params = Params::parse(&body)?;
    let has_credentials =
        req.headers().contains_key(header::AUTHORIZATION) || params.get("client_secret").is_some();
    if !st.settings.public_introspection || has_credentials {
        clients::authenticate(&st, &req, &params, false).await?;
    }
    let token = params.require("token")?;
    let inactive = || no_store(json!({"active": false}));
    let now = now_secs();
    let Some(found) = lookup(&st, token).await? else {
        return Ok(inactive());
    };
    let (claims, grant) = match found {
        Found::Access(rec) => (record_claims(&st, &rec, "Bearer"), Some(rec.grant_id)),
        Found::Refresh(rec) => (
            record_claims(&st, &rec, "refresh_token"),
            Some(rec.grant_id),
        ),
        Found::Jwt(c) => {
            if let Some(jti) = c.get("jti").and_then(Value::as_str)
                && st.state.jti_revoked(jti).await?
            {
                return Ok(inactive());
            }
            let grant = c.get("gid").and_then(Value::as_str).map(str::to_owned);
            let mut out = json!({"active": true, "token_type": "Bearer"});
            for key in [
                "iss",
                "sub",
                "aud",
                "client_id",
                "scope",
                "iat",
                "exp",
                "jti",
            ] {
                if let Some(v) = c.get(key) {
                    out[key] = v.clone();
                }
            }
            (out, grant)
        }
    };
    if claims["exp"].as_u64().is_some_and(|exp| exp <= now) {
        return Ok(inactive());
    }
    if let Some(g) = grant
        && st.state.grant_revoked(&g).await?
    {
        return Ok(inactive());
    }
    Ok(no_store(claims))
}

/// `POST /revoke`.
pub async fn revoke(
    req: HttpRequest,
    body: web::Bytes,
    st: web::Data<AsState>,
) -> Result<HttpResponse, OAuthError> {
    let params = Params::parse(&body)?;
    let client = clients::authenticate(&st, &req, &params, true).await?;
    let token = params.require("token")?;
    let refresh_ttl = Duration::from_secs(st.settings.refresh_token_ttl_secs);
    let not_yours =
        || OAuthError::UnauthorizedClient("the token was not issued to this client".into());
    match lookup(&st, token).await? {
        None => {}
        Some(Found::Access(rec)) => {
            if rec.client_id != client.client_id {
                return Err(not_yours());
            }
            st.state.delete_access(token).await?;
        }
        Some(Found::Refresh(rec)) => {
            if rec.client_id != client.client_id {
                return Err(not_yours());
            }
            st.state.delete_refresh(token).await?;
            st.state.revoke_grant(&rec.grant_id, refresh_ttl).await?;
        }
        Some(Found::Jwt(c)) => {
            if c.get("client_id").and_then(Value::as_str) != Some(client.client_id.as_str()) {
                return Err(not_yours());
            }
            if let Some(jti) = c.get("jti").and_then(Value::as_str) {
                let exp = c.get("exp").and_then(Value::as_u64).unwrap_or(0);
                let ttl = Duration::from_secs(exp.saturating_sub(now_secs()).max(1));
                st.state.revoke_jti(jti, ttl).await?;
            }
        }
    }
    tracing::info!(client = %client.client_id, "token revocation");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
