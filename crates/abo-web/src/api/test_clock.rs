//! `POST /v1/Abo/TestClock/Advance`: moves the clock of a test business
//! forward (an Abo addition, outside ProAbono's names, like Stripe's test
//! clocks). Every effect that falls due on the way is carried out in date
//! order before the answer (`abo_engine::Engine::advance_clock`).
//!
//! Body (or query): `{"DateTarget": "2026-03-01T00:00:00Z"}` or
//! `{"Days": 30}` (30 × 24 h from the business's current clock). Answer:
//! `{"DateNow": ..., "JobsRun": n}`. A live business gets 403
//! `Error.Api.TestClock.NotATestBusiness`; a target before the clock, 422.

use super::auth::Caller;
use super::body::JsonBody;
use super::dates::format_us;
use super::error::{ApiError, ApiResult};
use super::params::Params;
use crate::AppState;
use abo_engine::{Engine, EngineError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;

/// The code of the 403 for a business that is not a test business.
pub const NOT_A_TEST_BUSINESS: &str = "Error.Api.TestClock.NotATestBusiness";

const DAY_US: i64 = 86_400_000_000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/abo/testclock/advance", post(post_advance))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvanceDto {
    pub date_now: String,
    pub jobs_run: u64,
}

async fn post_advance(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<AdvanceDto>> {
    if !caller.business.is_test {
        return Err(not_a_test_business(caller.business_id()));
    }
    let params = params.with_body(&body.0);
    let target = match (params.date("DateTarget")?, params.i64("Days")?) {
        (Some(date), None) => date,
        (None, Some(days)) => days
            .checked_mul(DAY_US)
            .and_then(|d| caller.now_us.checked_add(d))
            .ok_or_else(|| ApiError::invalid("Days", "Days is out of range"))?,
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "DateTarget",
                "give either DateTarget or Days, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "DateTarget",
                "DateTarget (a date) or Days (a number of days) is required",
            ));
        }
    };
    if target < caller.now_us {
        return Err(backwards(caller.now_us));
    }
    let engine = Engine::with_gateways(state.store.clone(), state.gateways.clone())
        .with_webhook_policy(state.webhooks);
    let worker = format!("api-test-clock-{}", caller.business_id());
    let real_now = state.clock.now().as_microsecond();
    let report = engine
        .advance_clock(caller.business_id(), target, real_now, &worker)
        .await
        .map_err(|e| match e {
            EngineError::NotATestBusiness(id) => not_a_test_business(id),
            EngineError::Backwards { .. } => backwards(caller.now_us),
            EngineError::Store(e) => ApiError::from(e),
            EngineError::Service(e) => ApiError::from(e),
        })?;
    Ok(Json(AdvanceDto {
        date_now: format_us(report.now_us),
        jobs_run: report.run.jobs_run,
    }))
}

fn not_a_test_business(id: i64) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        NOT_A_TEST_BUSINESS,
        format!("business {id} is not a test business: its clock cannot be moved"),
    )
}

fn backwards(now_us: i64) -> ApiError {
    ApiError::invalid(
        "DateTarget",
        format!(
            "the test clock cannot go backwards (it is {})",
            format_us(now_us)
        ),
    )
}
