//! Customers: `/v1/Customer`, `/v1/Customers` and the customer actions.

use super::auth::Caller;
use super::dates::format_us;
use super::error::ApiResult;
use super::links::{Link, LinkFamily, LinkSigner};
use super::params::Params;
use crate::AppState;
use abo_store::{customers, segments};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// The customer routes, in lower case (see `api::normalise_path`).
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/customer", get(get_customer))
}

/// The contract's `Customer`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerDto {
    pub id: i64,
    pub id_segment: i64,
    pub reference_customer: String,
    pub reference_segment: String,
    pub currency: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub status: String,
    pub reference_affiliation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_affiliation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    pub links: Vec<Link>,
}

impl CustomerDto {
    pub fn new(
        customer: &customers::Customer,
        segment: &segments::Segment,
        links: Vec<Link>,
    ) -> CustomerDto {
        CustomerDto {
            id: customer.id,
            id_segment: segment.id,
            reference_customer: customer.reference.clone(),
            reference_segment: segment.reference.clone(),
            currency: segment.currency.clone(),
            name: customer.name.clone(),
            email: customer.email.clone(),
            language: customer.language.clone(),
            status: customer.status.clone(),
            reference_affiliation: customer.reference_affiliation.clone(),
            date_affiliation: customer.date_affiliation_us.map(format_us),
            metadata: customer
                .metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok()),
            links,
        }
    }
}

/// The links of a customer: none once suspended (spec §1.3).
pub async fn customer_links(
    state: &AppState,
    caller: &Caller,
    customer: &customers::Customer,
) -> ApiResult<Vec<Link>> {
    let mut links = Vec::new();
    if customer.status == "Suspended" {
        return Ok(links);
    }
    let signer = LinkSigner::new(
        state,
        caller.business_id(),
        customer.id,
        customer.links_epoch,
        caller.now_us,
    )
    .await?;
    for family in [
        LinkFamily::Home,
        LinkFamily::CollectionOffers,
        LinkFamily::Register,
    ] {
        signer.push(&mut links, family, None);
    }
    Ok(links)
}

/// `GET /v1/Customer?ReferenceCustomer=`.
pub async fn get_customer(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Json<CustomerDto>> {
    let reference = params.required_str("ReferenceCustomer")?;
    let mut conn = state.store.acquire().await?;
    let segments = segments::list(&mut conn, caller.business_id()).await?;
    for segment in &segments {
        if let Some(customer) =
            customers::find_by_reference(&mut conn, caller.business_id(), segment.id, reference)
                .await?
        {
            drop(conn);
            let links = customer_links(&state, &caller, &customer).await?;
            return Ok(Json(CustomerDto::new(&customer, segment, links)));
        }
    }
    Err(super::error::ApiError::not_found(format!(
        "customer '{reference}' not found"
    )))
}
