//! Features: `GET /v1/Features`, `GET /v1/Feature?ReferenceFeature=` (204
//! when unknown, as ProAbono answers) and `GET /v1/Feature/{id}` (404).

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::page::{Paging, respond};
use super::params::Params;
use crate::AppState;
use abo_service::offers::{self, FeatureView};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// The feature routes, in lower case (see `api::normalise_path`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/features", get(get_features))
        .route("/v1/feature", get(get_feature_by_reference))
        .route("/v1/feature/{id}", get(get_feature_by_id))
}

/// The contract's `Feature`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FeatureDto {
    pub id: i64,
    pub reference_feature: String,
    pub title_localized: String,
    pub description_localized: Option<String>,
    pub type_feature: String,
    pub is_visible: bool,
}

impl From<FeatureView> for FeatureDto {
    fn from(f: FeatureView) -> Self {
        FeatureDto {
            id: f.id,
            reference_feature: f.reference,
            title_localized: f.title_localized,
            description_localized: f.description_localized,
            type_feature: f.type_feature,
            is_visible: f.is_visible,
        }
    }
}

/// `GET /v1/Features`.
pub async fn get_features(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Response> {
    let paging = Paging::from_params(&params)?;
    let segment = params.str("ReferenceSegment");
    let is_visible = params.bool("IsVisible")?;
    let page = offers::list_features(
        &state.store,
        caller.business_id(),
        segment,
        is_visible,
        paging.request(),
    )
    .await?;
    let mut extra = Vec::new();
    if let Some(s) = segment {
        extra.push(format!("ReferenceSegment={}", encode(s)));
    }
    if let Some(v) = is_visible {
        extra.push(format!("IsVisible={v}"));
    }
    let items: Vec<FeatureDto> = page.items.into_iter().map(FeatureDto::from).collect();
    Ok(respond(
        items,
        page.total,
        paging,
        "/v1/Features",
        &extra.join("&"),
        caller.now_us,
    ))
}

/// `GET /v1/Feature?ReferenceFeature=`: 204 when there is no such feature.
pub async fn get_feature_by_reference(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Response> {
    let reference = params.required_str("ReferenceFeature")?;
    match offers::find_feature(&state.store, caller.business_id(), reference).await? {
        Some(f) => Ok(Json(FeatureDto::from(f)).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// `GET /v1/Feature/{id}`: 404 when the business has no such feature.
pub async fn get_feature_by_id(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<FeatureDto>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("feature '{id}' not found")))?;
    Ok(Json(
        offers::get_feature(&state.store, caller.business_id(), id)
            .await?
            .into(),
    ))
}

fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
