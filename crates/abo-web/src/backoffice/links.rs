//! The back office's "send link" actions, as an admin API in the style of ProAbono's
//! Backoffice API (our addition), authenticated like API Live:
//!
//! - `GET /Distribution/Customers/{id}/Links?Kind=&IdSubscription=&IdInvoice=&IdOffer=` →
//!   the customer's hosted links `[{Kind, Href, HrefHosted, DateExpiration}]`: the one of
//!   `Kind`, or without it every kind that needs no target;
//! - `POST /Distribution/Customers/{id}/Links/Send {Kind, IdSubscription?, IdInvoice?,
//!   IdOffer?, Message?}` → 202 `{IdJob, Kind, To}`: the `HostedLinkSent` e-mail is queued in
//!   the outbox, once per request (`Idempotency-Key` header, else one per call).
//!
//! Unlike API Live's `hosted-*` links, these are what the customer is handed: `Href` points to
//! the merchant's integrated page (`?crylk=`) when the customer's segment sets one (spec §4);
//! `HrefHosted` is the hosted page itself. Paths are matched as spelled here and in lower case.

use crate::AppState;
use crate::api::auth::Caller;
use crate::api::body::JsonBody;
use crate::api::dates::format_us;
use crate::api::error::{ApiError, ApiResult};
use crate::api::params::Params;
use abo_mail::MailError;
use abo_mail::send_link::{self, LinkRequest, ShownLink};
use abo_store::StoreError;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    let paths: [(&str, axum::routing::MethodRouter<AppState>); 2] = [
        ("/Distribution/Customers/{id}/Links", get(show)),
        ("/Distribution/Customers/{id}/Links/Send", post(send)),
    ];
    for (path, method) in paths {
        router = router.route(path, method.clone());
        router = router.route(&path.to_ascii_lowercase(), method);
    }
    router
}

/// The longest `Idempotency-Key` accepted (it becomes part of the job's natural key).
const MAX_KEY_LEN: usize = 200;

impl From<MailError> for ApiError {
    fn from(err: MailError) -> ApiError {
        match err {
            MailError::Invalid { field, message } => ApiError::invalid(&field, message),
            MailError::Store(e) => e.into(),
            MailError::Service(e) => e.into(),
            other => ApiError::from(abo_service::ServiceError::Internal(other.to_string())),
        }
    }
}

/// A customer that is not the caller's (or does not exist) is ProAbono's 403.
fn customer_error(err: MailError) -> ApiError {
    match err {
        MailError::Store(StoreError::NotFound(_)) => ApiError::customer_unaccessible(),
        other => other.into(),
    }
}

fn customer_id(raw: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::invalid("Id", format!("{raw:?} is not a customer id")))
}

/// The request's kind and ids, from the query and (for POST) the body.
fn link_request(params: &Params, kind_required: bool) -> ApiResult<LinkRequest> {
    let kind = match params.str("Kind") {
        Some(name) => Some(send_link::parse_kind(name).ok_or_else(|| {
            ApiError::invalid(
                "Kind",
                format!(
                    "unknown Kind {name:?}; the kinds are {}",
                    send_link::kind_names()
                ),
            )
        })?),
        None if kind_required => {
            return Err(ApiError::invalid(
                "Kind",
                format!("Kind is required: one of {}", send_link::kind_names()),
            ));
        }
        None => None,
    };
    Ok(LinkRequest {
        kind,
        subscription_id: params.i64("IdSubscription")?,
        invoice_id: params.i64("IdInvoice")?,
        offer_id: params.i64("IdOffer")?,
        message: params.str("Message").map(str::to_owned),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LinkDto {
    kind: &'static str,
    /// What to hand the customer (the merchant's page with `?crylk=` when integrated).
    href: String,
    /// The hosted page itself.
    href_hosted: String,
    date_expiration: String,
}

impl From<ShownLink> for LinkDto {
    fn from(l: ShownLink) -> LinkDto {
        LinkDto {
            kind: send_link::kind_name(l.kind),
            href: l.href,
            href_hosted: l.hosted,
            date_expiration: format_us(l.expires_at_us),
        }
    }
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<LinkDto>>> {
    let id = customer_id(&id)?;
    let request = link_request(&Params::from_query(raw.as_deref().unwrap_or("")), false)?;
    let requests: Vec<LinkRequest> = match request.kind {
        Some(_) => vec![request],
        None => send_link::untargeted_kinds()
            .map(|kind| LinkRequest {
                kind: Some(kind),
                ..LinkRequest::default()
            })
            .collect(),
    };
    let mut conn = state.store.acquire().await?;
    let mut links = Vec::with_capacity(requests.len());
    for request in &requests {
        let shown = send_link::show(
            &mut conn,
            &state.public_url,
            caller.business_id(),
            id,
            request,
            caller.now_us,
        )
        .await
        .map_err(customer_error)?;
        links.push(shown.into());
    }
    Ok(Json(links))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SentDto {
    /// The outbox job that sends the e-mail.
    id_job: i64,
    kind: &'static str,
    to: String,
}

async fn send(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Response> {
    let id = customer_id(&id)?;
    let params = Params::from_query(raw.as_deref().unwrap_or("")).with_body(&body.0);
    let request = link_request(&params, true)?;
    let key = match headers.get("idempotency-key") {
        Some(value) => {
            let key = value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Idempotency-Key",
                        format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible characters"),
                    )
                })?;
            format!("key:{key}")
        }
        // No key: every call is a request of its own.
        None => format!("call:{:032x}", rand::random::<u128>()),
    };
    let mut conn = state.store.acquire().await?;
    let queued = send_link::enqueue(
        &mut conn,
        caller.business_id(),
        id,
        &request,
        &key,
        caller.now_us,
    )
    .await
    .map_err(customer_error)?;
    let kind = request.kind.map(send_link::kind_name).unwrap_or_default();
    Ok((
        StatusCode::ACCEPTED,
        Json(SentDto {
            id_job: queued.job_id,
            kind,
            to: queued.recipient,
        }),
    )
        .into_response())
}

/// These routes in the OpenAPI document served at `/v1/openapi.json`.
pub fn openapi_paths() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let kinds: Vec<&str> = abo_links::Purpose::ALL
        .into_iter()
        .map(send_link::kind_name)
        .collect();
    let id = json!({"name": "id", "in": "path", "required": true,
                    "description": "The customer's Id", "schema": {"type": "integer"}});
    let ids = json!({
        "IdSubscription": {"type": "integer", "description": "SubscribeCustom (a draft), Upgrade, Restart, RelatedSubscription, Options, Terminate, Register, CollectionUpgrade"},
        "IdInvoice": {"type": "integer", "description": "Charge, InvoicePdf"},
        "IdOffer": {"type": "integer", "description": "Subscribe"}
    });
    let errors = json!({
        "403": {"description": "Not a customer of this business (Error.Api.Customer.Unaccessible)"},
        "422": {"description": "Unknown Kind, a missing or foreign IdSubscription/IdInvoice/IdOffer (an array of {Code, Message, Target})"}
    });
    let mut show_responses = json!({
        "200": {"description": "The links", "content": {"application/json": {"schema": {
            "type": "array", "items": {"type": "object", "properties": {
                "Kind": {"type": "string", "enum": kinds},
                "Href": {"type": "string", "description": "What to hand the customer: the merchant's integrated page with ?crylk= when the segment sets one, else the hosted page"},
                "HrefHosted": {"type": "string", "description": "The hosted page itself"},
                "DateExpiration": {"type": "string", "format": "date-time"}
            }}
        }}}}
    });
    let mut send_responses = json!({
        "202": {"description": "The e-mail is queued in the outbox", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "IdJob": {"type": "integer"},
                "Kind": {"type": "string"},
                "To": {"type": "string"}
            }
        }}}}
    });
    for responses in [&mut show_responses, &mut send_responses] {
        for (status, answer) in errors.as_object().into_iter().flatten() {
            responses[status] = answer.clone();
        }
    }
    let mut show_params = vec![
        id.clone(),
        json!({"name": "Kind", "in": "query", "required": false,
        "description": "Without it: every link that needs no target", "schema": {"type": "string", "enum": kinds}}),
    ];
    for (name, schema) in ids.as_object().into_iter().flatten() {
        show_params.push(json!({"name": name, "in": "query", "required": false, "schema": schema}));
    }
    let mut body = json!({"Kind": {"type": "string", "enum": kinds},
                          "Message": {"type": "string", "description": "Printed above the button"}});
    for (name, schema) in ids.as_object().into_iter().flatten() {
        body[name] = schema.clone();
    }
    vec![
        (
            "/Distribution/Customers/{id}/Links",
            json!({"get": {
                "operationId": "aboCustomerLinks",
                "tags": ["Abo"],
                "summary": "A customer's hosted links, as the back office hands them out (Abo's addition)",
                "parameters": show_params,
                "responses": show_responses
            }}),
        ),
        (
            "/Distribution/Customers/{id}/Links/Send",
            json!({"post": {
                "operationId": "aboSendCustomerLink",
                "tags": ["Abo"],
                "summary": "E-mail a customer one of their hosted links (Abo's addition)",
                "description": "Queues the HostedLinkSent e-mail, sent once per request: give an Idempotency-Key to make retries safe (without one, every call sends).",
                "parameters": [id, {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": MAX_KEY_LEN}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["Kind"], "properties": body
                }}}},
                "responses": send_responses
            }}),
        ),
    ]
}
