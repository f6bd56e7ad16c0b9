//! Origin validation (DNS-rebinding protection) and CORS for browser clients such as the MCP
//! Inspector.
//!
//! Every MCP transport revision says servers MUST validate `Origin` on all incoming
//! connections; 2025-11-25 adds that an invalid one gets 403 with an optional JSON-RPC error
//! body. Requests without `Origin` (non-browser clients) pass. Allowed origins: the configured
//! list (or `*`), plus `http(s)://localhost|127.0.0.1|[::1]` on any port unless disabled.
//! Allowed origins get CORS headers; preflights are answered here.

use crate::config::{SecuritySettings, is_origin};
use crate::http::error::HttpError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, ResponseError};

/// Request headers a browser client may send.
pub const ALLOWED_HEADERS: &str = "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name";
/// Response headers a browser client may read.
pub const EXPOSED_HEADERS: &str = "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate";
/// Methods of the MCP endpoint.
pub const ALLOWED_METHODS: &str = "GET, POST, DELETE, OPTIONS";

/// Which origins may talk to the server.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    any: bool,
    allowed: Vec<String>,
    localhost: bool,
}

impl OriginPolicy {
    /// Builds the policy from settings.
    pub fn new(settings: &SecuritySettings) -> Self {
        Self {
            any: settings.allowed_origins.iter().any(|o| o == "*"),
            allowed: settings
                .allowed_origins
                .iter()
                .filter(|o| *o != "*")
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            localhost: settings.allow_localhost_origins,
        }
    }

    /// Whether a present `Origin` value is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        if !is_origin(&origin) {
            return false;
        }
        if self.any || self.allowed.contains(&origin) {
            return true;
        }
        self.localhost && is_localhost_origin(&origin)
    }
}

fn is_localhost_origin(origin: &str) -> bool {
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    let host = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, port)) if port.is_empty() || port.starts_with(':') => h,
            _ => return false,
        }
    } else {
        let (h, port) = authority.split_once(':').unwrap_or((authority, ""));
        if !port.is_empty() && !port.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        h
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// Middleware: 403 for disallowed origins, preflight answers, CORS headers on the rest.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let policy = req
        .app_data::<actix_web::web::Data<OriginPolicy>>()
        .map(|p| p.get_ref().clone());
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("<non-ASCII>").to_owned());
    let Some(origin) = origin else {
        if req.method() == Method::OPTIONS {
            let res = HttpResponse::NoContent()
                .insert_header((header::ALLOW, ALLOWED_METHODS))
                .finish();
            return Ok(req.into_response(res));
        }
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let allowed = policy.is_some_and(|p| p.allows(&origin));
    if !allowed {
        tracing::warn!(origin = %origin, path = %req.path(), "rejected request from a foreign origin");
        let res = HttpError::ForbiddenOrigin(origin).error_response();
        return Ok(req.into_response(res));
    }
    let origin_value = HeaderValue::from_str(&origin).unwrap_or(HeaderValue::from_static("null"));
    if req.method() == Method::OPTIONS {
        let res = HttpResponse::build(StatusCode::NO_CONTENT)
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
            .insert_header((header::VARY, "Origin"))
            .finish();
        return Ok(req.into_response(res));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    let headers = res.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str], localhost: bool) -> OriginPolicy {
        OriginPolicy::new(&SecuritySettings {
            allowed_origins: origins.iter().map(|s| (*s).to_owned()).collect(),
            allow_localhost_origins: localhost,
        })
    }

    #[test]
    fn localhost_and_configured_origins() {
        let p = policy(&["https://app.example.com"], true);
        assert!(p.allows("http://localhost:6274"));
        assert!(p.allows("http://127.0.0.1"));
        assert!(p.allows("http://[::1]:3000"));
        assert!(p.allows("https://app.example.com"));
        assert!(!p.allows("http://evil.example.com"));
        assert!(!p.allows("http://localhost.evil.com"));
        assert!(!p.allows("http://localhost:80@evil.com"));
        assert!(!p.allows("null"));
        assert!(!policy(&[], false).allows("http://localhost:3000"));
        assert!(policy(&["*"], false).allows("https://anything.example"));
    }
}
