//! HTTP edge of Abo: the axum routers. Handlers are thin: parse, call a
//! service, render. `api` is the ProAbono-compatible `/v1`; the operational
//! endpoints (`/healthz`, `/readyz`, `/metrics`) live in `health`.

pub mod api;
/// ProAbono's Backoffice API (`/Notification/Webhooks...`), and Abo's
/// `/Billing/Invoices/{id}/Cancel|Refund` in its style, and customer links
/// (`/Distribution/Customers/{id}/Links`) and segment e-mails
/// (`/Organization/Segments/{ref}/Emails`).
pub mod backoffice {
    pub mod emails;
    pub mod invoices;
    pub mod links;
    pub mod webhooks;
}
mod health;
pub mod portal;
mod state;

pub use state::AppState;

use axum::Router;
use std::time::Duration;
use tower::ServiceExt;
use tower_http::{catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, trace::TraceLayer};

/// Largest request body accepted anywhere. The biggest legitimate payload is a
/// batch of 50 usages, far below this.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Builds the complete application.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(health::routes())
        .merge(portal::routes())
        .merge(backoffice::webhooks::routes())
        .merge(backoffice::links::routes())
        .merge(backoffice::emails::routes())
        .merge(backoffice::invoices::routes())
        .merge(
            api::router().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                api::idempotency::middleware,
            )),
        )
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::new())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ));
    // Paths are normalised before routing, which a layer inside the router
    // cannot do: the outer router hands every request to the inner one.
    Router::new().fallback_service(routes.map_request(api::normalise_path))
}
