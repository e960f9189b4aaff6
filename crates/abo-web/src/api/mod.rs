//! API Live (`/v1`): ProAbono's REST API, so a merchant's existing
//! integration works by changing the base URL and the keys.
//!
//! Conventions every resource module follows (see `customers.rs`):
//! - authenticate with the [`auth::Caller`] extractor (HTTP Basic);
//! - read query parameters with [`params::Params`] (case-insensitive names,
//!   body fallback with `Params::with_body`), bodies with [`body::JsonBody`];
//! - call one use case of `abo-service`; map its error with `?` ([`error`]);
//! - answer PascalCase DTOs defined in the resource module, dates with
//!   [`dates::format_us`], amounts as integers of minor units, `Links` with
//!   [`links::LinkSigner`], collections with [`page::respond`] (204 when empty).
//!
//! Paths are matched case-insensitively: `router()` registers them in lower
//! case and `crate::router` lower-cases `/v1/...` request paths before routing.

pub mod auth;
pub mod balance;
pub mod body;
pub mod customers;
pub mod dates;
pub mod error;
pub mod features;
pub mod idempotency;
pub mod invoices;
pub mod links;
pub mod offers;
pub mod openapi;
pub mod page;
pub mod params;
pub mod quoting;
pub mod subscriptions;
pub mod test_clock;
pub mod usages;

use crate::AppState;
use axum::Router;

/// Every `/v1` route. Each resource module has a `routes()` that registers
/// its paths **in lower case**; add one `.merge(...)` line per module here.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/openapi.json",
            axum::routing::get(openapi::openapi_json),
        )
        .merge(customers::routes())
        .merge(usages::routes())
        .merge(offers::routes())
        .merge(features::routes())
        .merge(subscriptions::routes())
        .merge(invoices::routes())
        .merge(balance::routes())
        .merge(quoting::routes())
        .merge(test_clock::routes())
}

/// Lower-cases the path of an API request, so `/v1/Customers`,
/// `/v1/customers` and `/V1/CUSTOMERS` reach the same handler. Only `/v1/`
/// paths: hosted-page paths carry case-sensitive tokens.
pub fn normalise_path(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    let is_api = path.len() >= 4 && path[..4].eq_ignore_ascii_case("/v1/");
    if is_api && path.bytes().any(|b| b.is_ascii_uppercase()) {
        let lowered = path.to_ascii_lowercase();
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{lowered}?{q}"),
            None => lowered,
        };
        if let Ok(uri) = rebuilt.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}
