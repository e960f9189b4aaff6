//! The portal's sections (spec §3.1), each adapting to the customer's situation:
//! subscriptions (and the offers when there are none), invoices, billing information,
//! payment method.

pub mod billing;
pub mod invoices;
pub mod offers;
pub mod payment;
pub mod subscriptions;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// Confirmations shown after a form (`?ok=<code>`), as catalogue keys. Only these codes are
/// accepted, so a crafted URL cannot print arbitrary text.
pub fn notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "billing" => Some("bill.saved"),
        "payment" => Some("pay.registered"),
        "terminated" => Some("subs.terminate_done"),
        "uncancelled" => Some("term.cancelled"),
        _ => None,
    }
}

/// The optional `?ok=` of a page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoticeQuery {
    pub ok: Option<String>,
}

pub fn routes() -> Router<AppState> {
    let s = "/portal/s/{session}";
    Router::new()
        .route(&format!("{s}/home"), get(subscriptions::home))
        .route(
            &format!("{s}/subscriptions/{{id}}"),
            get(subscriptions::detail),
        )
        .route(
            &format!("{s}/subscriptions/{{id}}/terminate"),
            get(subscriptions::terminate_page).post(subscriptions::terminate),
        )
        .route(
            &format!("{s}/subscriptions/{{id}}/cancel-termination"),
            post(subscriptions::cancel_termination),
        )
        .route(&format!("{s}/offers"), get(offers::page))
        .route(&format!("{s}/invoices"), get(invoices::list))
        .route(&format!("{s}/invoices/{{id}}/pdf"), get(invoices::pdf))
        .route(
            &format!("{s}/billing"),
            get(billing::page).post(billing::save),
        )
        .route(&format!("{s}/payment-method"), get(payment::page))
        .route(
            &format!("{s}/payment-method/card"),
            get(payment::card_page).post(payment::card_submit),
        )
        .route(
            &format!("{s}/payment-method/sepa"),
            get(payment::sepa_page).post(payment::sepa_submit),
        )
        .route(
            &format!("{s}/payment-method/3ds/{{permission}}/{{verification}}"),
            get(payment::challenge_page).post(payment::challenge_submit),
        )
}
