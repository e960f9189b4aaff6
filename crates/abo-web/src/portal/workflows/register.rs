//! Register billing information and a payment method (`wf/register[?subscription=]`): the
//! billing address form, then the card or SEPA form (the portal's, 3-D Secure included), then
//! — for a subscription waiting for them (`DraftCustomer`, or a custom draft) — its quote and
//! start; otherwise the workflow ends with `outcome=registered`.

use abo_service::customers::BillingAddressInput;
use abo_service::workflows::{Outcome, Settlement};
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::finish::finish;
use super::quote_view::PayView;
use crate::portal::render::Chrome;
use crate::portal::{Ctx, PortalForm};

#[derive(Debug, Default, serde::Deserialize)]
pub struct RegisterQuery {
    pub subscription: Option<i64>,
}

/// The billing form (field names as the portal's billing section).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct BillingForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub address1: String,
    #[serde(default)]
    pub zip: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub vat: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub subscription: Option<i64>,
}

#[derive(Template)]
#[template(path = "workflows/register.html")]
pub struct RegisterPage {
    pub c: Chrome,
    pub f: BillingForm,
    pub is_company: bool,
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "workflows/register_method.html")]
pub struct MethodPage {
    pub c: Chrome,
    pub pay: PayView,
    pub continue_url: String,
}

fn suffix(subscription: Option<i64>) -> String {
    subscription.map_or(String::new(), |s| format!("?subscription={s}"))
}

/// `GET wf/register[?subscription=]`.
pub async fn page(ctx: Ctx, Query(q): Query<RegisterQuery>) -> Response {
    let a = &ctx.customer.billing_address;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let f = BillingForm {
        kind: if a.company.is_some() {
            "company"
        } else {
            "person"
        }
        .into(),
        company: s(&a.company),
        first_name: s(&a.first_name),
        last_name: s(&a.last_name),
        address1: s(&a.address_line1),
        zip: s(&a.zip_code),
        city: s(&a.city),
        country: s(&a.country),
        vat: s(&a.tax_information),
        email: s(&ctx.customer.email),
        subscription: q.subscription,
    };
    ctx.render(&RegisterPage {
        c: ctx.chrome("billing"),
        is_company: f.kind == "company",
        f,
        errors: Vec::new(),
    })
}

fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// `POST wf/register`: saves the billing information, then the payment method step.
pub async fn submit(PortalForm(ctx, f): PortalForm<BillingForm>) -> Response {
    let company = f.kind == "company";
    let input = BillingAddressInput {
        company: if company { opt(&f.company) } else { None },
        first_name: opt(&f.first_name),
        last_name: opt(&f.last_name),
        address_line1: opt(&f.address1),
        zip_code: opt(&f.zip),
        city: opt(&f.city),
        country: opt(&f.country.to_ascii_uppercase()),
        tax_information: opt(&f.vat),
        ..BillingAddressInput::default()
    };
    match abo_service::portal::billing::save(
        &ctx.state.store,
        ctx.business.id,
        ctx.customer.id,
        &input,
        Some(f.email.as_str()),
        ctx.now_us,
    )
    .await
    {
        Ok(()) => ctx.redirect(&format!("wf/register/method{}", suffix(f.subscription))),
        Err(abo_service::ServiceError::Invalid(errors)) => ctx.render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &RegisterPage {
                c: ctx.chrome("billing"),
                is_company: company,
                f,
                errors,
            },
        ),
        Err(e) => ctx.fail(e).into_response(),
    }
}

/// `GET wf/register/method[?subscription=]`: the card or SEPA forms, back to `done`.
pub async fn method_page(ctx: Ctx, Query(q): Query<RegisterQuery>) -> Response {
    let done = format!("wf/register/done{}", suffix(q.subscription));
    // Offer the forms whatever is registered (the customer may change it).
    let mut pay = PayView::new(&ctx, 1, &done).await;
    pay.needs_method = true;
    ctx.render(&MethodPage {
        c: ctx.chrome("payment"),
        pay,
        continue_url: ctx.url(&done),
    })
}

/// `GET wf/register/done[?subscription=]`: a waiting subscription goes on to its quote and
/// start; otherwise the workflow ends (`registered` when a method is there).
pub async fn done_page(ctx: Ctx, Query(q): Query<RegisterQuery>) -> Response {
    if let Some(id) = q.subscription {
        return ctx.redirect(&format!("wf/subscribe-custom/{id}"));
    }
    let registered = ctx.customer.payment_settings.type_payment != "Free";
    let outcome = if registered {
        Outcome::Registered
    } else {
        Outcome::NoCharge
    };
    let s = Settlement {
        outcome,
        invoice_id: None,
        declined: false,
        needs_authentication: false,
    };
    finish(&ctx, "permission", s, None, None).await
}
