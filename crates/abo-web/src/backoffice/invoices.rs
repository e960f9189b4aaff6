//! How an operator credits an invoice (spec §1.9: "invoices cannot be
//! deleted or modified: cancel (issues a credit note, Void) or refund
//! (credit note, PaidRefunded)"). ProAbono does this in its back office; Abo
//! adds two endpoints in the style of ProAbono's Backoffice API, with the
//! same HTTP Basic authentication as `/v1`:
//!
//! - `POST /Billing/Invoices/{id}/Cancel {Reason}`: an issued, unpaid invoice
//!   is voided by a credit note for its full amount;
//! - `POST /Billing/Invoices/{id}/Refund {Amount?, Reason}`: a paid invoice
//!   is refunded, all that remains (no `Amount`) or `Amount` minor units tax
//!   included, through the gateway that collected it or recorded for an
//!   offline payment.
//!
//! Both answer `201` with the credit note in the contract's `Invoice` shape
//! (`TypeCredit`, `Reason`), as `GET /v1/Invoice/{id}` shows it. Errors are
//! ProAbono's `{Code, Message}`: 404 unknown invoice, 409 a state that does
//! not allow it, 422 (a list) an amount above what remains refundable.
//! The use cases are `abo_service::billing::credit`.

use crate::AppState;
use crate::api::auth::Caller;
use crate::api::body::{JsonBody, lenient};
use crate::api::error::{ApiError, ApiResult};
use crate::api::invoices::{InvoiceDto, render};
use abo_service::ServiceError;
use abo_service::billing::credit::{self, RefundRequest};
use abo_service::billing::query;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/Billing/Invoices/{id}/Cancel", post(cancel))
        .route("/billing/invoices/{id}/cancel", post(cancel))
        .route("/Billing/Invoices/{id}/Refund", post(refund))
        .route("/billing/invoices/{id}/refund", post(refund))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CancelBody {
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RefundBody {
    #[serde(deserialize_with = "lenient::opt_i64")]
    amount: Option<i64>,
    reason: Option<String>,
}

/// A path id that is not a number names no invoice: 404.
fn invoice_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::not_found(format!("invoice '{raw}' not found")))
}

/// The use case's refusals, with a 422 about a field naming it (`Amount`,
/// `Reason`) as the API does for its own fields.
fn api_error(err: ServiceError) -> ApiError {
    match err {
        ServiceError::Invalid(messages) => {
            ApiError::merge(messages.into_iter().map(|m| match m.split_once(": ") {
                Some((field @ ("Amount" | "Reason"), message)) => ApiError::invalid(field, message),
                _ => ServiceError::invalid(m).into(),
            }))
            .unwrap_or_else(|| ApiError::invalid("Body", "invalid request"))
        }
        other => other.into(),
    }
}

async fn respond(
    state: &AppState,
    caller: &Caller,
    credit_note_id: i64,
) -> ApiResult<(StatusCode, Json<InvoiceDto>)> {
    let view = query::get_invoice(&state.store, caller.business_id(), credit_note_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(render(state, caller, &view).await?),
    ))
}

/// `POST /Billing/Invoices/{id}/Cancel`.
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<InvoiceDto>)> {
    let body: CancelBody = body.parse()?;
    let done = credit::cancel_invoice(
        &state.store,
        caller.business_id(),
        invoice_id(&id)?,
        body.reason.as_deref(),
        caller.now_us,
    )
    .await
    .map_err(api_error)?;
    respond(&state, &caller, done.credit_note.id).await
}

/// `POST /Billing/Invoices/{id}/Refund`.
async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<InvoiceDto>)> {
    let body: RefundBody = body.parse()?;
    let done = credit::refund_invoice(
        &state.store,
        &state.gateways,
        caller.business_id(),
        invoice_id(&id)?,
        &RefundRequest {
            amount: body.amount,
            reason: body.reason,
        },
        caller.now_us,
    )
    .await
    .map_err(api_error)?;
    respond(&state, &caller, done.credit_note.id).await
}

/// The two operations as `GET /v1/openapi.json` describes them (Abo's
/// additions, tagged `Abo`).
pub(crate) fn openapi_paths() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let id = json!({"name": "IdInvoice", "in": "path", "required": true,
                    "schema": {"type": "integer"}, "description": "The invoice to credit"});
    let created = json!({"description": "The credit note issued (TypeCredit, Reason)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invoice"}}}});
    let error = |what: &str| {
        json!({"description": what,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    };
    let reason = json!({"type": "string", "maxLength": credit::MAX_REASON_CHARS,
                        "description": "Why; printed on the credit note"});
    vec![
        (
            "/Billing/Invoices/{IdInvoice}/Cancel",
            json!({"post": {
                "operationId": "aboCancelInvoice",
                "tags": ["Abo"],
                "summary": "Cancel an unpaid invoice with a credit note (Abo's addition)",
                "description": "Issues a voiding credit note (TypeCredit Voiding) for the invoice's full amount; the invoice becomes Void, its balance lines Cancelled, its pending automatic collection stopped. A direct debit already sent to the bank (DuePending) cannot be stopped: refund once paid. Webhooks InvoiceCreditIssued and InvoiceDebitCancelled.",
                "parameters": [id.clone()],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"Reason": reason.clone()}
                }}}},
                "responses": {
                    "201": created.clone(),
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"},
                    "409": error("Not an issued, unpaid invoice"),
                    "422": {"$ref": "#/components/responses/ValidationErrors"}
                }
            }}),
        ),
        (
            "/Billing/Invoices/{IdInvoice}/Refund",
            json!({"post": {
                "operationId": "aboRefundInvoice",
                "tags": ["Abo"],
                "summary": "Refund a paid invoice, fully or in part, with a credit note (Abo's addition)",
                "description": "Issues a refund credit note (TypeCredit Refund) for Amount (minor units, tax included; absent: all that remains). Card and SEPA payments are refunded through their gateway; offline ones are recorded. Credit notes never add up to more than the invoice, which becomes PaidRefunded once fully credited. Webhooks InvoiceCreditIssued and InvoiceDebitRefunded.",
                "parameters": [id],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "Amount": {"type": "integer", "minimum": 1},
                        "Reason": reason
                    }
                }}}},
                "responses": {
                    "201": created,
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"},
                    "409": error("Not a paid invoice, or the gateway refused the refund"),
                    "422": {"$ref": "#/components/responses/ValidationErrors"}
                }
            }}),
        ),
    ]
}
