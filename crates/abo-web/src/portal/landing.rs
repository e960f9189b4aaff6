//! Link landing: every hosted path of `abo_links::Purpose` (`/portal-auth/{token}`,
//! `/pay-invoice/{token}`, ...). The token is verified (signature, business, expiry, the
//! customer's links epoch, the customer's status); on success a portal session starts and
//! the browser is sent (`303`) to the page inside the session, except for the invoice PDF,
//! which is served directly (`application/pdf`).
//!
//! Failures render the error page: malformed/forged → 400 "invalid", expired → 410,
//! revoked → 403, suspended customer → 403. Expiry is checked after the signature, so an
//! attacker cannot learn anything from a forged token, and an expired genuine link gets its
//! segment's framing policy and the customer's language.

use abo_core::Locale;
use abo_links::{LinkClaims, LinkError, Purpose};
use abo_store::{businesses, customers};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::context::{SESSION_PREFIX, start_session};
use super::error::{ErrorKind, PortalError};
use super::i18n;
use super::look::CSP_SELF_ONLY;
use super::render::see_other;
use crate::AppState;

/// One route per hosted path prefix.
pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for purpose in Purpose::ALL {
        let path = format!("{}{{token}}", purpose.path_prefix());
        r = r.route(
            &path,
            get(
                move |state: State<AppState>, token: Path<String>, headers: HeaderMap| {
                    land(purpose, state, token, headers)
                },
            ),
        );
    }
    r
}

/// Where a link lands inside the session, relative to `/portal/s/{session}/`.
///
/// The `wf/...` pages belong to the workflows (`portal::workflows`).
pub fn session_target(purpose: Purpose, target: Option<i64>) -> String {
    let t = target.unwrap_or_default();
    match (purpose, target) {
        (Purpose::Home, _) => "home".into(),
        (Purpose::CollectionOffers, _) => "offers".into(),
        (Purpose::RelatedSubscription, Some(_)) => format!("subscriptions/{t}"),
        (Purpose::RelatedSubscription, None) => "home".into(),
        (Purpose::Terminate, Some(_)) => format!("subscriptions/{t}/terminate"),
        (Purpose::Terminate, None) => "home".into(),
        (Purpose::CollectionInvoices, _) => "invoices".into(),
        (Purpose::InvoicePdf, _) => format!("invoices/{t}/pdf"),
        (Purpose::PaymentMethod, _) => "payment-method".into(),
        (Purpose::BillingAddress, _) => "billing".into(),
        (Purpose::Options, Some(_)) => format!("wf/options/{t}"),
        (Purpose::Options, None) => "home".into(),
        (Purpose::Subscribe, _) => format!("wf/subscribe/{t}"),
        (Purpose::SubscribeCustom, _) => format!("wf/subscribe-custom/{t}"),
        (Purpose::Register, Some(_)) => format!("wf/register?subscription={t}"),
        (Purpose::Register, None) => "wf/register".into(),
        (Purpose::CollectionUpgrade, Some(_)) => format!("wf/plans?subscription={t}"),
        (Purpose::CollectionUpgrade, None) => "wf/plans".into(),
        (Purpose::Upgrade, _) => format!("wf/change-plan/{t}"),
        (Purpose::Restart, _) => format!("wf/restart/{t}"),
        (Purpose::Charge, _) => format!("wf/pay/{t}"),
    }
}

async fn land(
    purpose: Purpose,
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let accept = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let fallback = i18n::from_accept_language(accept);
    match verify_link(&state, purpose, &token, fallback).await {
        Ok((claims, customer)) => enter(&state, purpose, claims, customer, fallback).await,
        Err(e) => e.into_response(),
    }
}

/// Verifies a hosted link. Returns the claims and the customer, or the error page to show.
pub async fn verify_link(
    state: &AppState,
    purpose: Purpose,
    token: &str,
    fallback: Locale,
) -> Result<(LinkClaims, customers::Customer), PortalError> {
    let invalid = || PortalError::new(ErrorKind::InvalidLink, fallback);
    let header = abo_links::peek_header(token).map_err(|_| invalid())?;
    let ring = state
        .keyrings
        .get(state, header.business_id)
        .await
        .map_err(|_| invalid())?;
    // Signature first, expiry afterwards (so an expired link still tells us its customer):
    // `i64::MIN` as "now" makes `verify` check everything but the lifetime.
    let claims = match ring.verify(token, i64::MIN) {
        Ok(c) => c,
        Err(LinkError::Expired) => return Err(invalid()),
        Err(_) => return Err(invalid()),
    };
    if claims.purpose != purpose || claims.business_id != header.business_id {
        return Err(invalid());
    }
    let mut conn = state
        .store
        .acquire()
        .await
        .map_err(|e| PortalError::internal(e, fallback))?;
    let business = businesses::get(&mut conn, claims.business_id)
        .await
        .map_err(|_| invalid())?;
    let customer = customers::get(&mut conn, claims.business_id, claims.customer_id)
        .await
        .map_err(|_| invalid())?;
    drop(conn);
    let look = state
        .portal
        .looks
        .get(state, business.id, customer.segment_id)
        .await
        .map_err(|e| PortalError::internal(e, fallback))?;
    let locale = i18n::choose_locale(
        customer.language.as_deref(),
        Some(look.segment.locale.as_str()),
        Some(business.default_language.as_str()),
    );
    let fail = |kind| Err(PortalError::new(kind, locale).with_look(look.clone()));
    let now_s = state.now_us(&business).div_euclid(1_000_000);
    if now_s >= claims.expires_at {
        return fail(ErrorKind::ExpiredLink);
    }
    match claims.check_scope(business.id, abo_service::customers::links_epoch(&customer)) {
        Ok(()) => {}
        Err(LinkError::Revoked) => return fail(ErrorKind::RevokedLink),
        Err(_) => return fail(ErrorKind::InvalidLink),
    }
    if !abo_service::customers::can_open_links(&customer) {
        return fail(ErrorKind::Suspended);
    }
    Ok((claims, customer))
}

async fn enter(
    state: &AppState,
    purpose: Purpose,
    claims: LinkClaims,
    customer: customers::Customer,
    fallback: Locale,
) -> Response {
    let Some(session) = start_session(state, &customer).await else {
        return PortalError::internal("no session key", fallback).into_response();
    };
    let csp = match state
        .portal
        .looks
        .get(state, customer.business_id, customer.segment_id)
        .await
    {
        Ok(look) => look.csp.clone(),
        Err(_) => CSP_SELF_ONLY.to_owned(),
    };
    let rel = session_target(purpose, claims.target_id);
    if purpose == Purpose::InvoicePdf {
        // The PDF itself, not a page: a download link in an e-mail must give the file.
        return super::pages::invoices::pdf_for(state, &customer, claims.target_id, fallback).await;
    }
    see_other(&format!("{SESSION_PREFIX}{session}/{rel}"), &csp)
}
