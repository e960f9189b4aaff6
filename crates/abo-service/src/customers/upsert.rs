//! `POST /v1/Customer`: create or update a customer by `ReferenceCustomer`.

use super::validate::{self, Problems, TEXT_MAX_CHARS, given};
use super::{CustomerView, SegmentSelector, resolve_segment};
use crate::error::{Result, ServiceError};
use abo_store::customers::{self, NewCustomer};
use abo_store::{Store, offers, segments};

/// A `CustomerRequest`. `None` (absent, `null`, or blank text) leaves a field unchanged on
/// update and unset on creation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerInput {
    /// Generated (a UUID, as ProAbono does) when not given: the call then always creates.
    pub reference: Option<String>,
    pub segment: SegmentSelector,
    pub name: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub reference_affiliation: Option<String>,
    pub date_affiliation_us: Option<i64>,
    /// The raw JSON value, checked here (object, ≤ 5 pairs, values ≤ 450 characters). When
    /// given it replaces the stored metadata as a whole.
    pub metadata: Option<serde_json::Value>,
    /// Adds the subscribe link for this offer to the response; must exist in the segment.
    pub reference_offer: Option<String>,
}

/// How far in the future a `DateAffiliation` may be: a day absorbs clients that send a local
/// date as if it were UTC, anything later is a mistake (an affiliation has happened).
const AFFILIATION_FUTURE_TOLERANCE_US: i64 = 24 * 3600 * 1_000_000;

/// Creates or updates the customer; returns it and whether it was created (201) or updated
/// (200, same `Id`). All problems of the request are reported together.
pub async fn upsert(
    store: &Store,
    business_id: i64,
    input: &CustomerInput,
    now_us: i64,
) -> Result<(CustomerView, bool)> {
    let mut problems = Problems::default();
    let reference = match given(input.reference.as_deref()) {
        Some(r) => problems.take(validate::reference("ReferenceCustomer", r)),
        None => Some(uuid::Uuid::new_v4().to_string()),
    };
    let name = given(input.name.as_deref())
        .and_then(|v| problems.take(validate::text("Name", v, TEXT_MAX_CHARS)));
    let email = given(input.email.as_deref()).and_then(|v| problems.take(validate::email(v)));
    let language =
        given(input.language.as_deref()).and_then(|v| problems.take(validate::language(v)));
    let affiliation = given(input.reference_affiliation.as_deref())
        .and_then(|v| problems.take(validate::reference("ReferenceAffiliation", v)));
    if input
        .date_affiliation_us
        .is_some_and(|d| d > now_us.saturating_add(AFFILIATION_FUTURE_TOLERANCE_US))
    {
        problems.push("DateAffiliation: must not be in the future");
    }
    let metadata = match &input.metadata {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => match validate::metadata(value) {
            Ok(text) => Some(text),
            Err(messages) => {
                messages.into_iter().for_each(|m| problems.push(m));
                None
            }
        },
    };
    let offer_reference = given(input.reference_offer.as_deref())
        .and_then(|v| problems.take(validate::reference("ReferenceOffer", v)));

    let mut tx = store.begin().await?;
    let segment = match resolve_segment(&mut tx, business_id, &input.segment).await {
        Ok(Some(s)) => Some(s),
        Ok(None) => match segments::get_default(&mut tx, business_id).await {
            Ok(s) => Some(s),
            Err(e) if e.is_not_found() => {
                problems.push("ReferenceSegment: the business has no default segment; give one");
                None
            }
            Err(e) => return Err(e.into()),
        },
        Err(ServiceError::NotFound(what)) => {
            problems.push(format!("ReferenceSegment: no {what} in this business"));
            None
        }
        Err(ServiceError::Invalid(messages)) => {
            messages.into_iter().for_each(|m| problems.push(m));
            None
        }
        Err(e) => return Err(e),
    };
    // Without a segment nothing else can be checked; the reason is already recorded.
    let Some(segment) = segment else {
        return Err(problems.into_error());
    };

    let offer_id = match &offer_reference {
        Some(r) => match offers::find_by_reference(&mut tx, business_id, segment.id, r).await? {
            Some(offer) => Some(offer.id),
            None => {
                problems.push(format!(
                    "ReferenceOffer: no offer '{}' in segment '{}'",
                    validate::clip(r),
                    segment.reference
                ));
                None
            }
        },
        None => None,
    };

    let existing = match &reference {
        Some(r) => customers::find_by_reference(&mut tx, business_id, segment.id, r).await?,
        None => None,
    };
    // An affiliation date describes an affiliation: it needs a reference, given now or stored.
    let has_affiliation = affiliation.is_some()
        || existing
            .as_ref()
            .is_some_and(|c| c.reference_affiliation.is_some());
    if input.date_affiliation_us.is_some() && !has_affiliation {
        problems.push("DateAffiliation: needs ReferenceAffiliation");
    }
    problems.into_result()?;
    // `reference` is only `None` when its check failed, which `into_result` reported.
    let Some(reference) = reference else {
        return Err(ServiceError::Internal(
            "reference check lost its message".into(),
        ));
    };

    // A new or changed affiliation without a date is dated now, so DateAffiliation always
    // tells when the current affiliation was recorded.
    let affiliation_changed = affiliation.is_some()
        && existing
            .as_ref()
            .map(|c| c.reference_affiliation.as_deref())
            != Some(affiliation.as_deref());
    let date_affiliation_us = input
        .date_affiliation_us
        .or(affiliation_changed.then_some(now_us));

    let new = NewCustomer {
        business_id,
        segment_id: segment.id,
        reference,
        name,
        email,
        language,
        reference_affiliation: affiliation,
        date_affiliation_us,
        metadata,
    };
    let (customer, created) = customers::upsert(&mut tx, &new, now_us).await?;
    if created {
        crate::events::customer(&mut tx, "CustomerAdded", &customer, now_us).await?;
    }
    tx.commit().await?;
    let mut view = CustomerView::of(customer, segment);
    view.offer_id = offer_id;
    Ok((view, created))
}
