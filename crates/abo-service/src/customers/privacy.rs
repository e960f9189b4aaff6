//! Privacy and security actions on a customer (spec §1.3): anonymization, link revocation,
//! invalidation and suspension. Each bumps the customer's links epoch, so every link issued
//! before stops working at once.

use super::{CustomerKey, CustomerView, STATUS_SUSPENDED, locate};
use crate::error::{Result, ServiceError};
use abo_store::customers::{self, BillingAddress, CustomerPatch};
use abo_store::subscriptions::{self, SubscriptionFilter};
use abo_store::{PageRequest, Store, balance_lines};

/// Live-observed ProAbono refusal (spec §1.3, contract).
pub const CODE_HAS_DUE_INVOICES: &str = "Error.Customer.Anonymize.HasDueInvoices";
/// Abo's code for the other documented precondition: no active subscription.
pub const CODE_HAS_ACTIVE_SUBSCRIPTIONS: &str = "Error.Customer.Anonymize.HasActiveSubscriptions";
/// Abo's code for the third documented precondition: a zero balance.
pub const CODE_NON_ZERO_BALANCE: &str = "Error.Customer.Anonymize.BalanceNotZero";

/// What replaces the name of an anonymized customer without a company (ProAbono's example).
pub const CLEARED_NAME: &str = "## cleared ##";

/// Subscriptions "still being configured" that anonymization deletes (spec §1.3): drafts the
/// customer or the merchant never started. Scheduled drafts (`DraftDelayed*`) are not among
/// them: they will start on their own, so they block anonymization instead.
const UNSTARTED_DRAFTS: [&str; 2] = ["DraftCustomer", "DraftAgent"];

/// `POST /v1/Customer/Anonymization`.
///
/// Refused (403) while the customer owes an invoice, holds or pays for a live subscription,
/// or has a non-zero balance, in that order. Otherwise, in one transaction: the e-mail is
/// deleted; with a `Company` in the billing address the name becomes the company and the
/// person's first/last name and phone are deleted (a company's address is not personal
/// data); without one the name becomes `## cleared ##` and everything but the country is
/// deleted from the address. Metadata is cleared too, since merchants put personal data
/// there (ProAbono's own example stores gender and income). Unstarted draft subscriptions
/// are deleted, links are revoked; invoices are kept, as the law requires.
///
/// Not done yet because Abo does not store them yet: sent-e-mail history, recent activity
/// and webhook notification history.
pub async fn anonymize(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
    now_us: i64,
) -> Result<CustomerView> {
    let mut tx = store.begin().await?;
    let (customer, segment) = locate(&mut tx, business_id, key).await?;
    let blockers = customers::erasure_blockers(&mut tx, business_id, customer.id).await?;
    if blockers.due_invoices > 0 {
        return Err(ServiceError::refused(
            CODE_HAS_DUE_INVOICES,
            "Anonymization rejected - the Customer has at least one due invoice.",
        ));
    }
    if blockers.live_subscriptions > 0 {
        return Err(ServiceError::refused(
            CODE_HAS_ACTIVE_SUBSCRIPTIONS,
            "Anonymization rejected - the Customer has at least one active, suspended or \
             scheduled subscription; terminate it first.",
        ));
    }
    if balance_lines::due_total(&mut tx, business_id, customer.id).await? != 0 {
        return Err(ServiceError::refused(
            CODE_NON_ZERO_BALANCE,
            "Anonymization rejected - the Customer's balance is not zero; bill or cancel its \
             balance lines first.",
        ));
    }

    let address = &customer.billing_address;
    let (name, kept) = match address.company.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(company) => (
            company.to_owned(),
            BillingAddress {
                first_name: None,
                last_name: None,
                phone: None,
                ..address.clone()
            },
        ),
        None => (
            CLEARED_NAME.to_owned(),
            BillingAddress {
                country: address.country.clone(),
                ..BillingAddress::default()
            },
        ),
    };
    customers::replace_personal_data(
        &mut tx,
        business_id,
        customer.id,
        Some(&name),
        None,
        &kept,
        now_us,
    )
    .await?;
    let clear_metadata = CustomerPatch {
        metadata: Some("{}".to_owned()),
        ..Default::default()
    };
    customers::update(&mut tx, business_id, customer.id, &clear_metadata, now_us).await?;
    for state in UNSTARTED_DRAFTS {
        delete_subscriptions_in_state(&mut tx, business_id, customer.id, state, now_us).await?;
    }
    customers::revoke_links(&mut tx, business_id, customer.id, now_us).await?;
    let customer = customers::get(&mut tx, business_id, customer.id).await?;
    tx.commit().await?;
    Ok(CustomerView::of(customer, segment))
}

async fn delete_subscriptions_in_state(
    conn: &mut abo_store::AnyConnection,
    business_id: i64,
    customer_id: i64,
    state: &str,
    now_us: i64,
) -> Result<()> {
    let filter = SubscriptionFilter {
        customer_id: Some(customer_id),
        state: Some(state.to_owned()),
        ..Default::default()
    };
    // Each pass deletes what it read, so the next first page holds the next ones.
    loop {
        let page =
            subscriptions::list(conn, business_id, &filter, PageRequest::new(0, 100)).await?;
        if page.items.is_empty() {
            return Ok(());
        }
        for s in page.items {
            subscriptions::update_state(conn, business_id, s.id, "Deleted", now_us).await?;
        }
    }
}

/// `POST /v1/Customer/LinksRevokation`: revokes every link issued so far. The response is
/// the customer, whose fresh links (signed with the new epoch) the API adds.
pub async fn revoke_links(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
    now_us: i64,
) -> Result<CustomerView> {
    let mut tx = store.begin().await?;
    let (customer, segment) = locate(&mut tx, business_id, key).await?;
    customers::revoke_links(&mut tx, business_id, customer.id, now_us).await?;
    let customer = customers::get(&mut tx, business_id, customer.id).await?;
    tx.commit().await?;
    Ok(CustomerView::of(customer, segment))
}

/// How many random references to try before giving up on invalidation; with 32 random bits
/// per try a second try is already a one-in-billions event.
const INVALIDATION_ATTEMPTS: usize = 5;

/// `POST /v1/Customer/Invalidation`: the customer gets a random reference (`cust-8f3a2b1d`)
/// and every link is revoked. The API answers with `Links: []`; later retrievals by the new
/// reference issue links again (only the merchant, who got the new reference in this
/// response, can ask for them).
pub async fn invalidate(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
    now_us: i64,
) -> Result<CustomerView> {
    let mut tx = store.begin().await?;
    let (customer, segment) = locate(&mut tx, business_id, key).await?;
    let mut fresh = None;
    for _ in 0..INVALIDATION_ATTEMPTS {
        let candidate = format!("cust-{:08x}", rand::random::<u32>());
        if customers::find_by_reference(&mut tx, business_id, segment.id, &candidate)
            .await?
            .is_none()
        {
            fresh = Some(candidate);
            break;
        }
    }
    let Some(reference) = fresh else {
        return Err(ServiceError::Internal(
            "no free random reference found for invalidation".into(),
        ));
    };
    let patch = CustomerPatch {
        reference: Some(reference),
        ..Default::default()
    };
    customers::update(&mut tx, business_id, customer.id, &patch, now_us).await?;
    customers::revoke_links(&mut tx, business_id, customer.id, now_us).await?;
    let customer = customers::get(&mut tx, business_id, customer.id).await?;
    tx.commit().await?;
    Ok(CustomerView::of(customer, segment))
}

/// `POST /v1/Customer/Suspension`: `Status` becomes `Suspended` and every link is revoked;
/// no new link is issued while suspended ([`super::can_open_links`]). Suspending a suspended
/// customer changes nothing but the epoch. Re-enabling is a back-office action ([`enable`]).
pub async fn suspend(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
    now_us: i64,
) -> Result<CustomerView> {
    let mut tx = store.begin().await?;
    let (customer, segment) = locate(&mut tx, business_id, key).await?;
    let was_suspended = customer.status == STATUS_SUSPENDED;
    let patch = CustomerPatch {
        status: Some(STATUS_SUSPENDED.to_owned()),
        ..Default::default()
    };
    customers::update(&mut tx, business_id, customer.id, &patch, now_us).await?;
    customers::revoke_links(&mut tx, business_id, customer.id, now_us).await?;
    let customer = customers::get(&mut tx, business_id, customer.id).await?;
    if !was_suspended {
        crate::events::customer(&mut tx, "CustomerSuspended", &customer, now_us).await?;
    }
    tx.commit().await?;
    Ok(CustomerView::of(customer, segment))
}

/// The reverse of [`suspend`] (a back-office action in ProAbono): `Status`
/// becomes `Enabled` again and `CustomerEnabled` is emitted. Links revoked by
/// the suspension stay revoked; new ones are issued from now on. Enabling an
/// enabled customer changes nothing and emits nothing.
pub async fn enable(
    store: &Store,
    business_id: i64,
    key: &CustomerKey,
    now_us: i64,
) -> Result<CustomerView> {
    let mut tx = store.begin().await?;
    let (customer, segment) = locate(&mut tx, business_id, key).await?;
    if customer.status != STATUS_SUSPENDED {
        tx.commit().await?;
        return Ok(CustomerView::of(customer, segment));
    }
    let patch = CustomerPatch {
        status: Some(super::STATUS_ENABLED.to_owned()),
        ..Default::default()
    };
    customers::update(&mut tx, business_id, customer.id, &patch, now_us).await?;
    let customer = customers::get(&mut tx, business_id, customer.id).await?;
    crate::events::customer(&mut tx, "CustomerEnabled", &customer, now_us).await?;
    tx.commit().await?;
    Ok(CustomerView::of(customer, segment))
}
