//! ProAbono's webhook envelope (spec §1.13): a header (`Id`, `IdBusiness`,
//! `IdSegment`, `ReferenceSegment`, `DateTrigger`, `TypeTrigger`), then the
//! blocks of the trigger's family, read from the store when the event is
//! fanned out.

use abo_core::{InvoiceState, SubscriptionState};
use abo_store::customers::{self, Customer};
use abo_store::invoices::{self, Invoice};
use abo_store::payments::{self, Permission};
use abo_store::subscriptions::{self, Subscription};
use abo_store::{AnyConnection, offers, segments};
use serde_json::{Map, Value, json};

use crate::Result;
use crate::triggers::{self, Block};

/// An event as the outbox holds it (a `Webhook` job): what happened, to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The envelope's `Id` (`trg_<job id>`): the same for every endpoint and attempt.
    pub id: String,
    pub business_id: i64,
    pub trigger: String,
    pub date_trigger_us: i64,
    pub segment_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub subscription_id: Option<i64>,
    pub invoice_id: Option<i64>,
    pub permission_id: Option<i64>,
    /// The invoice state when the event happened (billing writes it), which
    /// may have moved on by the time the event is sent.
    pub invoice_state: Option<String>,
}

impl Event {
    /// Reads the payload of a `Webhook` job (abo-service's outbox rows).
    pub fn from_job(job: &abo_store::jobs::Job) -> Result<Event> {
        let payload: Value = serde_json::from_str(&job.payload)
            .map_err(|e| crate::WebhookError::Invalid(format!("event payload: {e}")))?;
        let int = |name: &str| payload.get(name).and_then(Value::as_i64);
        let trigger = payload
            .get("TypeTrigger")
            .and_then(Value::as_str)
            .ok_or_else(|| crate::WebhookError::Invalid("event without TypeTrigger".into()))?;
        let business_id = job
            .business_id
            .or_else(|| int("IdBusiness"))
            .ok_or_else(|| crate::WebhookError::Invalid("event without business".into()))?;
        Ok(Event {
            id: format!("trg_{}", job.id),
            business_id,
            trigger: trigger.to_owned(),
            date_trigger_us: job.created_at_us,
            segment_id: int("IdSegment"),
            customer_id: int("IdCustomer"),
            subscription_id: int("IdSubscription"),
            invoice_id: int("IdInvoice"),
            permission_id: int("IdGatewayPermission"),
            invoice_state: payload
                .pointer("/InvoiceDebit/StateInvoice")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// ProAbono's date format (`2025-03-29T21:35:32.00Z`).
pub fn format_date(us: i64) -> String {
    match jiff::Timestamp::from_microsecond(us) {
        Ok(ts) => {
            let centis = ts.subsec_nanosecond() / 10_000_000;
            format!("{}.{centis:02}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"))
        }
        Err(_) => "1970-01-01T00:00:00.00Z".into(),
    }
}

fn date(us: Option<i64>) -> Value {
    us.map(format_date).map_or(Value::Null, Value::String)
}

/// The envelope header.
pub fn header(
    event_id: &str,
    business_id: i64,
    segment_id: Option<i64>,
    reference_segment: Option<&str>,
    date_trigger_us: i64,
    trigger: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("Id".into(), json!(event_id));
    m.insert("IdBusiness".into(), json!(business_id));
    m.insert("IdSegment".into(), json!(segment_id));
    m.insert("ReferenceSegment".into(), json!(reference_segment));
    m.insert("DateTrigger".into(), json!(format_date(date_trigger_us)));
    m.insert("TypeTrigger".into(), json!(trigger));
    m
}

pub fn customer_block(c: &Customer) -> Value {
    json!({
        "Id": c.id,
        "ReferenceCustomer": c.reference,
        "Name": c.name,
        "Email": c.email,
        "Language": c.language,
        "Status": c.status,
    })
}

pub fn subscription_block(s: &Subscription) -> Value {
    let state: Option<SubscriptionState> = s.state.parse().ok();
    json!({
        "Id": s.id,
        "IdCustomer": s.customer_id,
        "IdCustomerBuyer": s.customer_buyer_id,
        "IdOffer": s.offer_id,
        "Status": state.map(|st| st.status().as_str()),
        "StateSubscription": s.state,
        "DateStart": date(s.date_start_us),
        "DatePeriodStart": date(s.date_period_start_us),
        "DateTerm": date(s.date_term_us.or(s.date_period_end_us)),
        "DateEnd": date(s.date_end_us),
        "Currency": s.currency,
        "AmountRecurrence": s.amount_recurrence,
        "DurationRecurrence": s.duration_recurrence,
        "UnitRecurrence": s.unit_recurrence,
    })
}

pub fn offer_block(o: &offers::Offer) -> Value {
    json!({
        "Id": o.id,
        "IdSegment": o.segment_id,
        "ReferenceOffer": o.reference,
        "StateLife": "Active",
        "IsVisible": o.is_visible,
        "IsPriced": o.amount_recurrence > 0 || o.amount_upfront > 0 || o.amount_trial > 0,
        "Name": o.name,
        "Currency": o.currency,
        "AmountRecurrence": o.amount_recurrence,
        "DurationRecurrence": o.duration_recurrence,
        "UnitRecurrence": o.unit_recurrence,
    })
}

/// A custom subscription (no offer): its own terms stand for the offer.
fn offer_of_custom(s: &Subscription) -> Value {
    json!({
        "Id": null,
        "IdSegment": s.segment_id,
        "ReferenceOffer": null,
        "StateLife": "Active",
        "IsVisible": false,
        "IsPriced": s.amount_recurrence > 0 || s.amount_upfront > 0,
        "Name": s.title,
        "Currency": s.currency,
        "AmountRecurrence": s.amount_recurrence,
        "DurationRecurrence": s.duration_recurrence,
        "UnitRecurrence": s.unit_recurrence,
    })
}

pub fn permission_block(p: &Permission) -> Value {
    json!({
        "Id": p.id,
        "TypePayment": p.type_payment,
        "TypeGateway": p.type_gateway,
        "StateGatewayPermission": p.state,
        "NameDisplay": p.name_display,
        "Country": p.country,
        "DateExpiration": p.date_expiration,
        "ReferenceMandate": p.mandate_reference,
    })
}

pub fn invoice_block(i: &Invoice, state_at_event: Option<&str>) -> Value {
    let state_name = state_at_event.unwrap_or(&i.state);
    let state: Option<InvoiceState> = state_name.parse().ok();
    let mut block = json!({
        "Id": i.id,
        "FullNumber": i.full_number,
        "Status": state.map(|s| s.status().as_str()),
        "StateInvoice": state_name,
        "DateIssue": date(i.date_issue_us),
        "DatePayment": date(i.date_payment_us),
        "DatePaymentLimit": date(i.date_payment_limit_us),
        "TypePayment": i.type_payment,
        "Currency": i.currency,
        "AmountSubtotal": i.amount_subtotal,
        "AmountTax": i.amount_tax,
        "AmountTotal": i.amount_total,
    });
    if i.is_credit_note {
        block["TypeCredit"] = json!(i.type_credit);
        block["Reason"] = json!(i.reason);
        block["IdInvoiceCredited"] = json!(i.credited_invoice_id);
    }
    block
}

/// Builds the envelope of `event` from the store, with the blocks of its
/// family. A block whose source is gone (or was never given) is `null`.
pub async fn build(conn: &mut AnyConnection, event: &Event) -> Result<Value> {
    let b = event.business_id;
    let subscription = match event.subscription_id {
        Some(id) => Some(subscriptions::get(conn, b, id).await?),
        None => None,
    };
    let invoice = match event.invoice_id {
        Some(id) => Some(invoices::get(conn, b, id).await?),
        None => None,
    };
    let customer_id = event
        .customer_id
        .or(subscription.as_ref().map(|s| s.customer_id))
        .or(invoice.as_ref().map(|i| i.customer_id));
    let customer = match customer_id {
        Some(id) => Some(customers::get(conn, b, id).await?),
        None => None,
    };
    let segment_id = event
        .segment_id
        .or(customer.as_ref().map(|c| c.segment_id))
        .or(subscription.as_ref().map(|s| s.segment_id));
    let reference_segment = match segment_id {
        Some(id) => Some(segments::get(conn, b, id).await?.reference),
        None => None,
    };
    let mut envelope = header(
        &event.id,
        b,
        segment_id,
        reference_segment.as_deref(),
        event.date_trigger_us,
        &event.trigger,
    );
    for block in triggers::blocks(&event.trigger) {
        let value = match block {
            Block::Customer => customer.as_ref().map(customer_block),
            Block::CustomerBuyer => match &subscription {
                Some(s) if Some(s.customer_buyer_id) == customer_id => {
                    customer.as_ref().map(customer_block)
                }
                Some(s) => Some(customer_block(
                    &customers::get(conn, b, s.customer_buyer_id).await?,
                )),
                None => customer.as_ref().map(customer_block),
            },
            Block::Offer => match &subscription {
                Some(s) => match s.offer_id {
                    Some(id) => Some(offer_block(&offers::get(conn, b, id).await?)),
                    None => Some(offer_of_custom(s)),
                },
                None => None,
            },
            Block::Subscription => subscription.as_ref().map(subscription_block),
            Block::GatewayPermission => permission(conn, b, event.permission_id, customer.as_ref())
                .await?
                .as_ref()
                .map(permission_block),
            Block::InvoiceDebit | Block::InvoiceCredit => invoice
                .as_ref()
                .map(|i| invoice_block(i, event.invoice_state.as_deref())),
        };
        envelope.insert(block.name().into(), value.unwrap_or(Value::Null));
    }
    Ok(Value::Object(envelope))
}

/// The permission the event names, else the customer's current one.
async fn permission(
    conn: &mut AnyConnection,
    business_id: i64,
    id: Option<i64>,
    customer: Option<&Customer>,
) -> Result<Option<Permission>> {
    if let Some(id) = id {
        return Ok(Some(payments::get_permission(conn, business_id, id).await?));
    }
    let Some(customer) = customer else {
        return Ok(None);
    };
    for type_payment in [
        customer.payment_settings.type_payment.as_str(),
        "Card",
        "DirectDebit",
    ] {
        if let Some(p) =
            payments::current_permission(conn, business_id, customer.id, type_payment).await?
        {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_have_centiseconds_and_z() {
        assert_eq!(
            format_date(1_789_398_703_750_000),
            "2026-09-14T15:11:43.75Z"
        );
    }
}
