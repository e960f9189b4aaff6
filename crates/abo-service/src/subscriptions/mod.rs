//! Subscriptions: create, start, move the term, suspend, change offer,
//! terminate, and read (spec §1.6, billing-rules "Subscription life" and
//! "Proration").
//!
//! Every use case runs in one transaction: it loads the subscription, asks
//! the core whether the event is legal (`SubscriptionState::apply`; an
//! illegal one is a [`ServiceError::Conflict`] carrying the core's message),
//! lays periods out with the core's anchor-based arithmetic in the segment's
//! time zone, saves, and writes the balance lines the change causes.
//!
//! # The schedule of a subscription
//! - `billing_anchor` is the local date paid periods are laid out from (the
//!   start date, or the end of the trial): period `n` is always
//!   `recurrence.nth_period(anchor, n)`, never chained from the previous one.
//! - `date_period_start_us` / `date_period_end_us` are the local midnights of
//!   the current period's dates; `date_term_us` is the period end unless the
//!   term was moved (`POST …/DateTerm`) or a termination date was chosen.
//! - `period_index` is the ordinal of the current period, counting a trial
//!   as period 0. It only grows, so balance-line keys built on it are never
//!   reused (see below).
//!
//! # Balance lines and their natural keys
//! Every line a subscription causes is keyed
//! `subscription={id}:period={period_index}:{kind}` (kinds: `upfront`,
//! `trial`, `recurrence`, `termination-credit`, `termination-fee`,
//! `upgrade-credit`, `upgrade-charge`), unique per business, so a retried
//! request can never charge twice. The billing engine renews with the same
//! scheme (`…:period={n}:recurrence`). Lines are written for the buyer (the
//! customer who pays). Zero amounts write no line.
//!
//! # Decisions (where ProAbono's public material is silent)
//! - **Create without `TryStart`** gives `DraftAgent` (made by the merchant,
//!   started later with `POST …/Start`). **`TryStart`** starts now unless
//!   something is due at start (up-front fee plus the first period's price:
//!   the trial's amount when there is a trial, else the recurrence) and the
//!   buyer has no usable payment method (`TypePayment` other than `Free`);
//!   then the subscription is `DraftCustomer`: the customer has to finish by
//!   registering a payment method. A free offer, or a free trial, therefore
//!   starts without a card ("a welcome offer must not require payment at
//!   start", spec §1.6); the missing method is handled at renewal
//!   (`SuspendedNoPaymentInfo`). **`Migration`** starts the subscription
//!   (it was already running elsewhere) and writes no line for its first
//!   period nor its up-front fee. A **future `DateStart`** gives
//!   `DraftDelayedStart` whatever the flags; its first period is laid out
//!   for display.
//! - **`EnsureBillable`** refuses (403 `Error.Customer.PaymentSettings.Missing`)
//!   when the buyer has no usable payment method, before anything is written.
//! - **`POST …/Start`** is the merchant's start: it does not need a payment
//!   method unless `EnsureBillable` is set (the lines are due either way;
//!   collection is the billing engine's concern).
//! - **`BillNow`** enqueues a `BillCustomer` job (outbox, natural key per
//!   subscription and period) for the billing engine.
//! - **Backdated start**: periods are laid out from the given date; the
//!   subscription is in the period that contains today, and only that period
//!   is charged (with the up-front fee). Earlier periods are not charged.
//! - **Commitment** (`CountMinRecurrences` = m): the customer is engaged
//!   until the end of the m-th paid period. An immediate change of offer
//!   while engaged, or a change at term when the term is before that end, is
//!   refused (403 `Error.Subscription.Engaged`) unless `IgnoreEngagement`.
//!   Termination by the merchant is allowed; an immediate termination while
//!   engaged adds the termination fee (`AmountTermination`).
//! - **Immediate change of offer** keeps the billing anchor; the new offer's
//!   up-front fee is not charged (the customer is not new). A subscription
//!   still in trial has no paid period to prorate: the new offer's trial is
//!   counted from the old subscription's start (so the trial already used is
//!   deducted), and if none is left the new offer's first full period starts
//!   today. Limitation quantities (persistent) carry over to the new
//!   subscription when its offer has the feature.
//! - **Change at term** (`Immediate=false`): the old subscription becomes
//!   `ActiveDelayedUpgrade`; the new one is `DraftDelayedUpgrade`, starting at
//!   the old term, found by the billing engine as the customer's
//!   `DraftDelayedUpgrade` whose `DateStart` is that term.
//! - **Termination** with `DateTermination`: a future date must fall within
//!   the current period and becomes the term (`ActiveDelayedTermination`); a
//!   date not after now terminates immediately from that date, which must be
//!   in the current period. An immediate termination credits the unused part
//!   of the current period (`-amount × remaining days / period days`) when
//!   the subscription is active; a suspended one has no paid period running.
//! - **Moving the term** of an active subscription moves the renewal: the
//!   current period ends at the new term and later periods are laid out from
//!   its local date. Drafts just record the date; ended subscriptions refuse
//!   (409).

mod create;
mod lifecycle;
mod query;
pub(crate) mod schedule;
mod upgrade;
mod view;

pub use create::{CreateFlags, CreateSubscription, FeatureOverride, Overrides, create};
pub use lifecycle::{
    StartOptions, TerminationOptions, move_term, request_suspension, start, terminate,
};
pub use query::{ListFilter, get, get_for_customer, list, list_of_customer};
pub use upgrade::{UpgradeOptions, upgrade};
pub use view::{FeatureView, SubscriptionView};

pub(crate) use create::create_in;
pub(crate) use lifecycle::start_in;
pub(crate) use lifecycle::{pending_upgrade, save_schedule};
pub(crate) use upgrade::upgrade_in;

/// The 403 code when a change of offer is refused during the commitment.
pub const ENGAGED: &str = "Error.Subscription.Engaged";
/// The 403 code when the buyer cannot be billed (ProAbono's own code).
pub const PAYMENT_SETTINGS_MISSING: &str = "Error.Customer.PaymentSettings.Missing";
/// The 403 code when the customer is suspended (no new subscription).
pub const CUSTOMER_SUSPENDED: &str = "Error.Customer.Suspended";
