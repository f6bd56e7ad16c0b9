//! The authorization endpoint (OAuth 2.1 draft §4.1.1, RFC 6749 §4.1): the code flow with PKCE
//! S256 only (RFC 7636, OAuth 2.1 §4.1.1), RFC 8707 `resource`, and RFC 9207 `iss` on every
//! response that goes back to the client.
//!
//! Open-redirect safety (RFC 6749 §4.1.2.1, §10.15): the client and the redirect URI are checked
//! first; while either is in doubt the user sees an error page ([`AuthorizeError::Page`]) and is
//! never redirected. Only then do errors travel to the redirect URI
//! ([`AuthorizeError::Redirect`]).
//!
//! `GET /authorize` validates the request and either issues a code at once (`auto_approve`, for
//! the first demo user) or shows the login and consent page. The page carries the request in
//! hidden fields and a CSRF token that is also set as the `mcp_hive_csrf` cookie (double submit,
//! `SameSite=Strict`). `POST /authorize` checks the CSRF token, then validates the request again
//! with the same function as GET: tampered hidden fields can only produce another valid request
//! of the same client, which the user then approves knowingly.

use super::error::OAuthError;
use super::pages::{self, CSRF_COOKIE};
use super::params::Params;
use super::state::{ClientRecord, CodeRecord, digest, now_secs, random_token};
use super::{AsState, clients, pkce};
use crate::config::{AuthServerSettings, DemoUser};
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use std::time::Duration;

/// An authorization request that passed every check (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedRequest {
    /// `client_id`.
    pub client_id: String,
    /// The client's display name.
    pub client_name: Option<String>,
    /// The redirect URI: the one sent, exactly as registered, or the client's only one.
    pub redirect_uri: String,
    /// `state`, returned unchanged.
    pub state: Option<String>,
    /// PKCE S256 `code_challenge`.
    pub code_challenge: String,
    /// The scope to grant, normalised (space-separated, no duplicates).
    pub scope: String,
    /// RFC 8707 `resource`: the audience of the tokens.
    pub resource: Option<String>,
}

impl ValidatedRequest {
    /// The request as form fields (the consent page's hidden fields).
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        let mut f = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("scope", self.scope.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if let Some(s) = &self.state {
            f.push(("state", s));
        }
        if let Some(r) = &self.resource {
            f.push(("resource", r));
        }
        f
    }
}

/// Why an authorization request fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted (RFC 6749 §4.1.2.1): an error page,
    /// never a redirect.
    Page {
        /// HTTP status of the page.
        status: StatusCode,
        /// Shown to the user.
        message: String,
    },
    /// An error response on the redirect URI (RFC 6749 §4.1.2.1, RFC 9207 adds `iss`).
    Redirect {
        /// The validated redirect URI.
        redirect_uri: String,
        /// The request's `state`.
        state: Option<String>,
        /// The error code.
        error: &'static str,
        /// `error_description`.
        description: String,
    },
}

fn page(status: StatusCode, message: impl Into<String>) -> AuthorizeError {
    AuthorizeError::Page {
        status,
        message: message.into(),
    }
}

/// Validates an authorization request of `client` (`None`: the `client_id` is unknown) against
/// the settings, in the order RFC 6749 §4.1.2.1 requires: client, redirect URI, then the rest.
pub fn validate(
    s: &AuthServerSettings,
    client: Option<&ClientRecord>,
    p: &Params,
) -> Result<ValidatedRequest, AuthorizeError> {
    let Some(client) = client else {
        return Err(page(StatusCode::BAD_REQUEST, "Unknown client_id."));
    };
    let redirect_uri = match p.get("redirect_uri") {
        Some(r) if client.redirect_uris.iter().any(|u| u == r) => r.to_owned(),
        Some(_) => {
            return Err(page(
                StatusCode::BAD_REQUEST,
                "The redirect_uri is not registered for this client.",
            ));
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => {
                return Err(page(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri is required: the client has several or none registered.",
                ));
            }
        },
    };
    let state = p.get("state").map(str::to_owned);
    let fail = |error: &'static str, description: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };
    match p.get("response_type") {
        None => return Err(fail("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(fail(
            "unauthorized_client",
            "the client may not use the authorization_code grant",
        ));
    }
    let Some(challenge) = p.get("code_challenge") else {
        return Err(fail("invalid_request", "PKCE code_challenge required"));
    };
    if p.get("code_challenge_method") != Some("S256") {
        return Err(fail(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not accepted)",
        ));
    }
    if !pkce::valid_challenge(challenge) {
        return Err(fail(
            "invalid_request",
            "code_challenge must be 43 base64url characters (S256)",
        ));
    }
    let scope = resolve_scope(s, client, p.get("scope")).map_err(|d| fail("invalid_scope", &d))?;
    if p.resources().len() > 1 {
        return Err(fail(
            "invalid_target",
            "this server binds one resource per authorization; send a single resource",
        ));
    }
    let resource = match p.get("resource") {
        Some(r) if valid_resource(r) => Some(r.to_owned()),
        Some(_) => {
            return Err(fail(
                "invalid_target",
                "resource must be an absolute http(s) URI without a fragment",
            ));
        }
        None => None,
    };
    Ok(ValidatedRequest {
        client_id: client.client_id.clone(),
        client_name: client.client_name.clone(),
        redirect_uri,
        state,
        code_challenge: challenge.to_owned(),
        scope,
        resource,
    })
}

/// The scope to grant (RFC 6749 §3.3): every requested token must be supported and allowed for
/// the client; none requested means `default_scope`, narrowed to what the client may have.
fn resolve_scope(
    s: &AuthServerSettings,
    client: &ClientRecord,
    requested: Option<&str>,
) -> Result<String, String> {
    let allowed = |t: &str| {
        s.scopes_supported.iter().any(|x| x == t)
            && client
                .scope
                .as_deref()
                .is_none_or(|cs| cs.split_whitespace().any(|x| x == t))
    };
    let mut out: Vec<&str> = Vec::new();
    match requested.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => {
            for t in r.split_whitespace() {
                if !allowed(t) {
                    return Err(format!("scope {t} is not available to this client"));
                }
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        None => {
            for t in s.default_scope.split_whitespace() {
                if allowed(t) && !out.contains(&t) {
                    out.push(t);
                }
            }
            if out.is_empty() && !s.default_scope.trim().is_empty() {
                return Err("no scope requested and the default scope is not allowed".into());
            }
        }
    }
    Ok(out.join(" "))
}

/// RFC 8707 §2: an absolute URI without a fragment; this demo server accepts any http(s) URL
/// with a host, written out in full (no whitespace for the URL parser to strip).
fn valid_resource(r: &str) -> bool {
    (r.starts_with("http://") || r.starts_with("https://"))
        && !r.contains('#')
        && !r
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        && reqwest::Url::parse(r).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

/// A response on the client's redirect URI: `pairs`, then `state` and `iss` (RFC 9207 §2).
fn to_client(
    st: &AsState,
    redirect_uri: &str,
    state: Option<&str>,
    pairs: &[(&str, &str)],
) -> HttpResponse {
    let mut all = pairs.to_vec();
    if let Some(s) = state {
        all.push(("state", s));
    }
    all.push(("iss", &st.issuer));
    pages::redirect(redirect_uri, &all)
}

fn error_response(st: &AsState, e: AuthorizeError) -> HttpResponse {
    match e {
        AuthorizeError::Page { status, message } => pages::error_response(status, &message),
        AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
            description,
        } => {
            let pairs = [("error", error), ("error_description", &description)];
            to_client(st, &redirect_uri, state.as_deref(), &pairs)
        }
    }
}

/// An error (RFC 6749 §4.1.2.1) for a validated request.
fn redirect_error(r: &ValidatedRequest, error: &'static str, description: &str) -> AuthorizeError {
    AuthorizeError::Redirect {
        redirect_uri: r.redirect_uri.clone(),
        state: r.state.clone(),
        error,
        description: description.to_owned(),
    }
}

/// Looks the client up, then [`validate`]s.
async fn check(st: &AsState, p: &Params) -> Result<ValidatedRequest, AuthorizeError> {
    let Some(client_id) = p.get("client_id") else {
        return Err(page(StatusCode::BAD_REQUEST, "client_id is required."));
    };
    match clients::find(st, client_id).await {
        Ok(client) => validate(&st.settings, client.as_ref(), p),
        Err(OAuthError::Unavailable(_)) => Err(page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The authorization server is temporarily unavailable.",
        )),
        Err(e) => Err(page(
            StatusCode::BAD_REQUEST,
            format!("The client cannot be used: {}", e.description()),
        )),
    }
}

/// Issues a code for `subject` (RFC 6749 §4.1.2) and redirects with `code`, `state`, `iss`.
async fn issue(st: &AsState, r: &ValidatedRequest, subject: &str) -> HttpResponse {
    let ttl = st.settings.code_ttl_secs;
    let code = random_token(32);
    let rec = CodeRecord {
        client_id: r.client_id.clone(),
        redirect_uri: r.redirect_uri.clone(),
        code_challenge: r.code_challenge.clone(),
        scope: r.scope.clone(),
        resource: r.resource.clone(),
        subject: subject.to_owned(),
        grant_id: random_token(16),
        expires_at: now_secs().saturating_add(ttl),
    };
    if let Err(e) = st
        .state
        .put_code(&code, &rec, Duration::from_secs(ttl))
        .await
    {
        tracing::error!(error = %e, "storing an authorization code");
        return error_response(
            st,
            redirect_error(r, "temporarily_unavailable", "the store is unavailable"),
        );
    }
    tracing::info!(client_id = %r.client_id, subject, scope = %r.scope, "authorization code issued");
    to_client(st, &r.redirect_uri, r.state.as_deref(), &[("code", &code)])
}

/// The demo user with these credentials. Every user is compared, on SHA-256 digests so that
/// lengths do not matter, in constant time.
fn authenticate<'a>(users: &'a [DemoUser], username: &str, password: &str) -> Option<&'a str> {
    let (u, p) = (digest(username), digest(password));
    let mut found = None;
    for user in users {
        let name_ok = pkce::constant_time_eq(digest(&user.username).as_bytes(), u.as_bytes());
        let pass_ok = pkce::constant_time_eq(digest(&user.password).as_bytes(), p.as_bytes());
        if name_ok & pass_ok && found.is_none() {
            found = Some(user.username.as_str());
        }
    }
    found
}

fn well_formed_csrf(t: &str) -> bool {
    t.len() == 43
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /authorize` (RFC 6749 §4.1.1): validates the request, then issues a code at once
/// (`auto_approve`) or shows the login and consent page.
pub async fn get(req: HttpRequest, st: web::Data<AsState>) -> HttpResponse {
    let p = match Params::parse(req.query_string().as_bytes()) {
        Ok(p) => p,
        Err(e) => return pages::error_response(StatusCode::BAD_REQUEST, e.description()),
    };
    let r = match check(&st, &p).await {
        Ok(r) => r,
        Err(e) => return error_response(&st, e),
    };
    if st.settings.auto_approve {
        return match st.settings.users.first() {
            Some(u) => issue(&st, &r, &u.username).await,
            None => pages::error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "auto_approve needs a demo user.",
            ),
        };
    }
    // One token per browser session: reuse the cookie so that several open pages all work.
    let csrf = req
        .cookie(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| well_formed_csrf(t))
        .unwrap_or_else(|| random_token(32));
    pages::consent_response(&st.issuer, &r, &csrf, StatusCode::OK, "", None)
}

/// `POST /authorize`, the login and consent form: CSRF check (double submit), the request
/// validated again, then `decision=deny` → `access_denied` (RFC 6749 §4.1.2.1), or the user's
/// credentials checked and a code issued.
pub async fn post(req: HttpRequest, body: web::Bytes, st: web::Data<AsState>) -> HttpResponse {
    if !req
        .content_type()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return pages::error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The form must be sent as application/x-www-form-urlencoded.",
        );
    }
    let p = match Params::parse(&body) {
        Ok(p) => p,
        Err(e) => return pages::error_response(StatusCode::BAD_REQUEST, e.description()),
    };
    let cookie = req.cookie(CSRF_COOKIE);
    let csrf = match (cookie.as_ref().map(Cookie::value), p.get("csrf")) {
        (Some(c), Some(f)) if pkce::constant_time_eq(c.as_bytes(), f.as_bytes()) => f,
        _ => {
            return pages::error_response(
                StatusCode::BAD_REQUEST,
                "The form expired or did not come from this server. \
                 Go back, reload the page and try again.",
            );
        }
    };
    let r = match check(&st, &p).await {
        Ok(r) => r,
        Err(e) => return error_response(&st, e),
    };
    match p.get("decision") {
        Some("deny") => error_response(
            &st,
            redirect_error(&r, "access_denied", "the user denied the request"),
        ),
        Some("approve") => {
            let username = p.get("username").unwrap_or_default();
            let password = p.get("password").unwrap_or_default();
            match authenticate(&st.settings.users, username, password) {
                Some(subject) => issue(&st, &r, subject).await,
                None => {
                    tracing::info!(client_id = %r.client_id, "failed demo login");
                    pages::consent_response(
                        &st.issuer,
                        &r,
                        csrf,
                        StatusCode::UNAUTHORIZED,
                        username,
                        Some("Wrong username or password."),
                    )
                }
            }
        }
        _ => pages::error_response(StatusCode::BAD_REQUEST, "Choose Approve or Deny."),
    }
}

#[cfg(test)]
mod tests;
