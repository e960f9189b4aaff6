//! Billing information from the portal: the billing address (company or person, address,
//! country, VAT number: the same checks as the API's `CustomerAddressBilling`) and the
//! e-mail invoices are sent to.

use abo_store::Store;
use abo_store::customers;

use crate::customers::{
    BillingAddressInput, CustomerInput, CustomerKey, SegmentSelector, validate,
};
use crate::error::{Result, ServiceError};

/// Saves the form. The e-mail is checked first so a bad e-mail changes nothing; the address
/// is then saved with the API's validation (all its problems reported together).
pub async fn save(
    store: &Store,
    business_id: i64,
    customer_id: i64,
    address: &BillingAddressInput,
    email: Option<&str>,
    now_us: i64,
) -> Result<()> {
    let (customer, segment) = {
        let mut conn = store.acquire().await?;
        let c = customers::get(&mut conn, business_id, customer_id).await?;
        let s = abo_store::segments::get(&mut conn, business_id, c.segment_id).await?;
        (c, s)
    };
    let email = validate::given(email);
    if let Some(e) = email {
        validate::email(e).map_err(|m| ServiceError::Invalid(vec![m]))?;
    }
    let key = CustomerKey::new(customer.reference.clone())
        .in_segment(SegmentSelector::by_reference(segment.reference.clone()));
    crate::customers::update_billing_address(store, business_id, &key, address, now_us).await?;
    if let Some(e) = email {
        let input = CustomerInput {
            reference: Some(customer.reference),
            segment: SegmentSelector::by_reference(segment.reference),
            email: Some(e.to_owned()),
            ..CustomerInput::default()
        };
        crate::customers::upsert(store, business_id, &input, now_us).await?;
    }
    Ok(())
}
