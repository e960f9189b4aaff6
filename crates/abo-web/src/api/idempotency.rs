//! `Idempotency-Key` on any POST (Stripe's semantics): the first request with
//! a key runs and its response is stored; a retry with the same key and the
//! same request gets the stored response (`Idempotent-Replayed: true`) without
//! running again; the same key with a different request is a 422; a retry
//! while the first is still running is a 409.
//!
//! A 5xx releases the key, so a retry after a failure runs for real. The key
//! is reserved before the handler's own transaction, so a crash between the
//! two leaves it "in progress" (409) until keys are purged (24 h): the safe
//! side, since the effect may have been committed.

use super::auth::Caller;
use super::error::ApiError;
use crate::{AppState, MAX_BODY_BYTES};
use abo_store::idempotency::{self, Reservation};
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(HEADER) {
        return next.run(request).await;
    }
    match guarded(state, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn guarded(state: AppState, request: Request, next: Next) -> Result<Response, Response> {
    let key = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible characters"),
            )
            .into_response()
        })?
        .to_string();
    let (mut parts, body) = request.into_parts();
    // Unauthenticated: let the handler answer its 401.
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(e) => return Err(e.into_response()),
    };
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Error.Api.Body",
            "request body too large",
        )
        .into_response()
    })?;
    let hash = request_hash(&parts, &bytes);
    let business_id = caller.business_id();

    let reservation = {
        let mut conn = state
            .store
            .acquire()
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        idempotency::begin(&mut conn, business_id, &key, &hash, caller.now_us)
            .await
            .map_err(|e| ApiError::from(e).into_response())?
    };
    match reservation {
        Reservation::Replay { status, body } => return Ok(replay(status, body)),
        Reservation::InProgress => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "Error.Api.Idempotency.InProgress",
                "A request with this Idempotency-Key is still being processed; retry later",
            )
            .into_response());
        }
        Reservation::Mismatch => {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                "This Idempotency-Key was used for a different request",
            )
            .into_response());
        }
        Reservation::New => {}
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut conn = state
        .store
        .acquire()
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let outcome = if parts.status.is_server_error() {
        idempotency::release(&mut conn, business_id, &key).await
    } else {
        let text = String::from_utf8_lossy(&body);
        idempotency::complete(
            &mut conn,
            business_id,
            &key,
            i64::from(parts.status.as_u16()),
            &text,
        )
        .await
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "cannot record the idempotent response");
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// What makes two requests "the same": method, path, query and body.
fn request_hash(parts: &axum::http::request::Parts, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().to_ascii_lowercase().as_bytes());
    hasher.update(b"?");
    hasher.update(parts.uri.query().unwrap_or("").as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn replay(status: i64, body: String) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = (status, body.clone()).into_response();
    let headers = response.headers_mut();
    if !body.is_empty() {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
