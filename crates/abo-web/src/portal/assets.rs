//! Static assets of the hosted pages (embedded in the binary) and the segment logo.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::context::Ctx;
use crate::AppState;

/// The portal stylesheet.
pub const PORTAL_CSS: &str = include_str!("../../static/portal.css");
/// The optional auto-resize script (posts the page height to the parent frame).
pub const RESIZE_JS: &str = include_str!("../../static/resize.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/static/portal.css", get(css))
        .route("/portal/static/resize.js", get(js))
        .route("/portal/s/{session}/logo", get(logo))
}

fn asset(body: &'static str, mime: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    // Versioned by the binary: an hour is a fair trade between upgrades and load.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn css() -> Response {
    asset(PORTAL_CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    asset(RESIZE_JS, "text/javascript; charset=utf-8")
}

async fn logo(State(_): State<AppState>, ctx: Ctx) -> Response {
    match &ctx.look.logo {
        Some((mime, bytes)) => {
            let mut r = (StatusCode::OK, bytes.clone()).into_response();
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(mime) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=600"),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
