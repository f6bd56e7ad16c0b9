//! The HTTP side of rate limiting: [`enforce`] runs inside the [`crate::auth::Caller`]
//! extractor, right after authentication, so every handler of the MCP endpoint (POST, GET,
//! DELETE) and of the HTTP+SSE transport (`/sse`, `/messages`) is limited in this one place,
//! and unauthenticated floods get their 401 without costing the limiter any memory.
//!
//! The key is the authenticated principal's binding key (issuer + subject, or client id); with
//! authentication disabled it is the client's IP address (the TCP peer, which behind a proxy is
//! the proxy, unless `rate_limit.trust_forwarded_for`). A limited request gets
//! [`RateLimited`]: HTTP 429, `Retry-After` in whole seconds (at least 1), and a JSON-RPC error
//! (-32000, "rate limit exceeded", `data.retryAfterSecs`). The limiter runs before the body is
//! read (refusing must stay cheap), so the body names no request id: `"id": null` for
//! session-era requests, no `id` at all for 2026-07-28 ones (whose schema forbids `null`), as
//! for authentication failures ([`crate::auth::Rejection::for_request`]).

use crate::auth::Caller;
use crate::metrics::Metrics;
use crate::protocol::jsonrpc::{ErrorObject, codes, error_value};
use crate::ratelimit::{RateLimiter, Verdict};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A request refused by the rate limiter.
#[derive(Debug, Clone, thiserror::Error)]
#[error("rate limit exceeded")]
pub struct RateLimited {
    /// Whole seconds until the client may retry (at least 1).
    pub retry_after_secs: u64,
    /// The request is of the stateless revision: its body gets no `id`.
    pub modern: bool,
}

impl RateLimited {
    /// A refusal asking the client to wait `retry_after` (rounded up to whole seconds, ≥ 1).
    pub fn new(retry_after: Duration, modern: bool) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self {
            retry_after_secs: secs.max(1),
            modern,
        }
    }
}

impl ResponseError for RateLimited {
    fn status_code(&self) -> StatusCode {
        StatusCode::TOO_MANY_REQUESTS
    }

    fn error_response(&self) -> HttpResponse {
        let mut error = ErrorObject::new(codes::SERVER_ERROR, "rate limit exceeded");
        error.data = Some(json!({"retryAfterSecs": self.retry_after_secs}));
        let mut body = error_value(None, &error);
        if self.modern
            && let Some(b) = body.as_object_mut()
        {
            b.remove("id");
        }
        HttpResponse::build(self.status_code())
            .insert_header((
                header::RETRY_AFTER,
                HeaderValue::from(self.retry_after_secs),
            ))
            .json(body)
    }
}

/// Takes a token for the caller of `req`; `Err` when the caller is over its rate. Without a
/// [`RateLimiter`] in the app data (limiting disabled) every request passes.
pub async fn enforce(req: &HttpRequest, caller: &Caller, modern: bool) -> Result<(), RateLimited> {
    let Some(limiter) = req.app_data::<web::Data<RateLimiter>>() else {
        return Ok(());
    };
    let key = match caller.principal() {
        Some(p) => format!("p:{}", p.binding_key()),
        None => format!("ip:{}", peer(req, limiter)),
    };
    let metrics = req.app_data::<web::Data<Metrics>>();
    match limiter.check(&key).await {
        Verdict::Allowed => Ok(()),
        Verdict::Limited { retry_after } => {
            if let Some(m) = metrics {
                m.rate_limited(limiter.backend_name());
            }
            Err(RateLimited::new(retry_after, modern))
        }
        Verdict::FailedOpen(e) => {
            if let Some(m) = metrics {
                m.rate_limit_store_error();
            }
            warn_throttled(&e);
            Ok(())
        }
    }
}

/// The client address: the TCP peer, or the first forwarded address when trusted.
fn peer(req: &HttpRequest, limiter: &RateLimiter) -> String {
    if limiter.trusts_forwarded_for()
        && let Some(ip) = req.connection_info().realip_remote_addr()
    {
        return ip.to_owned();
    }
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

/// Logs a store failure at most every ten seconds (an outage must not flood the log).
fn warn_throttled(e: &crate::store::StoreError) {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = crate::store::record::now_ms();
    let last = LAST.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= 10_000
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(error = %e, "rate limit store unavailable: letting requests through");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn the_429_body_and_header() {
        let r = RateLimited::new(Duration::from_millis(1200), false);
        assert_eq!(r.retry_after_secs, 2);
        let res = r.error_response();
        assert_eq!(res.status(), 429);
        assert_eq!(
            res.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("2")
        );
        let bytes = actix_web::body::to_bytes(res.into_body())
            .await
            .unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(body["error"]["code"], -32000);
        assert_eq!(body["error"]["message"], "rate limit exceeded");
        assert_eq!(body["error"]["data"]["retryAfterSecs"], 2);
        assert!(body.get("id").is_some_and(serde_json::Value::is_null));
        let modern = RateLimited::new(Duration::from_millis(10), true);
        assert_eq!(modern.retry_after_secs, 1);
        let bytes = actix_web::body::to_bytes(modern.error_response().into_body())
            .await
            .unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert!(body.get("id").is_none(), "{body}");
    }
}
