//! Reading subscriptions: by id, the one of a customer, and lists.

use abo_core::SubscriptionStatus;
use abo_store::customers::Customer;
use abo_store::segments::Segment;
use abo_store::subscriptions::{self, SubscriptionFilter};
use abo_store::{AnyConnection, Page, PageRequest, Store, offers, portal_reads, segments};

use super::schedule::{find_customer, named, state_of};
use super::view::{Loader, SubscriptionView, view_of};
use crate::error::{Result, ServiceError};

/// Subscription `id` of the business (404 for another business's).
pub async fn get(
    store: &Store,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<SubscriptionView> {
    let mut conn = store.acquire().await?;
    let sub = subscriptions::get(&mut conn, business_id, id)
        .await
        .map_err(named(format!("subscription {id}")))?;
    view_of(&mut conn, sub, now_us).await
}

/// The segment a reference is looked up in: the given one, else the
/// business's default segment (ProAbono's rule for an omitted
/// `ReferenceSegment`).
async fn segment_id(
    conn: &mut AnyConnection,
    business_id: i64,
    reference: Option<&str>,
) -> Result<i64> {
    Ok(match reference {
        Some(r) => {
            segments::get_by_reference(conn, business_id, r)
                .await
                .map_err(named(format!("segment '{r}'")))?
                .id
        }
        None => segments::get_default(conn, business_id).await?.id,
    })
}

/// How relevant a subscription is to "the customer's subscription": running
/// ones first, then suspended, drafts, ended, deleted.
fn rank(status: SubscriptionStatus) -> u8 {
    match status {
        SubscriptionStatus::Active => 0,
        SubscriptionStatus::Suspended => 1,
        SubscriptionStatus::Draft => 2,
        SubscriptionStatus::Ended => 3,
        SubscriptionStatus::Deleted => 4,
    }
}

/// `GET /v1/Subscription?ReferenceCustomer=…[&ReferenceOffer=…]`: the
/// customer's most relevant subscription (active first, newest first),
/// optionally on one offer.
pub async fn get_for_customer(
    store: &Store,
    business_id: i64,
    segment_reference: Option<&str>,
    customer_reference: &str,
    offer_reference: Option<&str>,
    now_us: i64,
) -> Result<SubscriptionView> {
    let mut conn = store.acquire().await?;
    let customer = find_customer(
        &mut conn,
        business_id,
        segment_reference,
        customer_reference,
    )
    .await?
    .ok_or_else(|| ServiceError::NotFound(format!("customer '{customer_reference}'")))?;
    let s = customer.segment_id;
    let offer_id = match offer_reference {
        Some(r) => Some(
            offers::get_by_reference(&mut conn, business_id, s, r)
                .await
                .map_err(named(format!("offer '{r}'")))?
                .id,
        ),
        None => None,
    };
    let filter = SubscriptionFilter {
        segment_id: Some(s),
        customer_id: Some(customer.id),
        state: None,
    };
    let page =
        subscriptions::list(&mut conn, business_id, &filter, PageRequest::new(0, 1000)).await?;
    let mut best = None;
    for sub in page.items {
        if offer_id.is_some() && sub.offer_id != offer_id {
            continue;
        }
        let key = (rank(state_of(&sub)?.status()), std::cmp::Reverse(sub.id));
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, sub));
        }
    }
    let Some((_, sub)) = best else {
        return Err(ServiceError::NotFound(format!(
            "subscription of customer '{customer_reference}'{}",
            offer_reference
                .map(|o| format!(" on offer '{o}'"))
                .unwrap_or_default()
        )));
    };
    view_of(&mut conn, sub, now_us).await
}

/// The subscriptions of `customer` (as the recipient) in its `segment`, oldest first, at
/// most `limit`: what the Customer Portal lists. Both rows are the caller's (it has just
/// read and checked them); everything else is read in two or three statements
/// ([`abo_store::portal_reads::customer_subscriptions`]).
pub async fn list_of_customer(
    store: &Store,
    segment: &Segment,
    customer: &Customer,
    limit: i64,
    now_us: i64,
) -> Result<Vec<SubscriptionView>> {
    if segment.id != customer.segment_id || segment.business_id != customer.business_id {
        return Err(ServiceError::invalid(format!(
            "customer {} is not in segment {}",
            customer.id, segment.id
        )));
    }
    let mut conn = store.acquire().await?;
    let read = portal_reads::customer_subscriptions(
        &mut conn,
        customer.business_id,
        segment.id,
        customer.id,
        limit,
    )
    .await?;
    let mut loader = Loader::seeded(
        vec![segment.clone()],
        vec![customer.clone()],
        read.offer_references,
        read.features,
    );
    let mut items = Vec::with_capacity(read.subscriptions.len());
    for sub in read.subscriptions {
        items.push(loader.view(&mut conn, sub, now_us).await?);
    }
    Ok(items)
}

/// Filters of `GET /v1/Subscriptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub segment_reference: Option<String>,
    pub customer_reference: Option<String>,
    pub buyer_reference: Option<String>,
}

/// The business's subscriptions, oldest first. Without `ReferenceSegment`
/// the list covers every segment and customer references are looked up in
/// the default segment first, then the others. A customer reference that matches nobody gives an empty
/// page (a filter, not a lookup); an unknown segment is a 404.
pub async fn list(
    store: &Store,
    business_id: i64,
    filter: &ListFilter,
    page: PageRequest,
    now_us: i64,
) -> Result<Page<SubscriptionView>> {
    let mut conn = store.acquire().await?;
    let segment_filter = match filter.segment_reference.as_deref() {
        Some(r) => Some(segment_id(&mut conn, business_id, Some(r)).await?),
        None => None,
    };
    let mut party = async |reference: Option<&str>| -> Result<Option<Option<i64>>> {
        let Some(reference) = reference else {
            return Ok(Some(None));
        };
        Ok(find_customer(
            &mut conn,
            business_id,
            filter.segment_reference.as_deref(),
            reference,
        )
        .await?
        .map(|c| Some(c.id)))
    };
    let customer = party(filter.customer_reference.as_deref()).await?;
    let buyer = party(filter.buyer_reference.as_deref()).await?;
    let (Some(customer), Some(buyer)) = (customer, buyer) else {
        return Ok(Page {
            items: Vec::new(),
            total: 0,
        });
    };
    let found = subscriptions::list_by_parties(
        &mut conn,
        business_id,
        segment_filter,
        customer,
        buyer,
        page,
    )
    .await?;
    let mut loader = Loader::default();
    let mut items = Vec::with_capacity(found.items.len());
    for sub in found.items {
        items.push(loader.view(&mut conn, sub, now_us).await?);
    }
    Ok(Page {
        items,
        total: found.total,
    })
}
