//! Customer workflows (spec §3.2), under `/portal/s/{session}/wf/...`: choose a plan, subscribe
//! to an offer, subscribe to a custom subscription prepared by the merchant, change plan,
//! restart, change options, pay an invoice, register billing information and a payment method.
//!
//! Every workflow has the same shape, and forms work without JavaScript:
//! 1. **GET shows the quote** (`abo_service::quoting`: the real change run in a rolled-back
//!    transaction, so the amounts shown are the amounts then billed) and the payment step the
//!    customer will go through: pay now with the registered card, SEPA debit after notice,
//!    invoice payable offline, nothing to pay — or, when something is due and no method is
//!    registered, the portal's card / SEPA forms with `next=` back to this page (3-D Secure
//!    challenge included).
//! 2. **POST (CSRF-checked) commits** the change with the ordinary use case, then
//!    [`abo_service::workflows::settle`] bills what it wrote and charges the card at once.
//! 3. **The end**: a `303` to the segment's return URL with `from`, `outcome`, `idc`, `refo`,
//!    `idsub` (spec §3.5), or to the confirmation page `wf/done`.
//!
//! Every handler checks that the subscription, offer or invoice of the path belongs to the
//! session's customer (404 otherwise).

mod change_plan;
mod finish;
mod options;
mod pay;
mod plans;
mod quote_view;
mod register;
mod restart;
mod subscribe;

use axum::Router;
use axum::routing::get;

use crate::AppState;

/// The workflow routes, merged by `portal::routes`.
pub fn routes() -> Router<AppState> {
    let wf = "/portal/s/{session}/wf";
    Router::new()
        .route(&format!("{wf}/plans"), get(plans::page))
        .route(
            &format!("{wf}/subscribe/{{id}}"),
            get(subscribe::page).post(subscribe::submit),
        )
        .route(
            &format!("{wf}/subscribe-custom/{{id}}"),
            get(subscribe::custom_page).post(subscribe::custom_submit),
        )
        .route(
            &format!("{wf}/change-plan/{{id}}"),
            get(change_plan::page).post(change_plan::submit),
        )
        .route(
            &format!("{wf}/restart/{{id}}"),
            get(restart::page).post(restart::submit),
        )
        .route(
            &format!("{wf}/options/{{id}}"),
            get(options::page).post(options::submit),
        )
        .route(
            &format!("{wf}/pay/{{id}}"),
            get(pay::page).post(pay::submit),
        )
        .route(
            &format!("{wf}/register"),
            get(register::page).post(register::submit),
        )
        .route(&format!("{wf}/register/method"), get(register::method_page))
        .route(&format!("{wf}/register/done"), get(register::done_page))
        .route(&format!("{wf}/done"), get(finish::done_page))
        .route(
            &format!("{wf}/authenticate/{{id}}"),
            get(finish::challenge_page).post(finish::challenge_submit),
        )
}

/// A path with one numeric id (the `{session}` parameter is ignored).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct IdPath {
    pub id: i64,
}

/// A form with nothing but the CSRF token (consumed by `PortalForm`).
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct EmptyForm {}

#[cfg(test)]
mod tests {
    use crate::portal::i18n::is_known_key;

    /// Every string a workflow template or handler asks for is in the catalogue (both
    /// languages, checked by the catalogue's own tests).
    #[test]
    fn workflow_strings_are_known() {
        let dirs = [
            concat!(env!("CARGO_MANIFEST_DIR"), "/templates/workflows"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/portal/workflows"),
        ];
        for dir in dirs {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                for call in ["t(\"", "tf(\"", "\"wf."] {
                    for part in text.split(call).skip(1) {
                        let mut key = part.split('"').next().unwrap().to_owned();
                        if call == "\"wf." {
                            key = format!("wf.{key}");
                        }
                        if key.is_empty() || key == "wf." || key.contains(['{', ' ', '/', '\\']) {
                            continue;
                        }
                        assert!(is_known_key(&key), "{}: unknown key {key}", path.display());
                    }
                }
            }
        }
    }
}
