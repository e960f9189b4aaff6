//! Sample payloads per trigger (`GET /Notification/Webhooks/Sample`): the
//! envelope of a made-up event with every block of the trigger's family,
//! shaped like a real delivery.

use serde_json::{Value, json};

use crate::envelope::header;
use crate::triggers::{self, Block};

/// 2026-09-14T15:11:43.75Z, ProAbono's sample date.
const SAMPLE_DATE_US: i64 = 1_789_398_703_750_000;

fn block(b: Block) -> Value {
    match b {
        Block::Customer | Block::CustomerBuyer => json!({
            "Id": 42,
            "ReferenceCustomer": "customer_sample",
            "Name": "John Doe",
            "Email": "john.doe@sample.com",
            "Language": "en",
            "Status": "Enabled",
        }),
        Block::Offer => json!({
            "Id": 42,
            "IdSegment": 42,
            "ReferenceOffer": "offer_sample",
            "StateLife": "Active",
            "IsVisible": true,
            "IsPriced": true,
            "Name": "Sample offer",
            "Currency": "EUR",
            "AmountRecurrence": 1900,
            "DurationRecurrence": 1,
            "UnitRecurrence": "Month",
        }),
        Block::Subscription => json!({
            "Id": 42,
            "IdCustomer": 42,
            "IdCustomerBuyer": 42,
            "IdOffer": 42,
            "Status": "Active",
            "StateSubscription": "ActiveRunning",
            "DateStart": "2026-08-14T15:11:43.75Z",
            "DatePeriodStart": "2026-09-14T15:11:43.75Z",
            "DateTerm": "2026-10-14T15:11:43.75Z",
            "DateEnd": null,
            "Currency": "EUR",
            "AmountRecurrence": 1900,
            "DurationRecurrence": 1,
            "UnitRecurrence": "Month",
        }),
        Block::GatewayPermission => json!({
            "Id": 42,
            "TypePayment": "Card",
            "TypeGateway": "CardDummy",
            "StateGatewayPermission": "Enabled",
            "NameDisplay": "Visa **** 4242",
            "Country": "FR",
            "DateExpiration": "2028-12-31",
            "ReferenceMandate": null,
        }),
        Block::InvoiceDebit => json!({
            "Id": 42,
            "FullNumber": "INV-2026-00042",
            "Status": "Paid",
            "StateInvoice": "Paid",
            "DateIssue": "2026-09-14T15:11:43.75Z",
            "DatePayment": "2026-09-14T15:11:43.75Z",
            "DatePaymentLimit": "2026-10-14T15:11:43.75Z",
            "TypePayment": "Card",
            "Currency": "EUR",
            "AmountSubtotal": 1900,
            "AmountTax": 380,
            "AmountTotal": 2280,
        }),
        Block::InvoiceCredit => json!({
            "Id": 43,
            "FullNumber": "CRN-2026-00001",
            "Status": "Paid",
            "StateInvoice": "Paid",
            "DateIssue": "2026-09-14T15:11:43.75Z",
            "DatePayment": "2026-09-14T15:11:43.75Z",
            "DatePaymentLimit": null,
            "TypePayment": "Card",
            "Currency": "EUR",
            "AmountSubtotal": -1900,
            "AmountTax": -380,
            "AmountTotal": -2280,
            "TypeCredit": "Refund",
            "Reason": "Sample refund",
            "IdInvoiceCredited": 42,
        }),
    }
}

/// The sample envelope of `trigger` (a catalogue name or alias), or `None`
/// for an unknown trigger.
pub fn sample(trigger: &str) -> Option<Value> {
    let trigger = triggers::canonical(trigger)?;
    let mut envelope = header(
        "trg_42",
        42,
        Some(42),
        Some("sample"),
        SAMPLE_DATE_US,
        trigger,
    );
    for b in triggers::blocks(trigger) {
        envelope.insert(b.name().into(), block(*b));
    }
    Some(Value::Object(envelope))
}
