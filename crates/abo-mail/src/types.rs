//! The customer e-mail types of spec §1.12, by the names the outbox uses (`"Template"` of an
//! `Email` job; its payload is in [`crate::payload`]).

use abo_links::Purpose;

/// One kind of customer e-mail. Each is off unless the segment switches it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EmailType {
    /// New invoice collected automatically by card; states the collection date.
    InvoiceNewPaymentAuto,
    /// New invoice to be collected by SEPA direct debit: the notice, with amount and date.
    DirectDebitNotice,
    /// New invoice to be paid offline (transfer, check...) or through the pay link.
    InvoiceNewPaymentOffline,
    /// New invoice, already paid.
    InvoiceNewPaid,
    /// Automatic payment failed for good.
    InvoicePaymentAutoFailed,
    /// The bank asks for 3-D Secure: the customer must confirm the payment.
    InvoicePaymentSecureRequired,
    /// Unpaid 60 days after issue.
    InvoiceOverdue,
    /// The customer disputed the payment with their bank.
    InvoiceDisputed,
    /// New credit note (refund or cancellation).
    CreditNoteNewPaid,
    /// Subscription interrupted: no payment method.
    SubscriptionSuspendedNoPaymentMethod,
    /// Subscription interrupted: payment default.
    SubscriptionSuspendedPaymentDue,
    /// Subscription will end at the end of the billing period.
    SubscriptionTerminatedAtTerm,
    /// Subscription terminated.
    SubscriptionTerminated,
    /// Subscription over (its renewals are complete).
    SubscriptionEnded,
    /// The card expires soon (30, 7 or 1 days before).
    CardExpiresSoon,
    /// The card has expired.
    CardExpired,
    /// The payment method no longer works (refused, revoked mandate).
    PaymentMethodDefective,
    /// A hosted link the merchant sends on request (back office "send link", admin API, CLI):
    /// a custom offer prepared by sales, the payment-method page, an invoice to pay... The
    /// payload's `LinkKind` says which. Not one of [`EmailType::ALL`]: it is sent because
    /// someone asked, so no segment switch applies.
    HostedLinkSent,
}

/// What an e-mail type is about: the payload id it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// `IdInvoice` (an invoice or a credit note).
    Invoice,
    /// `IdSubscription`.
    Subscription,
    /// `IdPermission` (a stored card or mandate).
    PaymentMethod,
    /// Only `IdCustomer` (and the link the payload names).
    Customer,
}

impl EmailType {
    /// The automatic types: sent on events, each switched on or off per segment.
    pub const ALL: [EmailType; 17] = [
        EmailType::InvoiceNewPaymentAuto,
        EmailType::DirectDebitNotice,
        EmailType::InvoiceNewPaymentOffline,
        EmailType::InvoiceNewPaid,
        EmailType::InvoicePaymentAutoFailed,
        EmailType::InvoicePaymentSecureRequired,
        EmailType::InvoiceOverdue,
        EmailType::InvoiceDisputed,
        EmailType::CreditNoteNewPaid,
        EmailType::SubscriptionSuspendedNoPaymentMethod,
        EmailType::SubscriptionSuspendedPaymentDue,
        EmailType::SubscriptionTerminatedAtTerm,
        EmailType::SubscriptionTerminated,
        EmailType::SubscriptionEnded,
        EmailType::CardExpiresSoon,
        EmailType::CardExpired,
        EmailType::PaymentMethodDefective,
    ];

    /// The types sent on request only (never switched off).
    pub const ON_REQUEST: [EmailType; 1] = [EmailType::HostedLinkSent];

    /// Whether a segment switch decides if this type is sent.
    pub const fn is_automatic(self) -> bool {
        !matches!(self, EmailType::HostedLinkSent)
    }

    /// The name in outbox payloads, settings and template files.
    pub const fn name(self) -> &'static str {
        match self {
            EmailType::InvoiceNewPaymentAuto => "InvoiceNewPaymentAuto",
            EmailType::DirectDebitNotice => "DirectDebitNotice",
            EmailType::InvoiceNewPaymentOffline => "InvoiceNewPaymentOffline",
            EmailType::InvoiceNewPaid => "InvoiceNewPaid",
            EmailType::InvoicePaymentAutoFailed => "InvoicePaymentAutoFailed",
            EmailType::InvoicePaymentSecureRequired => "InvoicePaymentSecureRequired",
            EmailType::InvoiceOverdue => "InvoiceOverdue",
            EmailType::InvoiceDisputed => "InvoiceDisputed",
            EmailType::CreditNoteNewPaid => "CreditNoteNewPaid",
            EmailType::SubscriptionSuspendedNoPaymentMethod => {
                "SubscriptionSuspendedNoPaymentMethod"
            }
            EmailType::SubscriptionSuspendedPaymentDue => "SubscriptionSuspendedPaymentDue",
            EmailType::SubscriptionTerminatedAtTerm => "SubscriptionTerminatedAtTerm",
            EmailType::SubscriptionTerminated => "SubscriptionTerminated",
            EmailType::SubscriptionEnded => "SubscriptionEnded",
            EmailType::CardExpiresSoon => "CardExpiresSoon",
            EmailType::CardExpired => "CardExpired",
            EmailType::PaymentMethodDefective => "PaymentMethodDefective",
            EmailType::HostedLinkSent => "HostedLinkSent",
        }
    }

    /// The type of an outbox name; `None` for an unknown one.
    ///
    /// ```
    /// use abo_mail::EmailType;
    /// for t in EmailType::ALL.into_iter().chain(EmailType::ON_REQUEST) {
    ///     assert_eq!(EmailType::parse(t.name()), Some(t));
    /// }
    /// assert_eq!(EmailType::parse("Nope"), None);
    /// ```
    pub fn parse(name: &str) -> Option<EmailType> {
        EmailType::ALL
            .into_iter()
            .chain(EmailType::ON_REQUEST)
            .find(|t| t.name() == name)
    }

    pub const fn subject(self) -> Subject {
        match self {
            EmailType::InvoiceNewPaymentAuto
            | EmailType::DirectDebitNotice
            | EmailType::InvoiceNewPaymentOffline
            | EmailType::InvoiceNewPaid
            | EmailType::InvoicePaymentAutoFailed
            | EmailType::InvoicePaymentSecureRequired
            | EmailType::InvoiceOverdue
            | EmailType::InvoiceDisputed
            | EmailType::CreditNoteNewPaid => Subject::Invoice,
            EmailType::SubscriptionSuspendedNoPaymentMethod
            | EmailType::SubscriptionSuspendedPaymentDue
            | EmailType::SubscriptionTerminatedAtTerm
            | EmailType::SubscriptionTerminated
            | EmailType::SubscriptionEnded => Subject::Subscription,
            EmailType::CardExpiresSoon
            | EmailType::CardExpired
            | EmailType::PaymentMethodDefective => Subject::PaymentMethod,
            EmailType::HostedLinkSent => Subject::Customer,
        }
    }

    /// Whether the invoice (or credit note) PDF is attached: to the e-mails that hand the
    /// customer a document to keep or pay, not to the incident notices.
    pub const fn attaches_pdf(self) -> bool {
        matches!(
            self,
            EmailType::InvoiceNewPaymentAuto
                | EmailType::DirectDebitNotice
                | EmailType::InvoiceNewPaymentOffline
                | EmailType::InvoiceNewPaid
                | EmailType::InvoiceOverdue
                | EmailType::CreditNoteNewPaid
        )
    }

    /// The hosted page the e-mail's button opens and the id it targets, given the ids of the
    /// payload. Consulting a document goes to the portal; paying or fixing the payment method
    /// of a subscription is a workflow (rewritten to the merchant's integrated form).
    pub fn link(self, invoice: Option<i64>, subscription: Option<i64>) -> (Purpose, Option<i64>) {
        match self {
            EmailType::InvoiceNewPaymentAuto
            | EmailType::DirectDebitNotice
            | EmailType::InvoiceNewPaid
            | EmailType::CreditNoteNewPaid => (Purpose::InvoicePdf, invoice),
            EmailType::InvoiceNewPaymentOffline
            | EmailType::InvoicePaymentAutoFailed
            | EmailType::InvoicePaymentSecureRequired
            | EmailType::InvoiceOverdue => (Purpose::Charge, invoice),
            EmailType::InvoiceDisputed => (Purpose::CollectionInvoices, None),
            EmailType::SubscriptionSuspendedNoPaymentMethod => (Purpose::Register, subscription),
            EmailType::SubscriptionSuspendedPaymentDue => match invoice {
                Some(id) => (Purpose::Charge, Some(id)),
                None => (Purpose::Restart, subscription),
            },
            EmailType::SubscriptionTerminatedAtTerm => (Purpose::RelatedSubscription, subscription),
            EmailType::SubscriptionTerminated | EmailType::SubscriptionEnded => {
                (Purpose::CollectionOffers, None)
            }
            EmailType::CardExpiresSoon
            | EmailType::CardExpired
            | EmailType::PaymentMethodDefective => (Purpose::PaymentMethod, None),
            // The payload's `LinkKind` decides (`EmailJob::link`); the portal home otherwise.
            EmailType::HostedLinkSent => (Purpose::Home, None),
        }
    }
}

impl std::fmt::Display for EmailType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
