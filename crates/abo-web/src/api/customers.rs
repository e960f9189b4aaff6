//! Customers: `/v1/Customer`, `/v1/Customers`, the customer actions
//! (`/v1/Customer/{Anonymization,LinksRevokation,Invalidation,Suspension}`), the billing
//! address (`/v1/CustomerAddressBilling`, alias `/v1/CustomerBillingAddress`) and the payment
//! settings (`/v1/CustomerSettingsPayment`).
//!
//! Handlers only translate: identifiers and flags come from the query or, as N8N sends them,
//! from the body; the decisions are in `abo_service::customers`. Where the contract and the
//! clients disagree:
//! - an unknown customer is a 404 on the customer operations, and a 403
//!   `Error.Api.Customer.Unaccessible` on the billing address and payment settings (what the
//!   contract documents there). A customer of another business is answered exactly like an
//!   unknown one, so a tenant cannot probe another's references;
//! - `Links` carry both vocabularies (spec §2.7): legacy `hosted-*` with absolute hrefs (PHP
//!   library, demo site) and current `insite-*`; a suspended customer, and the answer to an
//!   invalidation or suspension, carry `Links: []` (N8N iterates `Links` unconditionally);
//! - absent text fields are omitted rather than `null`, since the contract types `Name`,
//!   `Email` and `Language` as non-nullable strings.

use super::auth::Caller;
use super::body::JsonBody;
use super::dates::{self, format_us};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::links::{Link, LinkFamily, LinkSigner};
use super::page::{self, Paging};
use super::params::Params;
use crate::AppState;
use abo_service::ServiceError;
use abo_service::customers::{
    self as uc, BillingAddressInput, CustomerInput, CustomerKey, CustomerView, ListQuery,
    PaymentSettingsInput, SegmentSelector,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};

/// The customer routes, in lower case (see `api::normalise_path`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/customer", get(get_customer).post(upsert_customer))
        .route("/v1/customers", get(list_customers))
        .route("/v1/customer/anonymization", post(anonymize))
        .route("/v1/customer/linksrevokation", post(revoke_links))
        .route("/v1/customer/invalidation", post(invalidate))
        .route("/v1/customer/suspension", post(suspend))
        .route("/v1/abo/customer/enabling", post(enable))
        .route(
            "/v1/customeraddressbilling",
            get(get_billing_address).post(update_billing_address),
        )
        // The spelling of the PHP library, NET2 and N8N (spec §2.5).
        .route(
            "/v1/customerbillingaddress",
            get(get_billing_address).post(update_billing_address),
        )
        .route(
            "/v1/customersettingspayment",
            get(get_payment_settings).post(update_payment_settings),
        )
}

// ----- DTOs ------------------------------------------------------------------------------------

/// The contract's `Customer`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerDto {
    pub id: i64,
    pub id_segment: i64,
    pub reference_customer: String,
    pub reference_segment: String,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_affiliation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_affiliation: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// `None` in lists (ProAbono's list items carry none, and signing links for a thousand
    /// customers nobody opens costs for nothing); `Some(vec![])` when links are withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<Link>>,
}

impl CustomerDto {
    pub fn new(view: &CustomerView, links: Option<Vec<Link>>) -> CustomerDto {
        let c = &view.customer;
        CustomerDto {
            id: c.id,
            id_segment: view.segment.id,
            reference_customer: c.reference.clone(),
            reference_segment: view.segment.reference.clone(),
            currency: view.segment.currency.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            language: c.language.clone(),
            status: c.status.clone(),
            reference_affiliation: c.reference_affiliation.clone(),
            date_affiliation: c.date_affiliation_us.map(format_us),
            metadata: view.metadata(),
            links,
        }
    }
}

/// The contract's `CustomerAddressBilling` (every field nullable).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BillingAddressDto {
    pub company: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub zip_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub phone: Option<String>,
    pub tax_information: Option<String>,
}

impl BillingAddressDto {
    fn new(view: &CustomerView) -> BillingAddressDto {
        let a = view.customer.billing_address.clone();
        BillingAddressDto {
            company: a.company,
            first_name: a.first_name,
            last_name: a.last_name,
            address_line1: a.address_line1,
            address_line2: a.address_line2,
            zip_code: a.zip_code,
            city: a.city,
            country: a.country,
            region: a.region,
            phone: a.phone,
            tax_information: a.tax_information,
        }
    }
}

/// The contract's `CustomerPaymentSettings`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PaymentSettingsDto {
    pub type_payment: String,
    pub mode_billing: String,
    pub is_grey_listed: bool,
    pub note_invoice: Option<String>,
    pub date_next_billing: Option<String>,
}

impl PaymentSettingsDto {
    fn new(view: &CustomerView) -> PaymentSettingsDto {
        let p = &view.customer.payment_settings;
        PaymentSettingsDto {
            type_payment: p.type_payment.clone(),
            mode_billing: p.mode_billing.clone(),
            is_grey_listed: p.is_grey_listed,
            note_invoice: p.note_invoice.clone(),
            date_next_billing: p.date_next_billing_us.map(format_us),
        }
    }
}

// ----- links and errors -----------------------------------------------------------------------

/// The links of a customer: portal home, offer catalogue, registration, and the subscribe
/// page of the requested offer, each as `hosted-*` and `insite-*`. None when the customer
/// may not open hosted pages (suspended).
pub async fn customer_links(
    state: &AppState,
    caller: &Caller,
    view: &CustomerView,
) -> ApiResult<Vec<Link>> {
    let mut links = Vec::new();
    if !view.links_allowed() {
        return Ok(links);
    }
    let signer = LinkSigner::new(
        state,
        caller.business_id(),
        view.customer.id,
        i64::from(view.links_epoch()),
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
    if let Some(offer_id) = view.offer_id {
        signer.push(&mut links, LinkFamily::Subscribe, Some(offer_id));
    }
    Ok(links)
}

async fn with_links(
    state: &AppState,
    caller: &Caller,
    view: &CustomerView,
) -> ApiResult<CustomerDto> {
    let links = customer_links(state, caller, view).await?;
    Ok(CustomerDto::new(view, Some(links)))
}

/// Service errors, with each validation message (`"Field: problem"`) turned into a
/// `{Code: "Error.Api.Validation.Field", Message, Target: "Field"}` entry of the 422 array.
fn service_error(err: ServiceError) -> ApiError {
    match err {
        ServiceError::Invalid(messages) => ApiError::Validation(
            messages
                .into_iter()
                .map(|message| {
                    let field = message
                        .split_once(": ")
                        .map(|(f, _)| f)
                        .filter(|f| {
                            !f.is_empty()
                                && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
                        })
                        .map(|f| f.split('.').next().unwrap_or(f).to_string());
                    ErrorBody {
                        code: match &field {
                            Some(f) => format!("Error.Api.Validation.{f}"),
                            None => "Error.Api.Validation".into(),
                        },
                        message,
                        target: field,
                    }
                })
                .collect(),
        ),
        other => other.into(),
    }
}

/// On the billing address and payment settings the contract answers an unknown customer
/// with 403 `Error.Api.Customer.Unaccessible`.
fn unaccessible_if_missing(err: ServiceError) -> ApiError {
    match err {
        ServiceError::NotFound(_) => ApiError::customer_unaccessible(),
        other => service_error(other),
    }
}

// ----- request reading ---------------------------------------------------------------------------

/// Reads request fields from the JSON body (any key case), falling back to the query, and
/// records one 422 entry per field of the wrong type instead of stopping at the first.
struct Fields<'a> {
    body: Map<String, Value>,
    params: &'a Params,
    errors: Vec<ApiError>,
}

impl<'a> Fields<'a> {
    fn new(body: &JsonBody, params: &'a Params) -> Fields<'a> {
        let mut errors = Vec::new();
        let body = match &body.0 {
            Value::Object(map) => map.clone(),
            Value::Null => Map::new(),
            _ => {
                errors.push(ApiError::invalid("Body", "the body must be a JSON object"));
                Map::new()
            }
        };
        Fields {
            body,
            params,
            errors,
        }
    }

    fn raw(&self, name: &str) -> Option<&Value> {
        self.body
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    fn wrong(&mut self, name: &str, expected: &str) {
        self.errors.push(ApiError::invalid(
            name,
            format!("{name} must be {expected}"),
        ));
    }

    /// A string. References may come as numbers (PHP sends integer user ids as they are).
    fn text_or_number(&mut self, name: &str) -> Option<String> {
        match self.raw(name).cloned() {
            None => self.params.str(name).map(str::to_owned),
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                self.wrong(name, "a string");
                None
            }
        }
    }

    fn text(&mut self, name: &str) -> Option<String> {
        match self.raw(name).cloned() {
            None => self.params.str(name).map(str::to_owned),
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.wrong(name, "a string");
                None
            }
        }
    }

    fn int(&mut self, name: &str) -> Option<i64> {
        match self.raw(name).cloned() {
            None => match self.params.i64(name) {
                Ok(v) => v,
                Err(e) => {
                    self.errors.push(e);
                    None
                }
            },
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            Some(_) => {
                self.wrong(name, "an integer");
                None
            }
        }
    }

    fn flag(&mut self, name: &str) -> Option<bool> {
        match self.raw(name).cloned() {
            None => match self.params.bool(name) {
                Ok(v) => v,
                Err(e) => {
                    self.errors.push(e);
                    None
                }
            },
            Some(Value::Bool(b)) => Some(b),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Some(true),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Some(false),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" => None,
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => {
                    self.wrong(name, "true or false");
                    None
                }
            },
            Some(_) => {
                self.wrong(name, "true or false");
                None
            }
        }
    }

    fn date(&mut self, name: &str) -> Option<i64> {
        match self.raw(name).cloned() {
            None => match self.params.date(name) {
                Ok(v) => v,
                Err(e) => {
                    self.errors.push(e);
                    None
                }
            },
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => match dates::parse(&s) {
                Some(us) => Some(us),
                None => {
                    self.wrong(name, "an ISO 8601 date-time");
                    None
                }
            },
            Some(_) => {
                self.wrong(name, "an ISO 8601 date-time");
                None
            }
        }
    }

    /// An object, passed on untouched (the use case checks its pairs).
    fn object(&mut self, name: &str) -> Option<Value> {
        match self.raw(name).cloned() {
            Some(Value::Object(map)) => Some(Value::Object(map)),
            None => None,
            Some(_) => {
                self.wrong(name, "an object of key/value pairs");
                None
            }
        }
    }

    fn segment(&mut self) -> SegmentSelector {
        SegmentSelector {
            reference: self.text_or_number("ReferenceSegment"),
            id: self.int("IdSegment"),
        }
    }

    /// The customer named by the request; `ReferenceCustomer` is required.
    fn key(&mut self) -> Option<CustomerKey> {
        let reference = self.text_or_number("ReferenceCustomer");
        let segment = self.segment();
        match reference.filter(|r| !r.trim().is_empty()) {
            Some(r) => Some(CustomerKey::new(r).in_segment(segment)),
            None => {
                self.errors.push(ApiError::invalid(
                    "ReferenceCustomer",
                    "ReferenceCustomer is required",
                ));
                None
            }
        }
    }

    /// Every problem found so far as one 422.
    fn finish(self) -> ApiResult<()> {
        match ApiError::merge(self.errors) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The customer named by query parameters only (GET requests).
fn key_from_query(params: &Params) -> ApiResult<CustomerKey> {
    let body = JsonBody(Value::Null);
    let mut fields = Fields::new(&body, params);
    let key = fields.key();
    fields.finish()?;
    key.ok_or_else(|| ApiError::invalid("ReferenceCustomer", "ReferenceCustomer is required"))
}

/// Same, for POST requests: the query, else the body (N8N).
fn key_from(params: &Params, body: &JsonBody) -> ApiResult<CustomerKey> {
    let mut fields = Fields::new(body, params);
    let key = fields.key();
    fields.finish()?;
    key.ok_or_else(|| ApiError::invalid("ReferenceCustomer", "ReferenceCustomer is required"))
}

// ----- handlers --------------------------------------------------------------------------------

/// `GET /v1/Customer?ReferenceCustomer=[&ReferenceOffer=]`.
pub async fn get_customer(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Json<CustomerDto>> {
    let key = key_from_query(&params)?;
    let view = uc::get(
        &state.store,
        caller.business_id(),
        &key,
        params.str("ReferenceOffer"),
    )
    .await
    .map_err(service_error)?;
    Ok(Json(with_links(&state, &caller, &view).await?))
}

/// `POST /v1/Customer`: 201 when created, 200 when updated (same `Id`).
pub async fn upsert_customer(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Response> {
    let mut f = Fields::new(&body, &params);
    let input = CustomerInput {
        reference: f.text_or_number("ReferenceCustomer"),
        segment: f.segment(),
        name: f.text("Name"),
        email: f.text("Email"),
        language: f.text("Language"),
        reference_affiliation: f.text_or_number("ReferenceAffiliation"),
        date_affiliation_us: f.date("DateAffiliation"),
        metadata: f.object("Metadata"),
        reference_offer: f.text_or_number("ReferenceOffer"),
    };
    f.finish()?;
    let (view, created) = uc::upsert(&state.store, caller.business_id(), &input, caller.now_us)
        .await
        .map_err(service_error)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(with_links(&state, &caller, &view).await?)).into_response())
}

/// `GET /v1/Customers[?ReferenceSegment=&ReferenceFeature=&Page=&SizePage=]`; 204 when empty.
pub async fn list_customers(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Response> {
    let paging = Paging::from_params(&params)?;
    let query = ListQuery {
        segment: SegmentSelector {
            reference: params.str("ReferenceSegment").map(str::to_owned),
            id: params.i64("IdSegment")?,
        },
        feature_reference: params.str("ReferenceFeature").map(str::to_owned),
        page: paging.page,
        size_page: paging.size,
    };
    let found = uc::list(&state.store, caller.business_id(), &query)
        .await
        .map_err(service_error)?;
    let items: Vec<CustomerDto> = found
        .items
        .iter()
        .map(|v| CustomerDto::new(v, None))
        .collect();
    // The filters, repeated in the `next` link.
    let mut extra = String::new();
    for name in ["ReferenceSegment", "IdSegment", "ReferenceFeature"] {
        if let Some(value) = params.str(name) {
            if !extra.is_empty() {
                extra.push('&');
            }
            extra.push_str(name);
            extra.push('=');
            abo_links::percent_encode_into(value, &mut extra);
        }
    }
    Ok(page::respond(
        items,
        found.total,
        paging,
        "/v1/Customers",
        &extra,
        caller.now_us,
    ))
}

/// `POST /v1/Customer/Anonymization`: 403 `Error.Customer.Anonymize.*` while something is
/// owed or running.
pub async fn anonymize(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<CustomerDto>> {
    let key = key_from(&params, &body)?;
    let view = uc::anonymize(&state.store, caller.business_id(), &key, caller.now_us)
        .await
        .map_err(service_error)?;
    Ok(Json(with_links(&state, &caller, &view).await?))
}

/// `POST /v1/Customer/LinksRevokation`: earlier links die; the answer carries new ones.
pub async fn revoke_links(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<CustomerDto>> {
    let key = key_from(&params, &body)?;
    let view = uc::revoke_links(&state.store, caller.business_id(), &key, caller.now_us)
        .await
        .map_err(service_error)?;
    Ok(Json(with_links(&state, &caller, &view).await?))
}

/// `POST /v1/Customer/Invalidation`: a new random reference, `Links: []`.
pub async fn invalidate(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<CustomerDto>> {
    let key = key_from(&params, &body)?;
    let view = uc::invalidate(&state.store, caller.business_id(), &key, caller.now_us)
        .await
        .map_err(service_error)?;
    Ok(Json(CustomerDto::new(&view, Some(Vec::new()))))
}

/// `POST /v1/Customer/Suspension`: `Status: Suspended`, `Links: []`.
pub async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<CustomerDto>> {
    let key = key_from(&params, &body)?;
    let view = uc::suspend(&state.store, caller.business_id(), &key, caller.now_us)
        .await
        .map_err(service_error)?;
    Ok(Json(CustomerDto::new(&view, Some(Vec::new()))))
}

/// `POST /v1/Abo/Customer/Enabling` (Abo's addition: ProAbono does this in its back office):
/// a suspended customer is `Enabled` again and `CustomerEnabled` is notified. Links revoked by
/// the suspension stay revoked; the answer carries new ones.
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<CustomerDto>> {
    let key = key_from(&params, &body)?;
    let view = uc::enable(&state.store, caller.business_id(), &key, caller.now_us)
        .await
        .map_err(service_error)?;
    Ok(Json(with_links(&state, &caller, &view).await?))
}

/// `GET /v1/CustomerAddressBilling?ReferenceCustomer=`.
pub async fn get_billing_address(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Json<BillingAddressDto>> {
    let key = key_from_query(&params)?;
    let view = uc::billing_address(&state.store, caller.business_id(), &key)
        .await
        .map_err(unaccessible_if_missing)?;
    Ok(Json(BillingAddressDto::new(&view)))
}

/// `POST /v1/CustomerAddressBilling`: partial update.
pub async fn update_billing_address(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<BillingAddressDto>> {
    let mut f = Fields::new(&body, &params);
    let key = f.key();
    let input = BillingAddressInput {
        company: f.text("Company"),
        first_name: f.text("FirstName"),
        last_name: f.text("LastName"),
        address_line1: f.text("AddressLine1"),
        address_line2: f.text("AddressLine2"),
        zip_code: f.text_or_number("ZipCode"),
        city: f.text("City"),
        country: f.text("Country"),
        region: f.text("Region"),
        phone: f.text_or_number("Phone"),
        tax_information: f.text("TaxInformation"),
    };
    f.finish()?;
    let Some(key) = key else {
        return Err(ApiError::invalid(
            "ReferenceCustomer",
            "ReferenceCustomer is required",
        ));
    };
    let view = uc::update_billing_address(
        &state.store,
        caller.business_id(),
        &key,
        &input,
        caller.now_us,
    )
    .await
    .map_err(unaccessible_if_missing)?;
    Ok(Json(BillingAddressDto::new(&view)))
}

/// `GET /v1/CustomerSettingsPayment?ReferenceCustomer=`.
pub async fn get_payment_settings(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Json<PaymentSettingsDto>> {
    let key = key_from_query(&params)?;
    let view = uc::payment_settings(&state.store, caller.business_id(), &key)
        .await
        .map_err(unaccessible_if_missing)?;
    Ok(Json(PaymentSettingsDto::new(&view)))
}

/// `POST /v1/CustomerSettingsPayment`: each field independent; `TypePayment` by name or
/// legacy number, manual types only.
pub async fn update_payment_settings(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Json<PaymentSettingsDto>> {
    let mut f = Fields::new(&body, &params);
    let key = f.key();
    let input = PaymentSettingsInput {
        type_payment: f.text_or_number("TypePayment"),
        mode_billing: f.text("ModeBilling"),
        is_auto_billing: f.flag("IsAutoBilling"),
        is_grey_listed: f.flag("IsGreyListed"),
        note_invoice: f.text("NoteInvoice"),
        date_next_billing_us: f.date("DateNextBilling"),
    };
    f.finish()?;
    let Some(key) = key else {
        return Err(ApiError::invalid(
            "ReferenceCustomer",
            "ReferenceCustomer is required",
        ));
    };
    let view = uc::update_payment_settings(
        &state.store,
        caller.business_id(),
        &key,
        &input,
        caller.now_us,
    )
    .await
    .map_err(unaccessible_if_missing)?;
    Ok(Json(PaymentSettingsDto::new(&view)))
}
