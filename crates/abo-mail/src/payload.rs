//! The payload of an `Email` outbox job: what the producers of the outbox (abo-service)
//! write and the mailer reads.

use abo_links::Purpose;
use serde_json::Value;

use crate::error::MailError;
use crate::types::{EmailType, Subject};

/// What an `Email` job asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailJob {
    pub kind: EmailType,
    pub customer_id: i64,
    /// The address at enqueue time; the customer's current one when absent.
    pub to: Option<String>,
    pub language: Option<String>,
    pub invoice_id: Option<i64>,
    pub subscription_id: Option<i64>,
    pub permission_id: Option<i64>,
    pub days_before: Option<i64>,
    pub reason: Option<String>,
    /// Direct-debit notice: the amount and date announced when the notice was enqueued.
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    pub date_payment_scheduled_us: Option<i64>,
    /// `HostedLinkSent`: the hosted page the e-mail links to (`LinkKind`, see
    /// [`crate::send_link::kind_name`]), about `IdOffer` when it subscribes to an offer.
    pub link_kind: Option<Purpose>,
    pub offer_id: Option<i64>,
    /// `HostedLinkSent`: the merchant's own words, printed above the button.
    pub message: Option<String>,
}

impl EmailJob {
    /// Reads a payload. Errors: [`MailError::Payload`] for an unknown `Template`, a missing
    /// `IdCustomer`, or a missing id the type needs.
    ///
    /// ```
    /// let job = abo_mail::EmailJob::parse(
    ///     r#"{"Template":"InvoiceNewPaid","IdCustomer":3,"IdInvoice":9,"To":"a@b.example"}"#,
    /// ).unwrap();
    /// assert_eq!(job.kind, abo_mail::EmailType::InvoiceNewPaid);
    /// assert_eq!(job.invoice_id, Some(9));
    /// assert!(abo_mail::EmailJob::parse(r#"{"Template":"InvoiceNewPaid","IdCustomer":3}"#).is_err());
    /// ```
    pub fn parse(payload: &str) -> Result<EmailJob, MailError> {
        let v: Value =
            serde_json::from_str(payload).map_err(|e| MailError::Payload(e.to_string()))?;
        let name = v["Template"]
            .as_str()
            .ok_or_else(|| MailError::Payload("Template is missing".into()))?;
        let kind = EmailType::parse(name)
            .ok_or_else(|| MailError::Payload(format!("unknown e-mail type {name}")))?;
        let int = |k: &str| v[k].as_i64();
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        let job = EmailJob {
            kind,
            customer_id: int("IdCustomer")
                .ok_or_else(|| MailError::Payload("IdCustomer is missing".into()))?,
            to: text("To").filter(|t| !t.trim().is_empty()),
            language: text("Language"),
            invoice_id: int("IdInvoice"),
            subscription_id: int("IdSubscription"),
            permission_id: int("IdPermission"),
            days_before: int("DaysBefore"),
            reason: text("Reason"),
            amount_total: int("AmountTotal"),
            currency: text("Currency"),
            date_payment_scheduled_us: int("DatePaymentScheduledUs"),
            link_kind: match v["LinkKind"].as_str() {
                Some(name) => Some(
                    crate::send_link::parse_kind(name)
                        .ok_or_else(|| MailError::Payload(format!("unknown LinkKind {name}")))?,
                ),
                None => None,
            },
            offer_id: int("IdOffer"),
            message: text("Message").filter(|t| !t.trim().is_empty()),
        };
        let missing = match kind.subject() {
            Subject::Invoice => job.invoice_id.is_none().then_some("IdInvoice"),
            Subject::Subscription => job.subscription_id.is_none().then_some("IdSubscription"),
            Subject::PaymentMethod => job.permission_id.is_none().then_some("IdPermission"),
            Subject::Customer => job.link_kind.is_none().then_some("LinkKind"),
        };
        match missing {
            Some(field) => Err(MailError::Payload(format!("{name} needs {field}"))),
            None => Ok(job),
        }
    }

    /// The hosted page the e-mail's button opens and the id it targets.
    pub fn link(&self) -> (Purpose, Option<i64>) {
        match (self.kind, self.link_kind) {
            (crate::EmailType::HostedLinkSent, Some(purpose)) => (
                purpose,
                crate::send_link::target_of(
                    purpose,
                    self.subscription_id,
                    self.invoice_id,
                    self.offer_id,
                ),
            ),
            (kind, _) => kind.link(self.invoice_id, self.subscription_id),
        }
    }
}
