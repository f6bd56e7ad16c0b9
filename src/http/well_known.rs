//! The `/.well-known/` documents of the OAuth 2.1 resource server, public and readable from any
//! browser origin (`Access-Control-Allow-Origin: *`, preflights answered), as the MCP Inspector
//! and other browser clients fetch them cross-origin:
//!
//! - `/.well-known/oauth-protected-resource` and its path-inserted form for the MCP path
//!   (`/.well-known/oauth-protected-resource/mcp`, RFC 9728 §3.1): the protected resource
//!   metadata;
//! - `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`: the
//!   configured authorization server's own metadata, passed through for MCP 2025-03-26 clients,
//!   which look for it on the MCP server's origin (2025-03-26 `basic/authorization.mdx` §2.3).
//!
//! With auth disabled these answer 404: there is no protected resource to describe.

use crate::auth::Authenticator;
use crate::http::error::HttpError;
use crate::protocol::jsonrpc::{ErrorObject, codes, error_value};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

/// The protected resource metadata path for `mcp_path`.
pub const PROTECTED_RESOURCE: &str = "/.well-known/oauth-protected-resource";

/// Registers the well-known routes.
pub fn configure(cfg: &mut web::ServiceConfig, mcp_path: &str) {
    let mut paths = vec![PROTECTED_RESOURCE.to_owned()];
    if mcp_path != "/" {
        paths.push(format!("{PROTECTED_RESOURCE}{mcp_path}"));
    }
    for path in paths {
        cfg.service(
            web::resource(path)
                .route(web::get().to(protected_resource))
                .route(web::head().to(protected_resource))
                .default_service(web::to(preflight_or_405)),
        );
    }
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        cfg.service(
            web::resource(path)
                .route(web::get().to(authorization_server))
                .default_service(web::to(preflight_or_405)),
        );
    }
}

fn public(mut res: HttpResponse) -> HttpResponse {
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

fn not_found() -> HttpResponse {
    public(HttpResponse::NotFound().json(error_value(
        None,
        &ErrorObject::new(
            codes::SERVER_ERROR,
            "Not Found: authorization is disabled on this server",
        ),
    )))
}

/// `GET /.well-known/oauth-protected-resource[/mcp]`.
pub async fn protected_resource(auth: web::Data<Authenticator>) -> HttpResponse {
    match auth.protected_resource_metadata() {
        Some(doc) => public(HttpResponse::Ok().json(doc)),
        None => not_found(),
    }
}

/// `GET /.well-known/oauth-authorization-server` (and `openid-configuration`).
pub async fn authorization_server(auth: web::Data<Authenticator>) -> HttpResponse {
    let Some(metadata) = auth.authorization_server_metadata() else {
        return not_found();
    };
    match metadata.get().await {
        Ok(doc) => public(HttpResponse::Ok().json(doc.as_ref())),
        Err(e) => {
            tracing::warn!(error = %e, "authorization server metadata unavailable");
            let mut res =
                HttpError::Unavailable("the authorization server's metadata is unavailable".into())
                    .error_response();
            let h = res.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
    }
}

/// CORS preflight (any origin may read these documents), 405 for other methods.
pub async fn preflight_or_405(req: HttpRequest) -> HttpResponse {
    if req.method() != actix_web::http::Method::OPTIONS {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "GET, HEAD, OPTIONS"))
            .json(error_value(
                None,
                &ErrorObject::new(codes::SERVER_ERROR, "Method Not Allowed"),
            ));
    }
    let requested = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static("MCP-Protocol-Version"));
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, requested))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}
