//! Credit notes (spec §1.9; billing-rules: "Credit notes never exceed what
//! they credit: when several partial credit notes add up, the last one
//! absorbs the rounding").
//!
//! An issued invoice is never changed: cancelling it or refunding it issues
//! a credit note. A credit note is computed per tax rate against what the
//! invoice and the credit notes already issued leave creditable, so that:
//! - no credit note, base or tax, exceeds what remains at its rate;
//! - a credit note that takes the whole remaining base of a rate takes the
//!   whole remaining tax of that rate, rather than re-rounding: partial
//!   credit notes that add up to the invoice add up to it exactly, per rate.
//!
//! Amounts of a credit note are positive: what is credited.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::CoreError;

use super::invoice::{InvoiceEvent, TaxAmount};
use super::percent::{base_of_gross, percent_of};

string_enum! {
    /// ProAbono's `TypeCredit` of a credit note (absent on an invoice).
    pub enum TypeCredit {
        /// Money paid is given back (the invoice ends `PaidRefunded` once
        /// fully credited).
        Refund,
        /// An unpaid invoice is cancelled (the invoice ends `Void`).
        Voiding,
    }
}

/// What a credit note credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreditRequest {
    /// Everything that remains creditable, at every rate.
    Full,
    /// These bases, tax excluded, per rate (percent, minor units).
    Bases(Vec<(Decimal, i64)>),
    /// This amount, tax included; on an invoice with several tax rates,
    /// shared between them in proportion to what remains at each.
    Total(i64),
}

/// A credit note before it is issued (it gets its own number, from its own
/// sequence, when issued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteDraft {
    pub type_credit: TypeCredit,
    /// Per rate of the invoice that this note credits, in the invoice's
    /// order.
    pub tax_breakdown: Vec<TaxAmount>,
    pub subtotal: i64,
    pub tax: i64,
    /// `subtotal + tax`.
    pub total: i64,
    /// Whether the invoice is fully credited once this note is issued.
    pub completes_invoice: bool,
}

impl CreditNoteDraft {
    /// The invoice event this note causes: a voiding note cancels the
    /// invoice; a refund that completes it makes it `PaidRefunded`; a
    /// partial refund leaves its state alone.
    pub fn invoice_event(&self) -> Option<InvoiceEvent> {
        match (self.type_credit, self.completes_invoice) {
            (TypeCredit::Voiding, _) => Some(InvoiceEvent::Cancel),
            (TypeCredit::Refund, true) => Some(InvoiceEvent::Refund),
            (TypeCredit::Refund, false) => None,
        }
    }
}

/// What remains creditable at one rate.
#[derive(Debug, Clone, Copy)]
struct Remaining {
    rate: Decimal,
    base: i64,
    tax: i64,
}

fn invalid(reason: impl Into<String>) -> CoreError {
    CoreError::Invalid {
        what: "credit note",
        reason: reason.into(),
    }
}

fn overflow() -> CoreError {
    CoreError::Overflow("credit note")
}

/// The next credit note of an invoice whose breakdown is `invoice` (its
/// `tax_breakdown`), given the breakdowns of the credit notes already
/// issued for it (`previous`, all entries of all notes).
///
/// A voiding note credits everything that remains ([`CreditRequest::Full`]
/// only): cancelling half an invoice is a refund, not a cancellation.
pub fn credit_note(
    invoice: &[TaxAmount],
    previous: &[TaxAmount],
    type_credit: TypeCredit,
    request: &CreditRequest,
) -> Result<CreditNoteDraft, CoreError> {
    let mut remaining: Vec<Remaining> = invoice
        .iter()
        .map(|t| Remaining {
            rate: t.rate,
            base: t.base,
            tax: t.amount,
        })
        .collect();
    for credited in previous {
        let r = remaining
            .iter_mut()
            .find(|r| r.rate == credited.rate)
            .ok_or_else(|| {
                invalid(format!(
                    "a credit note at {} % credits no rate of the invoice",
                    credited.rate
                ))
            })?;
        r.base = r.base.checked_sub(credited.base).ok_or_else(overflow)?;
        r.tax = r.tax.checked_sub(credited.amount).ok_or_else(overflow)?;
    }
    let credits: Vec<TaxAmount> = match request {
        CreditRequest::Full => remaining
            .iter()
            .filter(|r| r.base != 0 || r.tax != 0)
            .map(|r| TaxAmount {
                rate: r.rate,
                base: r.base,
                amount: r.tax,
            })
            .collect(),
        _ if type_credit == TypeCredit::Voiding => {
            return Err(invalid("a voiding credit note cancels the whole invoice"));
        }
        CreditRequest::Bases(bases) => partial_bases(&remaining, bases)?,
        CreditRequest::Total(total) => partial_total(&remaining, *total)?,
    };
    if credits.is_empty() {
        return Err(invalid("nothing remains to credit on this invoice"));
    }
    let subtotal = credits
        .iter()
        .try_fold(0_i64, |sum, c| sum.checked_add(c.base))
        .ok_or_else(overflow)?;
    let tax = credits
        .iter()
        .try_fold(0_i64, |sum, c| sum.checked_add(c.amount))
        .ok_or_else(overflow)?;
    let total = subtotal.checked_add(tax).ok_or_else(overflow)?;
    let completes_invoice = remaining.iter().all(|r| {
        let credited = credits.iter().find(|c| c.rate == r.rate);
        let (base, tax) = credited.map_or((0, 0), |c| (c.base, c.amount));
        r.base == base && r.tax == tax
    });
    Ok(CreditNoteDraft {
        type_credit,
        tax_breakdown: credits,
        subtotal,
        tax,
        total,
        completes_invoice,
    })
}

/// Tax of a partial base at one rate: the rate's remaining tax when the
/// base is all that remains (the last note absorbs the rounding), else the
/// rounded tax, never more than what remains.
fn tax_of(r: &Remaining, base: i64) -> Result<i64, CoreError> {
    if base == r.base {
        Ok(r.tax)
    } else {
        Ok(percent_of(base, r.rate)?.min(r.tax).max(0))
    }
}

fn partial_bases(
    remaining: &[Remaining],
    bases: &[(Decimal, i64)],
) -> Result<Vec<TaxAmount>, CoreError> {
    let mut credits = Vec::with_capacity(bases.len());
    for r in remaining {
        let mut asked = bases.iter().filter(|(rate, _)| *rate == r.rate);
        let Some(&(_, base)) = asked.next() else {
            continue;
        };
        if asked.next().is_some() {
            return Err(invalid(format!("the rate {} % is given twice", r.rate)));
        }
        if base <= 0 {
            return Err(invalid(format!(
                "the base at {} % must be positive",
                r.rate
            )));
        }
        if base > r.base {
            return Err(invalid(format!(
                "{base} at {} % exceeds the {} that remains creditable",
                r.rate,
                r.base.max(0)
            )));
        }
        credits.push(TaxAmount {
            rate: r.rate,
            base,
            amount: tax_of(r, base)?,
        });
    }
    if let Some((rate, _)) = bases
        .iter()
        .find(|(rate, _)| !remaining.iter().any(|r| r.rate == *rate))
    {
        return Err(invalid(format!("the invoice has no rate {rate} %")));
    }
    Ok(credits)
}

/// An amount tax included: on a single-rate invoice, split into base and
/// tax; on a multi-rate one, first shared between the rates in proportion
/// to what remains creditable at each (tax included), to the cent, by
/// largest remainder, so that the parts add up to the amount exactly.
fn partial_total(remaining: &[Remaining], total: i64) -> Result<Vec<TaxAmount>, CoreError> {
    let lefts = remaining
        .iter()
        .map(|r| Ok(r.base.checked_add(r.tax).ok_or_else(overflow)?.max(0)))
        .collect::<Result<Vec<i64>, CoreError>>()?;
    let left = lefts
        .iter()
        .try_fold(0_i64, |sum, l| sum.checked_add(*l))
        .ok_or_else(overflow)?;
    if total <= 0 {
        return Err(invalid("the amount must be positive"));
    }
    if total > left {
        return Err(invalid(format!(
            "{total} exceeds the {left} that remains creditable"
        )));
    }
    let mut credits = Vec::with_capacity(remaining.len());
    for ((r, left), gross) in remaining.iter().zip(&lefts).zip(shares(total, &lefts)) {
        if gross > 0 {
            credits.push(split(r, gross, *left)?);
        }
    }
    Ok(credits)
}

/// `total` shared in proportion to `weights`, whose sum is at least
/// `total`, itself positive ([`partial_total`] checks both): each share is
/// the floor of its exact part, and the cents left go one each to the
/// largest fractional parts (the first in order on a tie). No share exceeds
/// its weight.
fn shares(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    let exact: Vec<(i64, i128)> = weights
        .iter()
        .map(|w| {
            let product = i128::from(total) * i128::from(*w);
            // Fits: each share is at most its weight.
            ((product / sum) as i64, product % sum)
        })
        .collect();
    let mut out: Vec<i64> = exact.iter().map(|(floor, _)| *floor).collect();
    let mut left = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        if exact[i].1 > 0 {
            out[i] += 1;
            left -= 1;
        }
    }
    out
}

/// `gross` (tax included, at most what remains at `r`'s rate, `left`) split
/// into base and tax: all that remains when it is all, else the base of the
/// gross at the rate, each kept within what remains; the two add up to
/// `gross` exactly.
fn split(r: &Remaining, gross: i64, left: i64) -> Result<TaxAmount, CoreError> {
    let (base, tax) = if gross == left {
        (r.base, r.tax)
    } else {
        let base = base_of_gross(gross, r.rate)?;
        let tax = gross - base;
        if tax > r.tax {
            (gross - r.tax, r.tax)
        } else if base > r.base {
            (r.base, gross - r.base)
        } else {
            (base, tax)
        }
    };
    Ok(TaxAmount {
        rate: r.rate,
        base,
        amount: tax,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn invoice() -> Vec<TaxAmount> {
        vec![
            TaxAmount {
                rate: dec!(5.5),
                base: 1000,
                amount: 55,
            },
            TaxAmount {
                rate: dec!(20),
                base: 10000,
                amount: 2000,
            },
        ]
    }

    #[test]
    fn full_voiding_cancels_the_invoice() {
        let note = credit_note(&invoice(), &[], TypeCredit::Voiding, &CreditRequest::Full).unwrap();
        assert_eq!((note.subtotal, note.tax, note.total), (11000, 2055, 13055));
        assert!(note.completes_invoice);
        assert_eq!(note.invoice_event(), Some(InvoiceEvent::Cancel));
        assert!(
            credit_note(
                &invoice(),
                &[],
                TypeCredit::Voiding,
                &CreditRequest::Total(100)
            )
            .is_err()
        );
    }

    #[test]
    fn partial_bases_are_checked() {
        let inv = invoice();
        let refund = |bases: Vec<(Decimal, i64)>| {
            credit_note(&inv, &[], TypeCredit::Refund, &CreditRequest::Bases(bases))
        };
        assert!(refund(vec![(dec!(20), 10001)]).is_err());
        assert!(refund(vec![(dec!(20), 0)]).is_err());
        assert!(refund(vec![(dec!(10), 100)]).is_err());
        assert!(refund(vec![(dec!(20), 100), (dec!(20), 100)]).is_err());
        let note = refund(vec![(dec!(20.0), 3333)]).unwrap();
        assert_eq!(note.tax_breakdown[0].amount, 667);
        assert!(!note.completes_invoice);
        assert_eq!(note.invoice_event(), None);
    }

    #[test]
    fn an_amount_is_shared_between_the_rates() {
        // 13055 remain: 1055 at 5.5 %, 12000 at 20 %. 1000 tax included:
        // 80.81 and 919.19 exactly, so 81 and 919 (the larger remainder
        // takes the cent), each split into base and tax at its rate.
        let inv = invoice();
        let note = credit_note(&inv, &[], TypeCredit::Refund, &CreditRequest::Total(1000)).unwrap();
        assert_eq!(
            note.tax_breakdown,
            vec![
                TaxAmount {
                    rate: dec!(5.5),
                    base: 77,
                    amount: 4
                },
                TaxAmount {
                    rate: dec!(20),
                    base: 766,
                    amount: 153
                },
            ]
        );
        assert_eq!((note.subtotal, note.tax, note.total), (843, 157, 1000));
        assert!(!note.completes_invoice);
        // The rest, by amount: everything left at each rate, exactly.
        let rest = credit_note(
            &inv,
            &note.tax_breakdown,
            TypeCredit::Refund,
            &CreditRequest::Total(12055),
        )
        .unwrap();
        assert!(rest.completes_invoice);
        assert_eq!((rest.subtotal, rest.tax), (11000 - 843, 2055 - 157));
        assert!(
            credit_note(
                &inv,
                &note.tax_breakdown,
                TypeCredit::Refund,
                &CreditRequest::Total(12056)
            )
            .is_err()
        );
    }

    #[test]
    fn nothing_left_to_credit() {
        let inv = invoice();
        let all = credit_note(&inv, &[], TypeCredit::Refund, &CreditRequest::Full).unwrap();
        assert_eq!(all.invoice_event(), Some(InvoiceEvent::Refund));
        assert!(
            credit_note(
                &inv,
                &all.tax_breakdown,
                TypeCredit::Refund,
                &CreditRequest::Full
            )
            .is_err()
        );
    }
}
