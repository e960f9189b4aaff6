//! Registering a card or SEPA mandate from the portal's payment forms, with 3-D Secure and
//! the grey list (spec §1.3: "a customer with many consecutive failed payment-method
//! registrations on hosted forms is grey-listed; hosted pages then show 'You are not allowed
//! to access the payment forms'").
//!
//! Only declines count towards the grey list (the card or bank refused, or 3-D Secure
//! failed): a typo in a card number is the customer's to fix, not a fraud signal. The count is
//! persisted (`portal_payment_failures`) so it survives restarts and is shared by nodes; a
//! successful registration resets it. Reaching [`GREY_LIST_THRESHOLD`] sets
//! `IsGreyListed`, which only the merchant removes (API `CustomerSettingsPayment`).

use abo_gateway::{GatewayError, PaymentDetails, Registration};
use abo_store::Store;
use abo_store::customers::{self, PaymentSettingsPatch};
use abo_store::payments::{self, NewPermission, Permission};
use abo_store::portal_settings;
use jiff::Timestamp;

use crate::billing::Gateways;
use crate::error::{Result, ServiceError};

/// Consecutive declined registrations that grey-list a customer.
pub const GREY_LIST_THRESHOLD: i64 = 3;

/// What a registration attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Stored and usable; the customer now pays with it.
    Registered(Permission),
    /// Stored, waiting for 3-D Secure: send the customer to the challenge for
    /// `verification_id`, then call [`complete_authentication`].
    NeedsAuthentication {
        permission: Permission,
        verification_id: String,
    },
    /// The details are wrong (format, expiry, mandate not accepted...): nothing counted.
    Invalid(String),
    /// Declined by the card network or the bank; `grey_listed` when this decline reached the
    /// threshold.
    Declined { grey_listed: bool },
}

fn timestamp(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Whether the customer may use the payment forms (not grey-listed).
pub async fn may_use_forms(store: &Store, business_id: i64, customer_id: i64) -> Result<bool> {
    let mut conn = store.acquire().await?;
    let c = customers::get(&mut conn, business_id, customer_id).await?;
    Ok(!c.payment_settings.is_grey_listed)
}

async fn count_decline(
    store: &Store,
    business_id: i64,
    customer_id: i64,
    now_us: i64,
) -> Result<bool> {
    let mut tx = store.begin().await?;
    let n = portal_settings::add_payment_failure(&mut tx, business_id, customer_id, now_us).await?;
    let grey = n >= GREY_LIST_THRESHOLD;
    if grey {
        customers::update_payment_settings(
            &mut tx,
            business_id,
            customer_id,
            &PaymentSettingsPatch {
                is_grey_listed: Some(true),
                ..Default::default()
            },
            now_us,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(grey)
}

/// Registers `details` for the customer. Refused (`Refused`) when the customer is
/// grey-listed.
pub async fn register(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    customer_id: i64,
    details: &PaymentDetails,
    now_us: i64,
) -> Result<RegisterOutcome> {
    let customer = {
        let mut conn = store.acquire().await?;
        customers::get(&mut conn, business_id, customer_id).await?
    };
    if customer.payment_settings.is_grey_listed {
        return Err(ServiceError::refused(
            "Error.Customer.GreyListed",
            "You are not allowed to access the payment forms",
        ));
    }
    let gateway = gateways.for_payment(details.type_payment());
    let registration = match gateway
        .register_permission(&customer.reference, details, timestamp(now_us)?)
        .await
    {
        Ok(r) => r,
        Err(GatewayError::RegistrationDeclined { .. }) => {
            let grey_listed = count_decline(store, business_id, customer_id, now_us).await?;
            return Ok(RegisterOutcome::Declined { grey_listed });
        }
        Err(e) => return Ok(RegisterOutcome::Invalid(e.to_string())),
    };
    let p = registration.permission();
    let mut tx = store.begin().await?;
    let stored = payments::insert_permission(
        &mut tx,
        &NewPermission {
            business_id,
            customer_id,
            type_payment: p.type_payment.as_str().to_owned(),
            type_gateway: p.type_gateway.as_str().to_owned(),
            gateway_permission_id: p.id.as_str().to_owned(),
            state: p.state.as_str().to_owned(),
            name_display: p.name_display.clone(),
            country: p.country.clone(),
            date_expiration: p.date_expiration.map(|d| d.to_string()),
            mandate_reference: p.mandate_reference.clone(),
        },
        now_us,
    )
    .await?;
    let outcome = match registration {
        Registration::Enabled(_) => {
            enable(&mut tx, business_id, customer_id, &stored, now_us).await?;
            RegisterOutcome::Registered(stored)
        }
        Registration::RequiresAction {
            verification_id, ..
        } => RegisterOutcome::NeedsAuthentication {
            permission: stored,
            verification_id: verification_id.as_str().to_owned(),
        },
    };
    tx.commit().await?;
    Ok(outcome)
}

/// The customer pays with this permission from now on; the failure count starts again.
async fn enable(
    conn: &mut abo_store::AnyConnection,
    business_id: i64,
    customer_id: i64,
    permission: &Permission,
    now_us: i64,
) -> Result<()> {
    customers::update_payment_settings(
        conn,
        business_id,
        customer_id,
        &PaymentSettingsPatch {
            type_payment: Some(permission.type_payment.clone()),
            ..Default::default()
        },
        now_us,
    )
    .await?;
    portal_settings::reset_payment_failures(conn, business_id, customer_id).await?;
    Ok(())
}

/// The customer came back from the 3-D Secure challenge of `permission_id` (one of its
/// permissions pending authentication). `approved` is what the sandbox challenge page
/// answered. Returns the permission as stored now, or `Declined` when authentication failed.
#[allow(clippy::too_many_arguments)]
pub async fn complete_authentication(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    customer_id: i64,
    permission_id: i64,
    verification_id: &str,
    approved: bool,
    now_us: i64,
) -> Result<RegisterOutcome> {
    let permission = {
        let mut conn = store.acquire().await?;
        payments::get_permission(&mut conn, business_id, permission_id)
            .await
            .map_err(|_| ServiceError::not_found(format!("payment method {permission_id}")))?
    };
    if permission.customer_id != customer_id || permission.state != "PendingAuthentication" {
        return Err(ServiceError::not_found(format!(
            "payment method {permission_id} waiting for authentication"
        )));
    }
    let gateway = match permission.type_payment.as_str() {
        "Card" => gateways.for_payment(abo_gateway::TypePayment::Card),
        _ => gateways.for_payment(abo_gateway::TypePayment::DirectDebit),
    };
    let outcome = gateway
        .complete_authentication(
            &abo_gateway::ChargeId(verification_id.to_owned()),
            approved,
            timestamp(now_us)?,
        )
        .await
        .map_err(|e| ServiceError::invalid(format!("3-D Secure: {e}")))?;
    let ok = matches!(outcome, abo_gateway::ChargeOutcome::Succeeded);
    if !ok {
        {
            let mut conn = store.acquire().await?;
            payments::set_permission_state(
                &mut conn,
                business_id,
                permission_id,
                "Disabled",
                now_us,
            )
            .await?;
        }
        let grey_listed = count_decline(store, business_id, customer_id, now_us).await?;
        return Ok(RegisterOutcome::Declined { grey_listed });
    }
    let mut tx = store.begin().await?;
    payments::set_permission_state(&mut tx, business_id, permission_id, "Enabled", now_us).await?;
    let stored = payments::get_permission(&mut tx, business_id, permission_id).await?;
    enable(&mut tx, business_id, customer_id, &stored, now_us).await?;
    tx.commit().await?;
    Ok(RegisterOutcome::Registered(stored))
}

/// The payment method the customer pays with now: the newest enabled permission of its
/// payment type (`None` for offline payment types or when there is none).
pub async fn current(
    store: &Store,
    business_id: i64,
    customer_id: i64,
) -> Result<Option<Permission>> {
    let mut conn = store.acquire().await?;
    let c = customers::get(&mut conn, business_id, customer_id).await?;
    let t = c.payment_settings.type_payment.as_str();
    if t != "Card" && t != "DirectDebit" {
        return Ok(None);
    }
    Ok(payments::current_permission(&mut conn, business_id, customer_id, t).await?)
}
