//! Billing information section: company or person, address, country, VAT number (format
//! checked by the customers use case), e-mail for invoices.

use abo_service::customers::BillingAddressInput;
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{NoticeQuery, notice};
use crate::portal::render::Chrome;
use crate::portal::{Ctx, PortalForm};

/// The form's fields (also what a failed POST shows back).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct BillingForm {
    /// `company` or `person`.
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
    pub address2: String,
    #[serde(default)]
    pub zip: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub vat: String,
    #[serde(default)]
    pub email: String,
}

#[derive(Template)]
#[template(path = "portal/billing.html")]
pub struct BillingPage {
    pub c: Chrome,
    pub f: BillingForm,
    pub errors: Vec<String>,
    pub is_company: bool,
}

fn from_customer(ctx: &Ctx) -> BillingForm {
    let a = &ctx.customer.billing_address;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    BillingForm {
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
        address2: s(&a.address_line2),
        zip: s(&a.zip_code),
        city: s(&a.city),
        country: s(&a.country),
        region: s(&a.region),
        phone: s(&a.phone),
        vat: s(&a.tax_information),
        email: s(&ctx.customer.email),
    }
}

/// `GET /portal/s/{session}/billing`.
pub async fn page(ctx: Ctx, Query(q): Query<NoticeQuery>) -> Response {
    let f = from_customer(&ctx);
    let mut c = ctx.chrome("billing");
    c.notice = notice(q.ok.as_deref());
    ctx.render(&BillingPage {
        c,
        is_company: f.kind == "company",
        f,
        errors: Vec::new(),
    })
}

fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// `POST /portal/s/{session}/billing`.
pub async fn save(PortalForm(ctx, f): PortalForm<BillingForm>) -> Response {
    let company = f.kind == "company";
    let input = BillingAddressInput {
        company: if company { opt(&f.company) } else { None },
        first_name: opt(&f.first_name),
        last_name: opt(&f.last_name),
        address_line1: opt(&f.address1),
        address_line2: opt(&f.address2),
        zip_code: opt(&f.zip),
        city: opt(&f.city),
        country: opt(&f.country.to_ascii_uppercase()),
        region: opt(&f.region),
        phone: opt(&f.phone),
        tax_information: opt(&f.vat),
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
        Ok(()) => ctx.redirect("billing?ok=billing"),
        Err(abo_service::ServiceError::Invalid(errors)) => {
            let page = BillingPage {
                c: ctx.chrome("billing"),
                is_company: company,
                f,
                errors,
            };
            ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => ctx.fail(e).into_response(),
    }
}
