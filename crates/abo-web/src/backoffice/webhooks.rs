//! ProAbono's Backoffice API for webhooks (spec §1.13), with the same HTTP
//! Basic authentication as `/v1`:
//!
//! - `POST /Notification/Webhooks {Url, Triggers}` → the webhook (inactive);
//!   `GET /Notification/Webhooks`; `GET|DELETE /Notification/Webhooks/{id}`;
//! - the handshake: `GET /Notification/Webhooks/{id}/Verification?sendCode=true`
//!   POSTs `{Code}` to the URL; `POST .../Verification?code=...` activates;
//! - `GET /Notification/Webhooks/Sample?TypeTrigger=...` → `{Data: "<json>"}`;
//! - the secret: `GET /Notification/Webhooks/Secret`, `POST .../Secret/Rotate`;
//! - the history: `GET /Notification/WebhookNotifications` (filters
//!   `IdWebhook`, `TypeTrigger`, `Status`), `GET .../{id}`, and
//!   `POST .../{id}/Retry`.
//!
//! Paths are matched as ProAbono spells them and in lower case.

use crate::AppState;
use crate::api::auth::Caller;
use crate::api::body::JsonBody;
use crate::api::dates::format_us;
use crate::api::error::{ApiError, ApiResult};
use crate::api::page::{self, Paging};
use crate::api::params::Params;
use abo_store::webhooks::{Delivery, DeliveryFilter, Endpoint};
use abo_webhooks::{WebhookError, endpoints, samples, secrets};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    let paths: [(&str, axum::routing::MethodRouter<AppState>); 8] = [
        ("/Notification/Webhooks", get(list).post(create)),
        ("/Notification/Webhooks/Sample", get(sample)),
        ("/Notification/Webhooks/Secret", get(secret)),
        ("/Notification/Webhooks/Secret/Rotate", post(rotate)),
        ("/Notification/Webhooks/{id}", get(show).delete(remove)),
        (
            "/Notification/Webhooks/{id}/Verification",
            get(send_code).post(verify),
        ),
        ("/Notification/WebhookNotifications", get(history)),
        ("/Notification/WebhookNotifications/{id}", get(notification)),
    ];
    for (path, method) in paths {
        router = router.route(path, method.clone());
        let lower = path.to_ascii_lowercase();
        if lower != path {
            router = router.route(&lower, method);
        }
    }
    router
        .route("/Notification/WebhookNotifications/{id}/Retry", post(retry))
        .route("/notification/webhooknotifications/{id}/retry", post(retry))
}

impl From<WebhookError> for ApiError {
    fn from(err: WebhookError) -> ApiError {
        match err {
            WebhookError::Store(e) => e.into(),
            WebhookError::Invalid(message) => ApiError::invalid("Webhook", message),
            WebhookError::InvalidUrl(message) => ApiError::invalid("Url", message),
            WebhookError::VerificationFailed(message) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Error.Webhook.Verification.Failed",
                message,
            ),
            WebhookError::WrongCode => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Error.Webhook.Verification.Code",
                "The verification code is wrong",
            ),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WebhookDto {
    id: i64,
    id_business: i64,
    url: String,
    triggers: Vec<String>,
    is_active: bool,
    /// ProAbono's back-office wording: `Active` or `PendingVerification`.
    state_webhook: &'static str,
    date_created: String,
    date_verified: Option<String>,
}

impl From<Endpoint> for WebhookDto {
    fn from(e: Endpoint) -> WebhookDto {
        WebhookDto {
            id: e.id,
            id_business: e.business_id,
            is_active: e.is_active(),
            state_webhook: if e.is_active() {
                "Active"
            } else {
                "PendingVerification"
            },
            url: e.url,
            triggers: e.triggers,
            date_created: format_us(e.date_created_us),
            date_verified: e.date_verified_us.map(format_us),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NotificationDto {
    id: i64,
    id_webhook: i64,
    /// The envelope's `Id`.
    id_trigger: String,
    type_trigger: String,
    date_trigger: String,
    /// `Pending`, `Delivered` or `Failed`.
    status: String,
    count_attempts: i64,
    last_http_status: Option<i64>,
    last_error: Option<String>,
    date_last_attempt: Option<String>,
    date_next_attempt: Option<String>,
    date_delivered: Option<String>,
    /// The body sent, exactly.
    payload: String,
}

impl From<Delivery> for NotificationDto {
    fn from(d: Delivery) -> NotificationDto {
        NotificationDto {
            id: d.id,
            id_webhook: d.endpoint_id,
            id_trigger: d.event_id,
            type_trigger: d.type_trigger,
            date_trigger: format_us(d.date_trigger_us),
            date_next_attempt: d
                .next_attempt_us
                .filter(|_| d.status == abo_store::webhooks::PENDING)
                .map(format_us),
            status: d.status,
            count_attempts: d.attempts,
            last_http_status: d.last_http_status,
            last_error: d.last_error,
            date_last_attempt: d.last_attempt_us.map(format_us),
            date_delivered: d.delivered_at_us.map(format_us),
            payload: d.payload,
        }
    }
}

fn id_of(raw: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::not_found("webhook not found"))
}

fn query(raw: &Option<String>) -> Params {
    Params::from_query(raw.as_deref().unwrap_or(""))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBody {
    url: Option<String>,
    #[serde(default)]
    triggers: Vec<String>,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> ApiResult<Response> {
    let body: CreateBody = body.parse()?;
    let url = body
        .url
        .ok_or_else(|| ApiError::invalid("Url", "Url is required"))?;
    let created = endpoints::create(
        &state.store,
        state.webhooks,
        caller.business_id(),
        &url,
        &body.triggers,
        caller.now_us,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(WebhookDto::from(created))).into_response())
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let paging = Paging::from_params(&query(&raw))?;
    let all = endpoints::list(&state.store, caller.business_id()).await?;
    let total = all.len() as i64;
    let request = paging.request();
    let items: Vec<WebhookDto> = all
        .into_iter()
        .skip(usize::try_from(request.offset).unwrap_or(0))
        .take(usize::try_from(request.limit).unwrap_or(0))
        .map(WebhookDto::from)
        .collect();
    Ok(page::respond(
        items,
        total,
        paging,
        "/Notification/Webhooks",
        "",
        caller.now_us,
    ))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookDto>> {
    let found = endpoints::get(&state.store, caller.business_id(), id_of(&id)?).await?;
    Ok(Json(found.into()))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    endpoints::delete(
        &state.store,
        caller.business_id(),
        id_of(&id)?,
        caller.now_us,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?sendCode=true` sends the code; without it, answers the webhook.
async fn send_code(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<WebhookDto>> {
    let id = id_of(&id)?;
    let endpoint = if query(&raw).bool("SendCode")?.unwrap_or(false) {
        endpoints::send_code(
            &state.store,
            state.webhooks,
            caller.business_id(),
            id,
            caller.now_us,
        )
        .await?
    } else {
        endpoints::get(&state.store, caller.business_id(), id).await?
    };
    Ok(Json(endpoint.into()))
}

async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: JsonBody,
) -> ApiResult<Json<WebhookDto>> {
    let params = query(&raw).with_body(&body.0);
    let code = params.required_str("Code")?.to_owned();
    let endpoint = endpoints::verify(
        &state.store,
        caller.business_id(),
        id_of(&id)?,
        &code,
        caller.now_us,
    )
    .await?;
    Ok(Json(endpoint.into()))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SampleDto {
    type_trigger: String,
    /// The envelope as a JSON string, as ProAbono answers.
    data: String,
}

async fn sample(_caller: Caller, RawQuery(raw): RawQuery) -> ApiResult<Json<SampleDto>> {
    let params = query(&raw);
    let trigger = params.required_str("TypeTrigger")?;
    let envelope = samples::sample(trigger).ok_or_else(|| {
        ApiError::invalid("TypeTrigger", format!("unknown TypeTrigger {trigger:?}"))
    })?;
    Ok(Json(SampleDto {
        type_trigger: envelope["TypeTrigger"].as_str().unwrap_or_default().into(),
        data: envelope.to_string(),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SecretDto {
    secret_key: String,
    date_rotated: Option<String>,
    /// Until when the previous key still signs (a second `v1=`).
    date_previous_key_expiry: Option<String>,
}

impl From<abo_store::webhooks::WebhookSecret> for SecretDto {
    fn from(s: abo_store::webhooks::WebhookSecret) -> SecretDto {
        SecretDto {
            date_rotated: s.rotated_at_us.map(format_us),
            date_previous_key_expiry: s.previous_until_us.map(format_us),
            secret_key: s.secret,
        }
    }
}

async fn secret(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<SecretDto>> {
    let s = secrets::secret(&state.store, caller.business_id(), caller.now_us).await?;
    Ok(Json(s.into()))
}

async fn rotate(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<SecretDto>> {
    let s = secrets::rotate(&state.store, caller.business_id(), caller.now_us).await?;
    Ok(Json(s.into()))
}

async fn history(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = query(&raw);
    let paging = Paging::from_params(&params)?;
    let filter = DeliveryFilter {
        endpoint_id: params.i64("IdWebhook")?,
        type_trigger: params.str("TypeTrigger").map(str::to_owned),
        status: params.str("Status").map(str::to_owned),
    };
    let found = endpoints::history(
        &state.store,
        caller.business_id(),
        &filter,
        paging.request(),
    )
    .await?;
    let items: Vec<NotificationDto> = found.items.into_iter().map(Into::into).collect();
    Ok(page::respond(
        items,
        found.total,
        paging,
        "/Notification/WebhookNotifications",
        "",
        caller.now_us,
    ))
}

async fn notification(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<NotificationDto>> {
    let found = endpoints::notification(&state.store, caller.business_id(), id_of(&id)?).await?;
    Ok(Json(found.into()))
}

async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<NotificationDto>)> {
    let found = endpoints::retry(
        &state.store,
        caller.business_id(),
        id_of(&id)?,
        caller.now_us,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(found.into())))
}
