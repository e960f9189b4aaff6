//! Customers: the use cases behind ProAbono's `/v1/Customer*` operations.
//!
//! Every use case runs in one transaction, takes the authenticated business and the clock's
//! `now_us`, and returns a [`CustomerView`] (the customer with its segment) for the API to
//! render. Decisions taken here, where ProAbono's material is silent or ambiguous:
//!
//! * **Which segment.** Writes go to `IdSegment` or `ReferenceSegment` when given, else to the
//!   business's default segment (spec §1.1: omitting it silently targets the default). Reads by
//!   reference look in the given segment, else in the default segment, else in the only other
//!   segment holding that reference; a reference held by several non-default segments is
//!   ambiguous and refused with a message asking for `ReferenceSegment`.
//! * **Tenancy.** Every lookup is scoped to the authenticated business. A reference that
//!   exists only in another business is answered exactly like an unknown one (`NotFound`):
//!   saying "exists but not yours" (ProAbono's `Error.Api.Customer.Unaccessible`) would let a
//!   tenant probe another tenant's customer references.
//! * **A customer's segment, and so its currency, never changes**: upserts are keyed on
//!   (segment, reference), so naming another segment creates another customer there.
//! * **Listing without `ReferenceSegment`** lists the whole business (spec §7.6 leaves it open;
//!   the whole business is what a credential check or an export expects).
//! * **Links.** Link tokens carry the customer's `links_epoch`; revocation, invalidation,
//!   suspension and anonymization bump it, so every earlier link fails
//!   [`abo_links::LinkClaims::check_scope`]. A suspended customer gets no links at all and
//!   hosted pages must refuse it: see [`can_open_links`].

mod address;
pub mod iso;
mod payment;
mod privacy;
mod upsert;
pub mod validate;
pub mod vat;

pub use address::{BillingAddressInput, billing_address, update_billing_address};
pub use payment::{
    MANUAL_TYPES, PaymentSettingsInput, parse_type_payment, payment_settings,
    update_payment_settings,
};
pub use privacy::{
    CODE_HAS_ACTIVE_SUBSCRIPTIONS, CODE_HAS_DUE_INVOICES, CODE_NON_ZERO_BALANCE, anonymize, enable,
    invalidate, revoke_links, suspend,
};
pub use upsert::{CustomerInput, upsert};

use crate::error::{Result, ServiceError};
use abo_store::customers::{self, Customer, CustomerFilter};
use abo_store::segments::{self, Segment};
use abo_store::{AnyConnection, PageRequest, Store, StoreError, features, offers};
use std::collections::HashMap;

/// `Status` of a customer that may use the portal and be billed.
pub const STATUS_ENABLED: &str = "Enabled";
/// `Status` of a customer blocked for fraud or security reasons (spec §1.3).
pub const STATUS_SUSPENDED: &str = "Suspended";

/// Which segment a request names, if any (`ReferenceSegment` and/or `IdSegment`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentSelector {
    pub reference: Option<String>,
    pub id: Option<i64>,
}

impl SegmentSelector {
    pub fn by_reference(reference: impl Into<String>) -> Self {
        SegmentSelector {
            reference: Some(reference.into()),
            id: None,
        }
    }

    fn is_given(&self) -> bool {
        validate::given(self.reference.as_deref()).is_some() || self.id.is_some()
    }
}

/// How a request names one existing customer: `ReferenceCustomer`, optionally its segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerKey {
    pub reference: String,
    pub segment: SegmentSelector,
}

impl CustomerKey {
    pub fn new(reference: impl Into<String>) -> Self {
        CustomerKey {
            reference: reference.into(),
            segment: SegmentSelector::default(),
        }
    }

    pub fn in_segment(mut self, segment: SegmentSelector) -> Self {
        self.segment = segment;
        self
    }
}

/// A customer as the API shows it: with its segment (reference, currency) and, when the
/// request named an offer (`ReferenceOffer`), that offer's id for the subscribe link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerView {
    pub customer: Customer,
    pub segment: Segment,
    pub offer_id: Option<i64>,
}

impl CustomerView {
    /// `Metadata` as a map of strings (empty when none).
    pub fn metadata(&self) -> serde_json::Map<String, serde_json::Value> {
        validate::metadata_map(self.customer.metadata.as_deref())
    }

    /// Whether links may be issued for this customer (see [`can_open_links`]).
    pub fn links_allowed(&self) -> bool {
        can_open_links(&self.customer)
    }

    /// The epoch to put into link tokens issued now.
    pub fn links_epoch(&self) -> u32 {
        links_epoch(&self.customer)
    }
}

/// Whether the customer may be given portal links and may open hosted pages. Hosted pages
/// call this after verifying a token (with [`abo_links::LinkClaims::check_scope`] against
/// [`links_epoch`]): a suspended customer is refused even with a link issued before the
/// suspension (the suspension also bumps the epoch, this is the second lock).
pub fn can_open_links(customer: &Customer) -> bool {
    customer.status == STATUS_ENABLED
}

/// The customer's current links epoch as link tokens carry it.
///
/// The store counts in `i64`, tokens in `u32`; four billion revocations of one customer will
/// not happen, and saturating keeps a corrupted value from wrapping back onto old links.
pub fn links_epoch(customer: &Customer) -> u32 {
    u32::try_from(customer.links_epoch.max(0)).unwrap_or(u32::MAX)
}

/// `GET /v1/Customer`: one customer by reference. With `reference_offer`, the offer must
/// exist in the customer's segment (its id is returned for the subscribe link).
pub async fn get(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
    reference_offer: Option<&str>,
) -> Result<CustomerView> {
    let mut conn = store.acquire().await?;
    let (customer, segment) = locate(&mut conn, business_id, key).await?;
    let offer_id = match validate::given(reference_offer) {
        Some(reference) => Some(
            offers::find_by_reference(&mut conn, business_id, segment.id, reference)
                .await?
                .ok_or_else(|| {
                    ServiceError::not_found(format!(
                        "offer '{}' in segment '{}'",
                        validate::clip(reference),
                        segment.reference
                    ))
                })?
                .id,
        ),
        None => None,
    };
    Ok(CustomerView {
        customer,
        segment,
        offer_id,
    })
}

/// `GET /v1/Customers` filters and page (1-based `page`; `size_page` 0 = count only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub segment: SegmentSelector,
    /// Only customers with an active subscription that includes this feature.
    pub feature_reference: Option<String>,
    pub page: i64,
    pub size_page: i64,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            segment: SegmentSelector::default(),
            feature_reference: None,
            page: 1,
            size_page: 10,
        }
    }
}

/// One page of customers and the number matching across all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPage {
    pub items: Vec<CustomerView>,
    pub total: i64,
}

/// Largest page (spec §2.3).
pub const MAX_SIZE_PAGE: i64 = 1000;

/// `GET /v1/Customers`. An unknown segment or feature matches nothing (an empty page, which
/// the API answers with 204) rather than failing: a filter that selects nothing is not an
/// error, and the contract lists no error status for this operation.
pub async fn list(store: &Store, business_id: i64, query: &ListQuery) -> Result<CustomerPage> {
    let empty = CustomerPage {
        items: Vec::new(),
        total: 0,
    };
    let mut conn = store.acquire().await?;
    let segment = match resolve_segment(&mut conn, business_id, &query.segment).await {
        Ok(s) => s,
        Err(ServiceError::NotFound(_)) => return Ok(empty),
        Err(e) => return Err(e),
    };
    let size_page = query.size_page.clamp(0, MAX_SIZE_PAGE);
    let page = query.page.max(1);
    // SizePage=0 asks for the count only; the store always returns at least one row per page,
    // which is then dropped.
    let request = PageRequest::new((page - 1).saturating_mul(size_page), size_page.max(1));
    let found = match validate::given(query.feature_reference.as_deref()) {
        Some(reference) => {
            let Some(feature) =
                features::find_by_reference(&mut conn, business_id, reference).await?
            else {
                return Ok(empty);
            };
            customers::list_with_active_feature(
                &mut conn,
                business_id,
                segment.as_ref().map(|s| s.id),
                feature.id,
                request,
            )
            .await?
        }
        None => {
            let filter = CustomerFilter {
                segment_id: segment.as_ref().map(|s| s.id),
                ..Default::default()
            };
            customers::list(&mut conn, business_id, &filter, request).await?
        }
    };
    if size_page == 0 {
        return Ok(CustomerPage {
            items: Vec::new(),
            total: found.total,
        });
    }
    let segments: HashMap<i64, Segment> = segments::list(&mut conn, business_id)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut items = Vec::with_capacity(found.items.len());
    for customer in found.items {
        let segment = segments.get(&customer.segment_id).cloned().ok_or_else(|| {
            ServiceError::Internal(format!("customer {} has no segment", customer.id))
        })?;
        items.push(CustomerView {
            customer,
            segment,
            offer_id: None,
        });
    }
    Ok(CustomerPage {
        items,
        total: found.total,
    })
}

/// The segment a selector names within the business; `None` when it names none.
/// Unknown → `NotFound`; `ReferenceSegment` and `IdSegment` naming two segments → `Invalid`.
pub(crate) async fn resolve_segment(
    conn: &mut AnyConnection,
    business_id: i64,
    selector: &SegmentSelector,
) -> Result<Option<Segment>> {
    let by_reference = match validate::given(selector.reference.as_deref()) {
        Some(reference) => Some(
            segments::find_by_reference(conn, business_id, reference)
                .await?
                .ok_or_else(|| {
                    ServiceError::not_found(format!("segment '{}'", validate::clip(reference)))
                })?,
        ),
        None => None,
    };
    let by_id = match selector.id {
        Some(id) => Some(match segments::get(conn, business_id, id).await {
            Ok(s) => s,
            Err(StoreError::NotFound(_)) => {
                return Err(ServiceError::not_found(format!("segment {id}")));
            }
            Err(e) => return Err(e.into()),
        }),
        None => None,
    };
    match (by_reference, by_id) {
        (Some(a), Some(b)) if a.id != b.id => Err(ServiceError::invalid(format!(
            "ReferenceSegment: '{}' is not segment {} (IdSegment)",
            a.reference, b.id
        ))),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// The customer a key names within the business, with its segment (see the module notes
/// for the order in which segments are searched).
pub(crate) async fn locate(
    conn: &mut AnyConnection,
    business_id: i64,
    key: &CustomerKey,
) -> Result<(Customer, Segment)> {
    let reference = key.reference.trim();
    let not_found = || ServiceError::not_found(format!("customer '{}'", validate::clip(reference)));
    if reference.is_empty() {
        return Err(ServiceError::invalid("ReferenceCustomer: is required"));
    }
    if key.segment.is_given() {
        let segment = match resolve_segment(conn, business_id, &key.segment).await {
            Ok(Some(s)) => s,
            // An unknown segment cannot hold the customer: answer as for an unknown customer.
            Ok(None) | Err(ServiceError::NotFound(_)) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        let customer = customers::find_by_reference(conn, business_id, segment.id, reference)
            .await?
            .ok_or_else(not_found)?;
        return Ok((customer, segment));
    }
    // With their segments in the same query: this is every `GET /v1/Customer`.
    let mut found =
        customers::find_all_by_reference_with_segment(conn, business_id, reference).await?;
    match found.len() {
        0 => Err(not_found()),
        1 => Ok(found.remove(0)),
        _ => {
            let in_default = found
                .iter()
                .position(|(_, s)| s.is_default)
                .map(|i| found.remove(i));
            in_default.ok_or_else(|| {
                ServiceError::invalid(format!(
                    "ReferenceCustomer: '{}' exists in several segments; give ReferenceSegment",
                    validate::clip(reference)
                ))
            })
        }
    }
}

impl CustomerView {
    pub(crate) fn of(customer: Customer, segment: Segment) -> Self {
        CustomerView {
            customer,
            segment,
            offer_id: None,
        }
    }
}
