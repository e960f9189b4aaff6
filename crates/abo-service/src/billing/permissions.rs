//! Registering a customer's card or SEPA mandate with a gateway and keeping
//! our snapshot of it (`gateway_permissions`). A usable (enabled) permission
//! makes the customer pay automatically: its `TypePayment` becomes `Card` or
//! `DirectDebit`, which billing reads. A card's expiry notices are written
//! to the job queue in the same transaction (`expiry`).

use abo_gateway::{PaymentDetails, Registration};
use abo_store::Store;
use abo_store::customers::{self, PaymentSettingsPatch};
use abo_store::payments::{self, NewPermission, Permission};

use super::collect::{Gateways, timestamp};
use crate::error::{Result, ServiceError};

/// Registers `details` for the customer with the gateway of its payment
/// type, stores the permission, and switches the customer to that payment
/// type when the permission is usable at once (no 3-D Secure pending).
/// A decline or invalid details are `Invalid` and store nothing.
pub async fn register_permission(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    customer_id: i64,
    details: &PaymentDetails,
    now_us: i64,
) -> Result<Permission> {
    let customer = {
        let mut conn = store.acquire().await?;
        customers::get(&mut conn, business_id, customer_id).await?
    };
    let gateway = gateways.for_payment(details.type_payment());
    let registration = gateway
        .register_permission(&customer.reference, details, timestamp(now_us)?)
        .await
        .map_err(|e| ServiceError::invalid(format!("payment method: {e}")))?;
    let permission = registration.permission();
    let mut tx = store.begin().await?;
    let stored = payments::insert_permission(
        &mut tx,
        &NewPermission {
            business_id,
            customer_id,
            type_payment: permission.type_payment.as_str().to_owned(),
            type_gateway: permission.type_gateway.as_str().to_owned(),
            gateway_permission_id: permission.id.as_str().to_owned(),
            state: permission.state.as_str().to_owned(),
            name_display: permission.name_display.clone(),
            country: permission.country.clone(),
            date_expiration: permission.date_expiration.map(|d| d.to_string()),
            mandate_reference: permission.mandate_reference.clone(),
        },
        now_us,
    )
    .await?;
    super::expiry::enqueue_card_expiry_notices(&mut tx, &stored, now_us).await?;
    if matches!(registration, Registration::Enabled(_)) {
        customers::update_payment_settings(
            &mut tx,
            business_id,
            customer_id,
            &PaymentSettingsPatch {
                type_payment: Some(permission.type_payment.as_str().to_owned()),
                ..Default::default()
            },
            now_us,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(stored)
}
