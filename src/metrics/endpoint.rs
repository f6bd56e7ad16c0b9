//! `GET /metrics` (path configurable): the registry of this replica in the OpenMetrics text
//! format, without authentication (like `/healthz`). Gauges that mirror state owned elsewhere
//! (sessions in the store, live actors, running requests) are read at scrape time, so they are
//! exact without bookkeeping; with Redis a scrape costs one `ZCOUNT`.

use super::Metrics;
use crate::http::McpState;
use actix_web::{HttpResponse, web};

/// The content type of the OpenMetrics text format (Prometheus asks for it in `Accept`).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Registers the scrape route at `path`.
pub fn configure(cfg: &mut web::ServiceConfig, path: &str) {
    cfg.route(path, web::get().to(scrape));
}

/// `GET /metrics`.
pub async fn scrape(metrics: web::Data<Metrics>, state: web::Data<McpState>) -> HttpResponse {
    let stored = state.sessions.sessions().count_sessions().await.ok();
    metrics.set_session_gauges(
        stored,
        state.sessions.live_actors(),
        state.sessions.in_flight(),
        state.sessions.relocations(),
    );
    match metrics.render() {
        Ok(body) => HttpResponse::Ok()
            .insert_header(("Content-Type", CONTENT_TYPE))
            .insert_header(("Cache-Control", "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "could not encode the metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}
