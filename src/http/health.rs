//! Probes: `/healthz` (liveness: the process serves HTTP) and `/readyz` (readiness: the store
//! answers and the replica is not shutting down). Neither needs auth nor an Origin.

use crate::http::McpState;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// `GET /healthz`.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`.
pub async fn readyz(state: web::Data<McpState>) -> HttpResponse {
    if state.shutdown.is_cancelled() {
        return HttpResponse::ServiceUnavailable().json(json!({"status": "shutting down"}));
    }
    match state.sessions.sessions().ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({
            "status": "ready",
            "live_actors": state.sessions.live_actors(),
        })),
        Err(e) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "store unavailable", "error": e.to_string()})),
    }
}
