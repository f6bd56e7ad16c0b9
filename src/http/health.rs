//! Probes: `/healthz` (liveness: the process serves HTTP) and `/readyz` (readiness: not
//! shutting down, the store answers, and the authorization server endpoint token checks depend
//! on answers — see [`crate::auth::readiness`]). Neither needs auth nor an Origin; both are for
//! the orchestrator and the load balancer, not for the public ingress.

use crate::auth::Authenticator;
use crate::http::McpState;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// `GET /healthz`.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 `{"status": "ready", ...}` or 503 with the failing check. The body also
/// reports the live session actors, the requests running on them (operators and the
/// rolling-restart test read them) and how many actors moved to the worker their requests
/// arrive on ([`crate::session::relocate`]).
pub async fn readyz(state: web::Data<McpState>, auth: web::Data<Authenticator>) -> HttpResponse {
    let live_actors = state.sessions.live_actors();
    let in_flight = state.sessions.in_flight();
    let relocations = state.sessions.relocations();
    if state.shutdown.is_cancelled() {
        return HttpResponse::ServiceUnavailable().json(json!({
            "status": "shutting down",
            "live_actors": live_actors,
            "in_flight_requests": in_flight,
        }));
    }
    let (store, token_checks) = tokio::join!(state.sessions.sessions().ping(), auth.ready());
    let failure = match (store, token_checks) {
        (Err(e), _) => Some(("store unavailable", e.to_string())),
        (Ok(()), Err(e)) => Some(("authorization server unavailable", e)),
        (Ok(()), Ok(())) => None,
    };
    match failure {
        None => HttpResponse::Ok().json(json!({
            "status": "ready",
            "live_actors": live_actors,
            "in_flight_requests": in_flight,
            "actor_relocations": relocations,
        })),
        Some((status, error)) => {
            HttpResponse::ServiceUnavailable().json(json!({"status": status, "error": error}))
        }
    }
}
