//! The input of a PDF: a plain snapshot of an issued invoice or credit note.
//!
//! Nothing here depends on the store: the caller copies the issued
//! document's frozen billing information (billing-rules: "Issued invoices are
//! immutable", the billing info on an invoice is a snapshot) into these
//! structs. Amounts are integer minor units of [`InvoiceDocument::currency`];
//! rates and quantities are exact decimals. Every free text (labels, address
//! lines, legal mentions, footer lines) is printed as given, so it must
//! already be in the document's [`InvoiceDocument::language`].

use abo_core::{Currency, Locale};
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// At most this many footer lines per segment.
pub const MAX_FOOTER_LINES: usize = 5;

/// One invoice or credit note, ready to be typeset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDocument {
    pub kind: DocumentKind,
    /// The full number, e.g. `S-7.00001673` (`FullNumber`).
    pub number: String,
    /// Language of every label, date and amount on the page.
    pub language: Locale,
    pub currency: Currency,
    pub dates: DocumentDates,
    pub seller: Seller,
    pub buyer: Buyer,
    pub lines: Vec<DocumentLine>,
    /// One entry per tax rate: billing-rules computes tax per rate on the sum
    /// of that rate's subtotals, rounded once.
    pub taxes: Vec<TaxBreakdown>,
    pub totals: Totals,
    pub payment: Payment,
    /// Legal texts, one paragraph each, e.g. the reverse-charge mention
    /// (`abo_core::LegalMention::text`).
    #[serde(default)]
    pub legal_mentions: Vec<String>,
    /// The segment's footer lines (company registration, share capital,
    /// late-payment penalties...), at most [`MAX_FOOTER_LINES`].
    #[serde(default)]
    pub footer_lines: Vec<String>,
}

/// A debit invoice, or a credit note that credits an earlier invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum DocumentKind {
    Invoice,
    CreditNote {
        /// Full number of the credited invoice.
        credited_invoice: String,
        /// Why it was issued (ProAbono's `Reason`), if given.
        #[serde(default)]
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentDates {
    /// `DateIssue`.
    pub issue: Date,
    /// `DatePaymentLimit`.
    #[serde(default)]
    pub due: Option<Date>,
    /// `DatePayment`, once paid (or refunded, for a credit note).
    #[serde(default)]
    pub payment: Option<Date>,
}

/// The business (or segment) issuing the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    pub name: String,
    #[serde(default)]
    pub address_lines: Vec<String>,
    /// Country name as printed ("France").
    pub country: String,
    #[serde(default)]
    pub vat_number: Option<String>,
    #[serde(default)]
    pub logo: Option<Logo>,
}

/// A logo image, PNG or SVG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logo {
    pub format: LogoFormat,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogoFormat {
    Png,
    Svg,
}

impl LogoFormat {
    /// Recognises PNG by its signature and SVG by an `<svg` element near the
    /// start; anything else is `None`.
    pub fn sniff(bytes: &[u8]) -> Option<LogoFormat> {
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        if bytes.starts_with(PNG) {
            return Some(LogoFormat::Png);
        }
        let head = &bytes[..bytes.len().min(1024)];
        let head = String::from_utf8_lossy(head);
        head.contains("<svg").then_some(LogoFormat::Svg)
    }

    pub(crate) const fn typst_name(self) -> &'static str {
        match self {
            LogoFormat::Png => "png",
            LogoFormat::Svg => "svg",
        }
    }
}

/// The customer billed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    pub identity: BuyerIdentity,
    #[serde(default)]
    pub address_lines: Vec<String>,
    /// Country name as printed ("Germany").
    pub country: String,
    #[serde(default)]
    pub vat_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BuyerIdentity {
    /// A business customer, with an optional contact person ("Attn. ...").
    Company {
        name: String,
        #[serde(default)]
        contact: Option<String>,
    },
    /// An individual.
    Person { name: String },
}

impl BuyerIdentity {
    /// The name printed first: the company's, or the person's.
    pub fn name(&self) -> &str {
        match self {
            BuyerIdentity::Company { name, .. } | BuyerIdentity::Person { name } => name,
        }
    }
}

/// One invoice line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentLine {
    pub label: String,
    /// Start of the billed period, if the line covers one.
    #[serde(default)]
    pub period_start: Option<Date>,
    /// Last day of the billed period (inclusive, as printed).
    #[serde(default)]
    pub period_end: Option<Date>,
    pub quantity: Decimal,
    /// Unit price excluding tax, in minor units; `None` hides it (e.g. a
    /// tiered or prorated line).
    #[serde(default)]
    pub unit_price: Option<i64>,
    /// Discount already taken off `amount`, in minor units (positive).
    #[serde(default)]
    pub discount: Option<i64>,
    /// Line amount excluding tax, after discount, in minor units.
    pub amount: i64,
    /// Tax rate in percent (20 for 20 %).
    pub tax_rate: Decimal,
}

/// Tax for one rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxBreakdown {
    /// Percent.
    pub rate: Decimal,
    /// Sum of the amounts excluding tax of that rate's lines.
    pub base: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Excluding tax.
    pub subtotal: i64,
    pub tax: i64,
    /// Including tax: `subtotal + tax` exactly.
    pub total: i64,
}

/// Where the money stands, and how it moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub status: PaymentStatus,
    #[serde(default)]
    pub method: Option<PaymentMethod>,
    /// Extra lines printed under the status, as given: bank details for a
    /// transfer (IBAN, BIC, reference to quote), a payment note...
    #[serde(default)]
    pub details: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentStatus {
    /// Settled (`Paid`); the date is [`DocumentDates::payment`].
    Paid,
    /// Still to be paid or to be collected (`Due*`, `Problem*`).
    Due,
    /// A credit note whose amount went back to the customer.
    Refunded,
    /// Nothing to pay: a credit note cancelling an unpaid invoice (`Void`).
    NothingDue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PaymentMethod {
    /// `last4` is printed as `****4242`.
    Card {
        last4: String,
    },
    /// SEPA direct debit; `date` is the scheduled (or done) debit date.
    DirectDebit {
        #[serde(default)]
        date: Option<Date>,
    },
    BankTransfer,
    Check,
    Cash,
    /// Any other method, by its printed name.
    Other {
        name: String,
    },
}
