//! Everything language-dependent on the page: labels, dates, rates,
//! quantities and the payment sentence. Amounts go through
//! [`abo_core::Money::format`].

use abo_core::Locale;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::{DocumentKind, PaymentMethod, PaymentStatus};

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "December 2026" / "décembre 2026" (card expiries, statements).
pub fn format_month_year(date: Date, locale: Locale) -> String {
    let month = usize::try_from(date.month() - 1).unwrap_or(0);
    match locale {
        Locale::En => format!("{} {}", MONTHS_EN[month], date.year()),
        Locale::Fr => format!("{} {}", MONTHS_FR[month], date.year()),
    }
}

/// "30 November 2026" / "30 novembre 2026" ("1er décembre 2026": French
/// writes the first of the month as an ordinal).
pub fn format_date(date: Date, locale: Locale) -> String {
    let month = usize::try_from(date.month() - 1).unwrap_or(0);
    match locale {
        Locale::En => format!("{} {} {}", date.day(), MONTHS_EN[month], date.year()),
        Locale::Fr if date.day() == 1 => format!("1er {} {}", MONTHS_FR[month], date.year()),
        Locale::Fr => format!("{} {} {}", date.day(), MONTHS_FR[month], date.year()),
    }
}

/// A billed period, both ends inclusive.
pub fn format_period(start: Option<Date>, end: Option<Date>, locale: Locale) -> Option<String> {
    let f = |d| format_date(d, locale);
    Some(match (start, end, locale) {
        (Some(s), Some(e), Locale::En) => format!("{} – {}", f(s), f(e)),
        (Some(s), Some(e), Locale::Fr) => format!("Du {} au {}", f(s), f(e)),
        (Some(s), None, Locale::En) => format!("From {}", f(s)),
        (Some(s), None, Locale::Fr) => format!("À partir du {}", f(s)),
        (None, Some(e), Locale::En) => format!("Until {}", f(e)),
        (None, Some(e), Locale::Fr) => format!("Jusqu’au {}", f(e)),
        (None, None, _) => return None,
    })
}

/// A decimal with the locale's decimal separator and no trailing zeros
/// ("1.5" / "1,5", "2").
pub fn format_decimal(value: Decimal, locale: Locale) -> String {
    let text = value.normalize().to_string();
    match locale {
        Locale::En => text,
        Locale::Fr => text.replace('.', ","),
    }
}

/// A tax rate: "20%" / "20 %" (French puts a narrow no-break space before
/// the percent sign, as CLDR does), "5.5%" / "5,5 %".
pub fn format_rate(rate: Decimal, locale: Locale) -> String {
    let number = format_decimal(rate, locale);
    match locale {
        Locale::En => format!("{number}%"),
        Locale::Fr => format!("{number}\u{202F}%"),
    }
}

/// All fixed texts of the template, in one language.
#[derive(Debug, Serialize)]
pub struct Labels {
    pub number: &'static str,
    pub issue_date: &'static str,
    pub due_date: &'static str,
    pub payment_date: &'static str,
    pub refund_date: &'static str,
    pub bill_to: &'static str,
    pub attention: &'static str,
    pub vat_number: &'static str,
    pub credits_invoice: &'static str,
    pub reason: &'static str,
    pub description: &'static str,
    pub quantity: &'static str,
    pub unit_price: &'static str,
    pub discount: &'static str,
    pub tax_rate: &'static str,
    pub amount: &'static str,
    pub tax_breakdown: &'static str,
    pub rate: &'static str,
    pub base: &'static str,
    pub tax_amount: &'static str,
    pub subtotal: &'static str,
    pub tax: &'static str,
    pub total: &'static str,
    pub payment: &'static str,
    pub page: &'static str,
}

impl Labels {
    pub const fn of(locale: Locale) -> &'static Labels {
        match locale {
            Locale::En => &EN,
            Locale::Fr => &FR,
        }
    }
}

static EN: Labels = Labels {
    number: "No.",
    issue_date: "Issue date",
    due_date: "Due date",
    payment_date: "Payment date",
    refund_date: "Refund date",
    bill_to: "Bill to",
    attention: "Attn.",
    vat_number: "VAT number",
    credits_invoice: "Credit note for invoice",
    reason: "Reason:",
    description: "Description",
    quantity: "Qty",
    unit_price: "Unit price",
    discount: "Discount",
    tax_rate: "VAT",
    amount: "Amount excl. tax",
    tax_breakdown: "VAT breakdown",
    rate: "Rate",
    base: "Taxable amount",
    tax_amount: "VAT amount",
    subtotal: "Subtotal excl. tax",
    tax: "VAT",
    total: "Total incl. tax",
    payment: "Payment",
    page: "Page",
};

static FR: Labels = Labels {
    number: "N°",
    issue_date: "Date d’émission",
    due_date: "Date d’échéance",
    payment_date: "Date de paiement",
    refund_date: "Date de remboursement",
    bill_to: "Facturé à",
    attention: "À l’attention de",
    vat_number: "N° de TVA",
    credits_invoice: "Avoir sur la facture",
    reason: "Motif\u{a0}:",
    description: "Désignation",
    quantity: "Qté",
    unit_price: "Prix unitaire HT",
    discount: "Remise",
    tax_rate: "TVA",
    amount: "Montant HT",
    tax_breakdown: "Détail de la TVA",
    rate: "Taux",
    base: "Base HT",
    tax_amount: "Montant TVA",
    subtotal: "Total HT",
    tax: "TVA",
    total: "Total TTC",
    payment: "Paiement",
    page: "Page",
};

/// The document title ("Invoice" / "Facture", "Credit note" / "Avoir").
pub fn title(kind: &DocumentKind, locale: Locale) -> &'static str {
    match (kind, locale) {
        (DocumentKind::Invoice, Locale::En) => "Invoice",
        (DocumentKind::Invoice, Locale::Fr) => "Facture",
        (DocumentKind::CreditNote { .. }, Locale::En) => "Credit note",
        (DocumentKind::CreditNote { .. }, Locale::Fr) => "Avoir",
    }
}

/// The short status badge ("PAID", "À PAYER"...). French agrees with the
/// document's gender: "facture" is feminine, "avoir" masculine.
pub fn status_label(status: PaymentStatus, credit_note: bool, locale: Locale) -> &'static str {
    match (status, locale) {
        (PaymentStatus::Paid, Locale::En) => "Paid",
        (PaymentStatus::Paid, Locale::Fr) if credit_note => "Réglé",
        (PaymentStatus::Paid, Locale::Fr) => "Payée",
        (PaymentStatus::Due, Locale::En) => "Due",
        (PaymentStatus::Due, Locale::Fr) => "À payer",
        (PaymentStatus::Refunded, Locale::En) => "Refunded",
        (PaymentStatus::Refunded, Locale::Fr) => "Remboursé",
        (PaymentStatus::NothingDue, Locale::En) => "Nothing to pay",
        (PaymentStatus::NothingDue, Locale::Fr) => "Rien à payer",
    }
}

/// The payment sentence: "Paid by card ****4242", "To be paid by bank
/// transfer", "Direct debit on 3 December 2026"...
pub fn payment_sentence(
    status: PaymentStatus,
    method: Option<&PaymentMethod>,
    credit_note: bool,
    locale: Locale,
) -> String {
    use PaymentMethod as M;
    use PaymentStatus as S;
    let fr = locale == Locale::Fr;
    let date = |d: &Option<Date>| d.map(|d| format_date(d, locale));
    match (status, method) {
        (S::Paid, None) => pick(fr, "Paid", if credit_note { "Réglé" } else { "Payée" }).into(),
        (S::Paid, Some(m)) => {
            let paid = if credit_note { "Réglé" } else { "Payée" };
            match m {
                M::Card { last4 } => pick_owned(
                    fr,
                    format!("Paid by card ****{last4}"),
                    format!("{paid} par carte ****{last4}"),
                ),
                M::DirectDebit { date: d } => match date(d) {
                    Some(d) => pick_owned(
                        fr,
                        format!("Paid by direct debit on {d}"),
                        format!("{paid} par prélèvement SEPA le {d}"),
                    ),
                    None => pick_owned(
                        fr,
                        "Paid by direct debit".into(),
                        format!("{paid} par prélèvement SEPA"),
                    ),
                },
                M::BankTransfer => pick_owned(
                    fr,
                    "Paid by bank transfer".into(),
                    format!("{paid} par virement bancaire"),
                ),
                M::Check => pick_owned(fr, "Paid by check".into(), format!("{paid} par chèque")),
                M::Cash => pick_owned(fr, "Paid in cash".into(), format!("{paid} en espèces")),
                M::Other { name } => {
                    pick_owned(fr, format!("Paid: {name}"), format!("{paid} : {name}"))
                }
            }
        }
        (S::Due, None) => pick(fr, "To be paid", "À régler").into(),
        (S::Due, Some(m)) => match m {
            M::Card { last4 } => pick_owned(
                fr,
                format!("To be charged to card ****{last4}"),
                format!("Sera débitée sur la carte ****{last4}"),
            ),
            M::DirectDebit { date: d } => match date(d) {
                Some(d) => pick_owned(
                    fr,
                    format!("Direct debit on {d}"),
                    format!("Prélèvement SEPA le {d}"),
                ),
                None => pick(
                    fr,
                    "To be paid by direct debit",
                    "À régler par prélèvement SEPA",
                )
                .into(),
            },
            M::BankTransfer => pick(
                fr,
                "To be paid by bank transfer",
                "À régler par virement bancaire",
            )
            .into(),
            M::Check => pick(fr, "To be paid by check", "À régler par chèque").into(),
            M::Cash => pick(fr, "To be paid in cash", "À régler en espèces").into(),
            M::Other { name } => pick_owned(
                fr,
                format!("To be paid: {name}"),
                format!("À régler : {name}"),
            ),
        },
        (S::Refunded, None) => pick(fr, "Refunded", "Remboursé").into(),
        (S::Refunded, Some(m)) => match m {
            M::Card { last4 } => pick_owned(
                fr,
                format!("Refunded to card ****{last4}"),
                format!("Remboursé sur la carte ****{last4}"),
            ),
            M::DirectDebit { .. } | M::BankTransfer => pick(
                fr,
                "Refunded by bank transfer",
                "Remboursé par virement bancaire",
            )
            .into(),
            M::Check => pick(fr, "Refunded by check", "Remboursé par chèque").into(),
            M::Cash => pick(fr, "Refunded in cash", "Remboursé en espèces").into(),
            M::Other { name } => pick_owned(
                fr,
                format!("Refunded: {name}"),
                format!("Remboursé : {name}"),
            ),
        },
        (S::NothingDue, _) => pick(
            fr,
            "Nothing to pay: the credited invoice is cancelled",
            "Aucun paiement : la facture créditée est annulée",
        )
        .into(),
    }
}

fn pick(fr: bool, en: &'static str, french: &'static str) -> &'static str {
    if fr { french } else { en }
}

fn pick_owned(fr: bool, en: String, french: String) -> String {
    if fr { french } else { en }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use rust_decimal::dec;

    #[test]
    fn dates_per_language() {
        assert_eq!(
            format_date(date(2026, 11, 30), Locale::En),
            "30 November 2026"
        );
        assert_eq!(
            format_date(date(2026, 11, 30), Locale::Fr),
            "30 novembre 2026"
        );
        assert_eq!(
            format_date(date(2026, 12, 1), Locale::Fr),
            "1er décembre 2026"
        );
        assert_eq!(format_date(date(2026, 2, 3), Locale::En), "3 February 2026");
    }

    #[test]
    fn rates_and_quantities() {
        assert_eq!(format_rate(dec!(20.00), Locale::En), "20%");
        assert_eq!(format_rate(dec!(5.5), Locale::Fr), "5,5\u{202F}%");
        assert_eq!(format_decimal(dec!(1.50), Locale::Fr), "1,5");
        assert_eq!(format_decimal(dec!(3), Locale::En), "3");
    }

    #[test]
    fn payment_sentences() {
        let card = PaymentMethod::Card {
            last4: "4242".into(),
        };
        assert_eq!(
            payment_sentence(PaymentStatus::Paid, Some(&card), false, Locale::En),
            "Paid by card ****4242"
        );
        assert_eq!(
            payment_sentence(
                PaymentStatus::Due,
                Some(&PaymentMethod::BankTransfer),
                false,
                Locale::En
            ),
            "To be paid by bank transfer"
        );
        let debit = PaymentMethod::DirectDebit {
            date: Some(date(2026, 12, 3)),
        };
        assert_eq!(
            payment_sentence(PaymentStatus::Due, Some(&debit), false, Locale::En),
            "Direct debit on 3 December 2026"
        );
        assert_eq!(
            payment_sentence(PaymentStatus::Due, Some(&debit), false, Locale::Fr),
            "Prélèvement SEPA le 3 décembre 2026"
        );
    }
}
