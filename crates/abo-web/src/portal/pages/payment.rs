//! Payment method section: what is registered (masked card with expiry, or SEPA mandate),
//! and the sandbox gateways' hosted forms to register or change it (card number, expiry,
//! CVC; IBAN with mandate acceptance), with a sandbox 3-D Secure challenge page and the grey
//! list ("You are not allowed to access the payment forms").
//!
//! Workflows reuse these forms: `payment-method/card?next=wf/...` comes back to `next` (a
//! `wf/` path of the same session) once the card is registered.

use abo_gateway::{CardDetails, DirectDebitDetails, PaymentDetails};
use abo_service::portal::payment::{self, RegisterOutcome};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{NoticeQuery, notice};
use crate::portal::render::Chrome;
use crate::portal::{Ctx, PortalForm};

/// Where to go after a registration: a workflow page of the same session, or the section.
fn next_or_section(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("wf/")
                && n.len() < 200
                && n.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'/' | b'-' | b'_' | b'?' | b'=' | b'&')
                }) =>
        {
            n.to_owned()
        }
        _ => "payment-method?ok=payment".to_owned(),
    }
}

/// The registered method as shown.
pub struct MethodView {
    /// `Card` or `DirectDebit`.
    pub kind: String,
    pub display: String,
    pub detail: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/payment.html")]
pub struct PaymentPage {
    pub c: Chrome,
    pub method: Option<MethodView>,
    pub grey_listed: bool,
}

/// `GET /portal/s/{session}/payment-method`.
pub async fn page(ctx: Ctx, Query(q): Query<NoticeQuery>) -> Response {
    let current = match payment::current(&ctx.state.store, ctx.business.id, ctx.customer.id).await {
        Ok(p) => p,
        Err(e) => return ctx.fail(e).into_response(),
    };
    let method = current.map(|p| {
        let detail = if p.type_payment == "Card" {
            p.date_expiration
                .as_deref()
                .and_then(|d| d.parse::<jiff::civil::Date>().ok())
                .map(|d| {
                    ctx.texts.fmt(
                        "pay.card_expires",
                        &[("date", &crate::portal::format::month_year(d, ctx.locale))],
                    )
                })
        } else {
            p.mandate_reference
                .as_deref()
                .map(|r| ctx.texts.fmt("pay.mandate", &[("reference", r)]))
        };
        MethodView {
            kind: p.type_payment.clone(),
            display: p.name_display.clone(),
            detail,
        }
    });
    let mut c = ctx.chrome("payment");
    c.notice = notice(q.ok.as_deref());
    ctx.render(&PaymentPage {
        c,
        method,
        grey_listed: ctx.customer.payment_settings.is_grey_listed,
    })
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/card.html")]
pub struct CardPage {
    pub c: Chrome,
    pub next: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/sepa.html")]
pub struct SepaPage {
    pub c: Chrome,
    pub next: Option<String>,
    pub error: Option<String>,
    pub holder: String,
    pub mandate_text: String,
}

#[derive(Template)]
#[template(path = "portal/greylisted.html")]
pub struct GreyListedPage {
    pub c: Chrome,
}

fn grey_listed(ctx: &Ctx) -> Response {
    ctx.render_status(
        StatusCode::FORBIDDEN,
        &GreyListedPage {
            c: ctx.chrome("payment"),
        },
    )
}

/// `GET /portal/s/{session}/payment-method/card`.
pub async fn card_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    if ctx.customer.payment_settings.is_grey_listed {
        return grey_listed(&ctx);
    }
    ctx.render(&CardPage {
        c: ctx.chrome("payment"),
        next: q.next,
        error: None,
    })
}

fn mandate_text(ctx: &Ctx) -> String {
    ctx.texts
        .fmt("pay.mandate_text", &[("merchant", &ctx.business.name)])
}

fn holder_default(ctx: &Ctx) -> String {
    let a = &ctx.customer.billing_address;
    [a.first_name.as_deref(), a.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `GET /portal/s/{session}/payment-method/sepa`.
pub async fn sepa_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    if ctx.customer.payment_settings.is_grey_listed {
        return grey_listed(&ctx);
    }
    ctx.render(&SepaPage {
        c: ctx.chrome("payment"),
        next: q.next,
        error: None,
        holder: holder_default(&ctx),
        mandate_text: mandate_text(&ctx),
    })
}

#[derive(Debug, serde::Deserialize)]
pub struct CardForm {
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub cvc: String,
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct SepaForm {
    #[serde(default)]
    pub iban: String,
    #[serde(default)]
    pub holder: String,
    /// The mandate checkbox (`on` when ticked; absent otherwise).
    #[serde(default)]
    pub accept: Option<String>,
    #[serde(default)]
    pub next: Option<String>,
}

/// What to answer after a registration attempt; `retry` re-renders the form with a message.
async fn after(
    ctx: &Ctx,
    result: abo_service::Result<RegisterOutcome>,
    next: Option<&str>,
    retry: impl Fn(String) -> Response,
) -> Response {
    match result {
        Ok(RegisterOutcome::Registered(_)) => ctx.redirect(&next_or_section(next)),
        Ok(RegisterOutcome::NeedsAuthentication {
            permission,
            verification_id,
        }) => {
            let mut rel = format!("payment-method/3ds/{}/{verification_id}", permission.id);
            if let Some(n) = next.filter(|n| n.starts_with("wf/")) {
                rel.push_str("?next=");
                rel.push_str(&percent(n));
            }
            ctx.redirect(&rel)
        }
        Ok(RegisterOutcome::Invalid(detail)) => {
            retry(ctx.texts.fmt("pay.invalid", &[("detail", &detail)]))
        }
        Ok(RegisterOutcome::Declined { grey_listed: true }) => grey_listed(ctx),
        Ok(RegisterOutcome::Declined { grey_listed: false }) => {
            retry(ctx.texts.get("pay.declined").to_owned())
        }
        Err(abo_service::ServiceError::Refused { .. }) => grey_listed(ctx),
        Err(e) => ctx.fail(e).into_response(),
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `POST /portal/s/{session}/payment-method/card`.
pub async fn card_submit(PortalForm(ctx, f): PortalForm<CardForm>) -> Response {
    let details = PaymentDetails::Card(CardDetails {
        number: f.number.clone(),
        expiry: f.expiry.clone(),
        cvc: f.cvc.clone(),
        country: ctx.customer.billing_address.country.clone(),
    });
    let result = payment::register(
        &ctx.state.store,
        &ctx.state.gateways,
        ctx.business.id,
        ctx.customer.id,
        &details,
        ctx.now_us,
    )
    .await;
    let next = f.next.clone();
    after(&ctx, result, f.next.as_deref(), |error| {
        ctx.render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CardPage {
                c: ctx.chrome("payment"),
                next: next.clone(),
                error: Some(error),
            },
        )
    })
    .await
}

/// `POST /portal/s/{session}/payment-method/sepa`.
pub async fn sepa_submit(PortalForm(ctx, f): PortalForm<SepaForm>) -> Response {
    let details = PaymentDetails::DirectDebit(DirectDebitDetails {
        iban: f.iban.clone(),
        holder_name: f.holder.clone(),
        mandate_accepted: f.accept.as_deref().is_some_and(|v| !v.is_empty()),
    });
    let result = payment::register(
        &ctx.state.store,
        &ctx.state.gateways,
        ctx.business.id,
        ctx.customer.id,
        &details,
        ctx.now_us,
    )
    .await;
    let next = f.next.clone();
    let holder = f.holder.clone();
    after(&ctx, result, f.next.as_deref(), |error| {
        ctx.render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SepaPage {
                c: ctx.chrome("payment"),
                next: next.clone(),
                error: Some(error),
                holder: holder.clone(),
                mandate_text: mandate_text(&ctx),
            },
        )
    })
    .await
}

#[derive(serde::Deserialize)]
pub struct ChallengePath {
    pub permission: i64,
    pub verification: String,
}

#[derive(Template)]
#[template(path = "portal/challenge.html")]
pub struct ChallengePage {
    pub c: Chrome,
    pub action: String,
    pub next: Option<String>,
}

/// `GET /portal/s/{session}/payment-method/3ds/{permission}/{verification}`: the sandbox
/// bank's 3-D Secure page.
pub async fn challenge_page(
    ctx: Ctx,
    Path(p): Path<ChallengePath>,
    Query(q): Query<NextQuery>,
) -> Response {
    let action = ctx.url(&format!(
        "payment-method/3ds/{}/{}",
        p.permission,
        percent(&p.verification)
    ));
    ctx.render(&ChallengePage {
        c: ctx.chrome("payment"),
        action,
        next: q.next,
    })
}

#[derive(Debug, serde::Deserialize)]
pub struct ChallengeForm {
    /// `approve` or `refuse`.
    #[serde(default)]
    pub answer: String,
    #[serde(default)]
    pub next: Option<String>,
}

/// `POST /portal/s/{session}/payment-method/3ds/{permission}/{verification}`.
pub async fn challenge_submit(
    Path(p): Path<ChallengePath>,
    PortalForm(ctx, f): PortalForm<ChallengeForm>,
) -> Response {
    let result = payment::complete_authentication(
        &ctx.state.store,
        &ctx.state.gateways,
        ctx.business.id,
        ctx.customer.id,
        p.permission,
        &p.verification,
        f.answer == "approve",
        ctx.now_us,
    )
    .await;
    let next = f.next.clone();
    after(&ctx, result, f.next.as_deref(), |_| {
        ctx.render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CardPage {
                c: ctx.chrome("payment"),
                next: next.clone(),
                error: Some(ctx.texts.get("tds.failed").to_owned()),
            },
        )
    })
    .await
}
