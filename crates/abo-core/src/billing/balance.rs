//! Balance lines (spec §1.8): every charge or credit is first a line of the
//! customer's balance; billing turns the due lines into one invoice.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::period::Period;

string_enum! {
    /// ProAbono's `TypeLine`: what a balance line is for.
    pub enum TypeLine {
        /// A balance carried from one billing to the next.
        AutoBillingReport,
        /// A credit that is kept on the balance, never paid back.
        AutoBillingNoRepayment,
        /// A partial refund.
        AutoRefundPartial,
        /// The recurring fee of a full period (`AmountRecurrence`).
        AutoSubscriptionRecurrence,
        /// The recurring fee of part of a period (plan change, stub period).
        AutoSubscriptionRecurrenceProrata,
        /// The up-front fee (`AmountUpFront`).
        AutoSubscriptionUpfront,
        /// The trial fee (`AmountTrial`).
        AutoSubscriptionTrial,
        /// The trial fee of part of a trial.
        AutoSubscriptionTrialProrata,
        /// The early termination fee (`AmountTermination`).
        AutoSubscriptionTermination,
        /// A feature charge that is never prorated (consumption in arrears).
        AutoFeatureNotProratable,
        /// A feature charge for a full period (limitation in advance).
        AutoFeatureProratable,
        /// A feature charge for part of a period (mid-period increase).
        AutoFeatureProrata,
        AutoDiscountRecurrenceFlat,
        AutoDiscountRecurrencePercent,
        AutoDiscountUpfrontFlat,
        AutoDiscountUpfrontPercent,
        AutoDiscountFeatureFlat,
        AutoDiscountFeaturePercent,
        /// A one-off line added by the merchant.
        Manual,
        /// A one-off discount added by the merchant.
        ManualDiscount,
        /// A one-off line that may be merged with others of its kind.
        ManualMergeable,
        /// A referral reward.
        CustomerReferral,
        /// A credit for a refund.
        CreditRefund,
        /// A promotional credit.
        CreditPromotion,
    }
}

impl TypeLine {
    /// The recurring fee, whole or prorated: what a `Recurrence` discount
    /// reduces.
    pub const fn is_recurrence(self) -> bool {
        matches!(
            self,
            TypeLine::AutoSubscriptionRecurrence | TypeLine::AutoSubscriptionRecurrenceProrata
        )
    }

    /// A feature charge: what a `Feature` discount reduces.
    pub const fn is_feature(self) -> bool {
        matches!(
            self,
            TypeLine::AutoFeatureNotProratable
                | TypeLine::AutoFeatureProratable
                | TypeLine::AutoFeatureProrata
        )
    }

    /// A line produced by a discount, automatic or manual.
    pub const fn is_discount(self) -> bool {
        matches!(
            self,
            TypeLine::AutoDiscountRecurrenceFlat
                | TypeLine::AutoDiscountRecurrencePercent
                | TypeLine::AutoDiscountUpfrontFlat
                | TypeLine::AutoDiscountUpfrontPercent
                | TypeLine::AutoDiscountFeatureFlat
                | TypeLine::AutoDiscountFeaturePercent
                | TypeLine::ManualDiscount
        )
    }
}

string_enum! {
    /// ProAbono's `StateMove`: where a balance line stands.
    pub enum StateMove {
        /// Waiting for the next billing: the only state billing takes.
        Due,
        Adjustment,
        /// Turned into an invoice.
        Billed,
        /// Taken back by a credit note.
        Credited,
        Unpaid,
        Cancelled,
        Deleted,
    }
}

/// When a line applies: ProAbono gives either `DateMove` or
/// `DatePeriodStart`/`DatePeriodEnd`, never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LineDate {
    /// A one-off line (`DateMove`).
    Move(Date),
    /// A line for a period (`DatePeriodStart`, `DatePeriodEnd`).
    Period(Period),
}

impl LineDate {
    pub const fn period(self) -> Option<Period> {
        match self {
            LineDate::Period(period) => Some(period),
            LineDate::Move(_) => None,
        }
    }
}

/// One line of a customer's balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceLine {
    pub type_line: TypeLine,
    pub state_move: StateMove,
    /// `LabelLocalized`, already in the customer's language.
    pub label: String,
    /// `QuantityBilled` (1 for a fee).
    pub quantity: i64,
    /// `AmountSubtotal`, tax excluded, in minor units; negative = credit.
    pub amount_subtotal: i64,
    pub currency: Currency,
    pub date: LineDate,
    /// `KeyCharge`: the nature of the charge (`"Service"`), which may drive
    /// the tax rate.
    pub key_charge: Option<String>,
    pub id_subscription: Option<i64>,
    pub id_feature: Option<i64>,
}

impl BalanceLine {
    /// A due line of a subscription, for a period, quantity 1.
    pub fn due(
        type_line: TypeLine,
        label: impl Into<String>,
        amount_subtotal: i64,
        currency: Currency,
        date: LineDate,
    ) -> BalanceLine {
        BalanceLine {
            type_line,
            state_move: StateMove::Due,
            label: label.into(),
            quantity: 1,
            amount_subtotal,
            currency,
            date,
            key_charge: None,
            id_subscription: None,
            id_feature: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_proabono_names() {
        assert_eq!(TypeLine::ALL.len(), 24);
        assert_eq!(StateMove::ALL.len(), 7);
        for t in TypeLine::ALL {
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<TypeLine>(&json).unwrap(), *t);
        }
        assert_eq!(
            "autodiscountupfrontpercent".parse::<TypeLine>(),
            Ok(TypeLine::AutoDiscountUpfrontPercent)
        );
        // Seen in ProAbono's list example but not in its enum.
        assert!("SubscriptionFee".parse::<TypeLine>().is_err());
        assert_eq!("billed".parse::<StateMove>(), Ok(StateMove::Billed));
    }

    #[test]
    fn families() {
        assert!(TypeLine::AutoSubscriptionRecurrenceProrata.is_recurrence());
        assert!(!TypeLine::AutoSubscriptionTrial.is_recurrence());
        assert!(TypeLine::AutoFeatureProrata.is_feature());
        assert!(TypeLine::ManualDiscount.is_discount());
        assert!(!TypeLine::CreditPromotion.is_discount());
    }
}
