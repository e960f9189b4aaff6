//! The catalogue file format (`catalog.toml`), as merchants write it.
//!
//! These types only describe the file; `convert` turns them into the core
//! catalogue, checking everything and naming the offending entry.
//! Unknown keys are errors: a typo must not silently drop a price.

use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default)]
    pub segment: Vec<SegmentEntry>,
    #[serde(default)]
    pub feature: Vec<FeatureEntry>,
    #[serde(default)]
    pub offer: Vec<OfferEntry>,
    #[serde(default)]
    pub pricing_table: Vec<PricingTableEntry>,
    #[serde(default)]
    pub discount: Vec<DiscountEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentEntry {
    pub reference: String,
    pub name: Option<String>,
    pub currency: String,
    pub time_zone: Option<String>,
    pub locale: Option<String>,
    #[serde(default)]
    pub default: bool,
    /// Merchant page that hosts the workflows (links get `?crylk=`).
    pub url_integrated_form: Option<String>,
    /// Merchant page that hosts the portal (links get `?crylk=`).
    pub url_integrated_portal: Option<String>,
    pub block_renewal_without_payment_method: Option<bool>,
    pub upgrade_at_renewal: Option<bool>,
    /// The segment's customer e-mails (`[segment.emails]`); absent: left as they are.
    pub emails: Option<SegmentEmails>,
}

/// A segment's customer e-mails (spec §1.12). Type names and templates are checked by
/// `abo_mail::catalog`, which imports them (this crate cannot render e-mails).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct SegmentEmails {
    /// The automatic types switched on (`InvoiceNewPaid`, ...); every other one is off.
    /// `["all"]` switches every type on.
    #[serde(default)]
    pub enabled: Vec<String>,
    /// The merchant's wording (`[[segment.emails.template]]`); types and languages not
    /// listed use Abo's.
    #[serde(default)]
    pub template: Vec<EmailTemplateEntry>,
}

/// One type's wording in one language; a part left out keeps Abo's.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplateEntry {
    #[serde(rename = "type")]
    pub email_type: String,
    /// `en` or `fr`.
    pub language: String,
    pub subject: Option<String>,
    pub body_html: Option<String>,
    pub body_text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureEntry {
    pub reference: String,
    pub name: String,
    #[serde(rename = "type")]
    pub feature_type: String,
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub visible: bool,
}

/// An amount in the segment's currency: `"19.00"` or `19`. Floats are refused
/// because `19.99` as a float is not 19.99.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum AmountText {
    Int(i64),
    Text(String),
    Float(f64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferEntry {
    pub segment: String,
    pub reference: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub visible: bool,
    /// `"1 Month"`, `"3 Month"`, `"1 Year"`, `"2 Week"`, `"10 Day"`.
    pub recurrence: String,
    pub amount_recurrence: AmountText,
    pub amount_upfront: Option<AmountText>,
    pub trial: Option<TrialEntry>,
    /// Number of periods after which the subscription ends (none: unlimited).
    pub recurrences: Option<u32>,
    /// Commitment, in periods.
    pub min_recurrences: Option<u32>,
    pub amount_termination: Option<AmountText>,
    #[serde(default)]
    pub feature: Vec<OfferFeatureEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialEntry {
    pub duration: String,
    pub amount: Option<AmountText>,
}

/// `included` is `true`/`false` for an on/off feature and a quantity for the
/// others.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum Included {
    Flag(bool),
    Quantity(u64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferFeatureEntry {
    pub feature: String,
    pub included: Option<Included>,
    /// No cap at all on a quantity feature.
    #[serde(default)]
    pub unlimited: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub pricing: Option<PricingEntry>,
    #[serde(default)]
    pub updatable_before_subscription: bool,
    #[serde(default)]
    pub updatable_after_subscription: bool,
    #[serde(default)]
    pub free_in_trial: bool,
}

/// Either `{ unit = "0.20" }` (every billable unit), `{ amount = "10.00" }`
/// (an on/off option's price), or `{ mode = "Graduated" | "Volume", tiers = [...] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingEntry {
    pub unit: Option<AmountText>,
    pub amount: Option<AmountText>,
    pub mode: Option<String>,
    pub tiers: Option<Vec<TierEntry>>,
}

/// One tier: up to an absolute quantity (inclusive; omitted on the last
/// tier), priced per unit, per lot, or as a flat amount.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierEntry {
    pub up_to: Option<u64>,
    pub unit: Option<AmountText>,
    pub lot: Option<LotEntry>,
    pub flat: Option<AmountText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotEntry {
    pub size: u64,
    pub amount: AmountText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingTableEntry {
    pub segment: String,
    pub reference: String,
    pub name: String,
    #[serde(default)]
    pub offers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountEntry {
    pub segment: String,
    pub reference: String,
    pub name: String,
    /// `UpFront`, `Recurrence` or `Feature`.
    pub target: String,
    /// The feature, when `target = "Feature"`.
    pub feature: Option<String>,
    pub amount: Option<AmountText>,
    pub percent: Option<String>,
    /// How many periods a recurring discount lasts (none: forever).
    pub recurrences: Option<u32>,
}

fn yes() -> bool {
    true
}
