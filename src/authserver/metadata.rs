//! Discovery: the authorization server metadata (RFC 8414 §2) at
//! `/.well-known/oauth-authorization-server`, the same document as OpenID Connect Discovery 1.0
//! at `/.well-known/openid-configuration` (with the fields OIDC requires), and the JWK Set at
//! `/jwks`. MCP 2025-11-25 `basic/authorization.mdx`: S256 in `code_challenge_methods_supported`
//! (clients refuse servers without it), `authorization_response_iss_parameter_supported`
//! (RFC 9207), `client_id_metadata_document_supported`.

use super::AsState;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// The metadata document.
pub fn document(st: &AsState) -> Value {
    let s = &st.settings;
    let mut doc = json!({
        "issuer": st.issuer,
        "authorization_endpoint": st.url("/authorize"),
        "token_endpoint": st.url("/token"),
        "introspection_endpoint": st.url("/introspect"),
        "revocation_endpoint": st.url("/revoke"),
        "jwks_uri": st.url("/jwks"),
        "scopes_supported": s.scopes_supported,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": s.client_metadata_documents,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [st.keys.algorithm()],
        "service_documentation": "https://github.com/mcp-hive/mcp-hive#authorization-oauth-21",
    });
    if s.public_introspection {
        doc["introspection_endpoint_auth_methods_supported"] =
            json!(["client_secret_basic", "client_secret_post", "none"]);
    }
    if s.registration_enabled {
        doc["registration_endpoint"] = json!(st.url("/register"));
    }
    doc
}

fn public_json(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(body)
}

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server(st: web::Data<AsState>) -> HttpResponse {
    public_json(&document(&st))
}

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(st: web::Data<AsState>) -> HttpResponse {
    public_json(&document(&st))
}

/// `GET /jwks`.
pub async fn jwks(st: web::Data<AsState>) -> HttpResponse {
    public_json(&st.keys.jwks())
}
