//! A quote as the workflow pages show it (amounts and dates in the page's language, lines
//! worded from their `TypeLine`), and the payment step the customer will go through.

use abo_service::quoting::{Quote, QuoteLine};

use crate::portal::Ctx;

/// One line of the quote.
pub struct LineView {
    pub label: String,
    /// "from … to …", or the date of a one-off line.
    pub when: Option<String>,
    pub amount: String,
    pub is_credit: bool,
}

/// The quote block of a workflow page.
pub struct QuoteView {
    pub lines: Vec<LineView>,
    pub subtotal: String,
    pub tax: String,
    pub tax_rate: String,
    pub total: String,
    /// Due now (0 when the change adds up to a credit).
    pub due: String,
    pub due_minor: i64,
    pub is_free: bool,
    /// The next renewal: its price and the date it is charged.
    pub next_amount: Option<String>,
    pub next_date: Option<String>,
}

/// The catalogue key wording a line of this `TypeLine` (credits and charges apart).
fn line_key(line: &QuoteLine) -> &'static str {
    match (line.type_line.as_str(), line.amount_subtotal < 0) {
        ("AutoSubscriptionUpfront", _) => "wf.line.upfront",
        ("AutoSubscriptionTrial", _) => "wf.line.trial",
        ("AutoSubscriptionTrialProrata", true) => "wf.line.trial_refund",
        ("AutoSubscriptionTrialProrata", false) => "wf.line.trial_prorata",
        ("AutoSubscriptionRecurrence", _) => "wf.line.recurrence",
        ("AutoSubscriptionRecurrenceProrata", true) => "wf.line.refund",
        ("AutoSubscriptionRecurrenceProrata", false) => "wf.line.prorata",
        ("AutoSubscriptionTermination", _) => "wf.line.termination",
        (t, _) if t.starts_with("AutoFeature") => "wf.line.feature",
        (t, _) if t.starts_with("AutoDiscount") => "wf.line.discount",
        _ => "wf.line.other",
    }
}

impl QuoteView {
    pub fn new(ctx: &Ctx, q: &Quote) -> QuoteView {
        let cur = q.currency.code();
        let lines = q
            .lines
            .iter()
            .map(|l| {
                let when = match (l.date_period_start_us, l.date_period_end_us, l.date_move_us) {
                    (Some(s), Some(e), _) => Some(ctx.texts.fmt(
                        "wf.period",
                        &[("from", &ctx.date_us(s)), ("to", &ctx.date_us(e))],
                    )),
                    (_, _, Some(m)) => Some(ctx.date_us(m)),
                    _ => None,
                };
                let mut label = ctx.texts.get(line_key(l)).to_owned();
                if let (Some(qty), true) = (l.quantity_reported, l.feature_id.is_some()) {
                    label = format!("{label} ({qty})");
                }
                LineView {
                    label,
                    when,
                    amount: ctx.money(l.amount_subtotal, cur),
                    is_credit: l.amount_subtotal < 0,
                }
            })
            .collect();
        let (next_amount, next_date) = match q.next_term.as_deref() {
            Some(n) if n.amount_total > 0 => (
                Some(ctx.money(n.amount_total, cur)),
                n.date_period_start_us.map(|d| ctx.date_us(d)),
            ),
            _ => (None, None),
        };
        QuoteView {
            lines,
            subtotal: ctx.money(q.amount_subtotal, cur),
            tax: ctx.money(q.amount_tax, cur),
            tax_rate: q.tax_rate.clone(),
            total: ctx.money(q.amount_total, cur),
            due: ctx.money(q.amount_total_due, cur),
            due_minor: q.amount_total_due,
            is_free: q.is_free(),
            next_amount,
            next_date,
        }
    }
}

/// How the customer will pay what the quote says is due.
pub struct PayView {
    /// `Card`, `DirectDebit`, `Offline` or `none` (the page's `data-method`).
    pub method: &'static str,
    /// "Visa •••• 4242", the mandate, ... (the registered method as shown).
    pub display: Option<String>,
    /// Something is due and there is no method: the card/SEPA forms, back to `next`.
    pub needs_method: bool,
    pub card_url: String,
    pub sepa_url: String,
    pub grey_listed: bool,
}

impl PayView {
    /// The payment step for `ctx.customer`; `back` is this workflow page (relative, `wf/...`).
    pub async fn new(ctx: &Ctx, due_minor: i64, back: &str) -> PayView {
        let settings = &ctx.customer.payment_settings;
        let current = abo_service::portal::payment::current(
            &ctx.state.store,
            ctx.business.id,
            ctx.customer.id,
        )
        .await
        .ok()
        .flatten();
        let (method, display) = match (settings.type_payment.as_str(), current) {
            ("Card", Some(p)) => ("Card", Some(p.name_display)),
            ("DirectDebit", Some(p)) => ("DirectDebit", Some(p.name_display)),
            (t, _) if t.starts_with("External") => ("Offline", None),
            _ => ("none", None),
        };
        let next = encode(back);
        PayView {
            method,
            display,
            needs_method: due_minor > 0 && method == "none",
            card_url: ctx.url(&format!("payment-method/card?next={next}")),
            sepa_url: ctx.url(&format!("payment-method/sepa?next={next}")),
            grey_listed: settings.is_grey_listed,
        }
    }
}

/// Percent-encodes a `next=` value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
