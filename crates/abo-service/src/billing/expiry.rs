//! Card expiry (billing-rules "Collection"; spec §1.9 e-mails "card expires
//! soon", "card expired"): when a card is registered, one `CardExpiry` job is
//! written per notice — 30, 7 and 1 days before the end of its expiry month,
//! then the day after (expired) — at midnight in the customer's segment time
//! zone. Each job, when due, tells the customer (`Email`) and the merchant
//! (`Webhook`) in one transaction, unless the card was replaced or disabled
//! meanwhile. Natural keys make every notice exactly-once.

use abo_store::payments::{self, Permission};
use abo_store::{AnyConnection, Store, customers, jobs, segments};
use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::json;

use super::{JOB_CARD_EXPIRY, JOB_EMAIL, JOB_WEBHOOK};
use crate::error::{Result, ServiceError};
use crate::subscriptions::schedule::Now;

/// Days before the end of the expiry month when the customer is told.
pub const EXPIRY_NOTICE_DAYS: [i64; 3] = [30, 7, 1];
/// The notice sent once the card has expired.
pub const NOTICE_EXPIRED: &str = "expired";

/// The notices of a card expiring on `last_day` (the last day it works), as
/// (notice name, date), in date order: `"30"`, `"7"`, `"1"`, `"expired"`.
pub fn notice_dates(last_day: Date) -> Result<Vec<(String, Date)>> {
    let mut out = Vec::with_capacity(EXPIRY_NOTICE_DAYS.len() + 1);
    for days in EXPIRY_NOTICE_DAYS {
        let at = last_day
            .checked_sub(days.days())
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        out.push((days.to_string(), at));
    }
    let expired = last_day
        .checked_add(1.day())
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    out.push((NOTICE_EXPIRED.to_owned(), expired));
    Ok(out)
}

/// Writes the expiry notices of a newly registered card (nothing for a
/// mandate). Notices whose date has passed are skipped, except the last one
/// still to come.
pub async fn enqueue_card_expiry_notices(
    conn: &mut AnyConnection,
    permission: &Permission,
    now_us: i64,
) -> Result<()> {
    if permission.type_payment != "Card" {
        return Ok(());
    }
    let Some(last_day) = permission
        .date_expiration
        .as_deref()
        .and_then(|d| d.parse::<Date>().ok())
    else {
        return Ok(());
    };
    let customer = customers::get(conn, permission.business_id, permission.customer_id).await?;
    let segment = segments::get(conn, permission.business_id, customer.segment_id).await?;
    let now = Now::new(now_us, &segment.time_zone)?;
    for (notice, date) in notice_dates(last_day)? {
        let at_us = now.midnight(date)?;
        if at_us < now_us {
            continue;
        }
        jobs::enqueue(
            conn,
            &jobs::NewJob {
                business_id: Some(permission.business_id),
                kind: JOB_CARD_EXPIRY.into(),
                payload: json!({"business_id": permission.business_id,
                                "permission_id": permission.id, "notice": notice})
                .to_string(),
                run_at_us: at_us,
                max_attempts: 10,
                natural_key: Some(format!("card-expiry:{}:{notice}", permission.id)),
            },
            now_us,
        )
        .await?;
    }
    Ok(())
}

/// What a `CardExpiry` job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryNotice {
    /// The customer and the merchant were told.
    Sent,
    /// The card is no longer the customer's current one: nothing to say.
    Skipped,
}

/// The `CardExpiry` job: tells the customer and the merchant that card
/// `permission_id` expires in `notice` days, or has expired (`"expired"`,
/// which also marks it `Expired`).
pub async fn notify_card_expiry(
    store: &Store,
    business_id: i64,
    permission_id: i64,
    notice: &str,
    now_us: i64,
) -> Result<ExpiryNotice> {
    let mut tx = store.begin().await?;
    let permission = payments::get_permission(&mut tx, business_id, permission_id).await?;
    let current = payments::current_permission(
        &mut tx,
        business_id,
        permission.customer_id,
        &permission.type_payment,
    )
    .await?;
    // Replaced by a newer card, or disabled: nothing to say. (A card the
    // issuer already declined as expired is still told about.)
    let replaced = current.is_some_and(|p| p.id != permission.id);
    let usable = matches!(permission.state.as_str(), "Enabled" | "Expired");
    if replaced || !usable {
        return Ok(ExpiryNotice::Skipped);
    }
    let customer = customers::get(&mut tx, business_id, permission.customer_id).await?;
    let (template, trigger, days) = if notice == NOTICE_EXPIRED {
        payments::set_permission_state(&mut tx, business_id, permission.id, "Expired", now_us)
            .await?;
        ("CardExpired", "GatewayPermissionExpired", None)
    } else {
        let days: i64 = notice
            .parse()
            .map_err(|_| ServiceError::Internal(format!("card expiry notice {notice}")))?;
        (
            "CardExpiresSoon",
            "GatewayPermissionSoonExpired",
            Some(days),
        )
    };
    let suffix = days.map(|d| format!(":{d}")).unwrap_or_default();
    let mut email = json!({
        "Template": template,
        "IdCustomer": customer.id,
        "IdPermission": permission.id,
        "To": customer.email,
        "Language": customer.language,
    });
    if let Some(days) = days {
        email["DaysBefore"] = json!(days);
    }
    let webhook = json!({
        "TypeTrigger": trigger,
        "IdCustomer": customer.id,
        "IdSegment": customer.segment_id,
        "ReferenceCustomer": customer.reference,
        "GatewayPermission": {
            "Id": permission.id,
            "StatePermission": if days.is_some() { permission.state.as_str() } else { "Expired" },
            "TypePayment": permission.type_payment,
            "TypeGateway": permission.type_gateway,
            "NameDisplay": permission.name_display,
            "DateExpiration": permission.date_expiration,
        },
        "DaysBefore": days,
    });
    for (kind, payload, key) in [
        (
            JOB_EMAIL,
            email,
            format!("email:permission={}:{template}{suffix}", permission.id),
        ),
        (
            JOB_WEBHOOK,
            webhook,
            format!("webhook:permission={}:{trigger}{suffix}", permission.id),
        ),
    ] {
        jobs::enqueue(
            &mut tx,
            &jobs::NewJob {
                business_id: Some(business_id),
                kind: kind.into(),
                payload: payload.to_string(),
                run_at_us: now_us,
                max_attempts: 10,
                natural_key: Some(key),
            },
            now_us,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(ExpiryNotice::Sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn notices_before_the_last_day_then_the_day_after() {
        let dates = notice_dates(date(2028, 2, 29)).unwrap();
        assert_eq!(
            dates,
            [
                ("30".to_owned(), date(2028, 1, 30)),
                ("7".to_owned(), date(2028, 2, 22)),
                ("1".to_owned(), date(2028, 2, 28)),
                ("expired".to_owned(), date(2028, 3, 1)),
            ]
        );
    }
}
