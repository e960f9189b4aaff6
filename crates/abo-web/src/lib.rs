//! HTTP edge of Abo: the axum routers. Handlers are thin: parse, call a
//! service, render. The `/v1` API, the hosted pages and the back office each
//! get their own module as they land; this crate already owns the operational
//! endpoints every deployment needs (`/healthz`, `/readyz`, `/metrics`).

mod health;
mod state;

pub use state::AppState;

use axum::Router;
use std::time::Duration;
use tower_http::{catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, trace::TraceLayer};

/// Largest request body accepted anywhere. The biggest legitimate payload is a
/// batch of 50 usages, far below this.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Builds the complete application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::new())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
}
