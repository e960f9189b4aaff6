//! The events that move a subscription from state to state.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::state::SubscriptionState;

string_enum! {
    /// Every cause of a change of `StateSubscription`.
    pub enum SubscriptionEvent {
        /// Start now (`POST …/Start`, `TryStart`), also ahead of a scheduled
        /// start.
        Start,
        /// Schedule the start at a future `DateStart`.
        StartDelayed,
        /// The scheduled start date is reached (also: the term of the
        /// subscription a `DraftDelayedUpgrade` replaces).
        ReachDelayedStart,
        /// Terminate at the end of the current period (the default
        /// termination; cancellable until then).
        RequestTermination,
        /// Withdraw a termination requested for the end of the period.
        CancelTermination,
        /// Terminate immediately (`Immediate=true`); the service credits the
        /// unused part of the period.
        TerminateNow,
        /// The term of an `ActiveDelayed*` state is reached: the delayed
        /// effect happens.
        ReachTerm,
        /// A running subscription renews for one more period.
        Renew,
        /// The merchant suspends at the end of the period (suspension is
        /// "at renewal").
        RequestSuspension,
        /// Withdraw a suspension requested for the end of the period.
        CancelSuspension,
        /// The merchant (agent) suspends immediately.
        SuspendNow,
        /// Renewal blocked: no payment method and the segment blocks such
        /// renewals (the default).
        RenewalWithoutPaymentMethod,
        /// Renewal blocked: unpaid thresholds exceeded.
        RenewalWithPaymentDue,
        /// Restart a suspended subscription (`POST …/Start`); the service
        /// renews it if its period has ended.
        Restart,
        /// Immediate plan change: this subscription ends, a new one starts.
        Upgrade,
        /// Plan change at renewal: this subscription ends at its term.
        ScheduleUpgrade,
        /// Withdraw a plan change scheduled for the term (on the running
        /// subscription it returns to running; the draft that would have
        /// replaced it is deleted).
        CancelScheduledUpgrade,
        /// `CountRecurrences` is reached: the subscription is complete.
        EndComplete,
        /// Delete a draft or an ended subscription.
        Delete,
    }
}

impl SubscriptionEvent {
    /// A short human description, used in error messages.
    pub const fn description(self) -> &'static str {
        use SubscriptionEvent::*;
        match self {
            Start => "start",
            StartDelayed => "schedule the start of",
            ReachDelayedStart => "reach the scheduled start of",
            RequestTermination => "terminate at the end of the period",
            CancelTermination => "cancel the termination of",
            TerminateNow => "terminate now",
            ReachTerm => "reach the term of",
            Renew => "renew",
            RequestSuspension => "suspend at the end of the period",
            CancelSuspension => "cancel the suspension of",
            SuspendNow => "suspend now",
            RenewalWithoutPaymentMethod => "suspend for a missing payment method",
            RenewalWithPaymentDue => "suspend for payment due",
            Restart => "restart",
            Upgrade => "change the offer of",
            ScheduleUpgrade => "schedule an offer change for",
            CancelScheduledUpgrade => "cancel the scheduled offer change of",
            EndComplete => "complete",
            Delete => "delete",
        }
    }
}

/// An event the current state does not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct IllegalTransition {
    pub from: SubscriptionState,
    pub event: SubscriptionEvent,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} a subscription in state {} (event {})",
            self.event.description(),
            self.from,
            self.event
        )
    }
}

impl SubscriptionState {
    /// The state after `event`, or an error naming the state and the event.
    ///
    /// The table, by event (ProAbono spec §1.6 and billing-rules "Subscription
    /// life"); everything not listed is illegal:
    ///
    /// | event | from | to |
    /// |---|---|---|
    /// | Start | DraftCustomer, DraftAgent, DraftDelayedStart | ActiveRunning |
    /// | StartDelayed | DraftCustomer, DraftAgent | DraftDelayedStart |
    /// | ReachDelayedStart | DraftDelayedStart, DraftDelayedUpgrade | ActiveRunning |
    /// | RequestTermination | ActiveRunning, ActiveDelayedSuspension | ActiveDelayedTermination |
    /// | CancelTermination | ActiveDelayedTermination | ActiveRunning |
    /// | TerminateNow | Active*, Suspended* | EndedTerminated |
    /// | ReachTerm | ActiveDelayed* | its `state_after_term()` |
    /// | Renew | ActiveRunning | ActiveRunning |
    /// | RequestSuspension | ActiveRunning | ActiveDelayedSuspension |
    /// | CancelSuspension | ActiveDelayedSuspension | ActiveRunning |
    /// | SuspendNow | ActiveRunning, ActiveDelayedSuspension | SuspendedAgent |
    /// | RenewalWithoutPaymentMethod | ActiveRunning | SuspendedNoPaymentInfo |
    /// | RenewalWithPaymentDue | ActiveRunning | SuspendedPaymentDue |
    /// | Restart | Suspended* | ActiveRunning |
    /// | Upgrade | ActiveRunning, ActiveDelayedTermination, ActiveDelayedSuspension, Suspended* | EndedUpgrade |
    /// | ScheduleUpgrade | ActiveRunning | ActiveDelayedUpgrade |
    /// | CancelScheduledUpgrade | ActiveDelayedUpgrade → ActiveRunning; DraftDelayedUpgrade → Deleted | |
    /// | EndComplete | ActiveRunning, ActiveDelayedTermination, ActiveDelayedSuspension | EndedComplete |
    /// | Delete | Draft*, Ended* | Deleted |
    ///
    /// Choices worth knowing: a termination request replaces a pending
    /// suspension (both wait for the term, termination is stronger); a
    /// pending plan change must be cancelled before terminating, suspending
    /// or changing again, so that its draft is never left orphaned; when the
    /// last recurrence ends with a plan change pending, `ReachTerm` (the
    /// change) wins over `EndComplete`.
    pub fn apply(self, event: SubscriptionEvent) -> Result<SubscriptionState, IllegalTransition> {
        use SubscriptionEvent as E;
        use SubscriptionState::*;
        let next = match (event, self) {
            (E::Start, DraftCustomer | DraftAgent | DraftDelayedStart) => Some(ActiveRunning),
            (E::StartDelayed, DraftCustomer | DraftAgent) => Some(DraftDelayedStart),
            (E::ReachDelayedStart, DraftDelayedStart | DraftDelayedUpgrade) => Some(ActiveRunning),
            (E::RequestTermination, ActiveRunning | ActiveDelayedSuspension) => {
                Some(ActiveDelayedTermination)
            }
            (E::CancelTermination, ActiveDelayedTermination) => Some(ActiveRunning),
            (
                E::TerminateNow,
                ActiveRunning
                | ActiveDelayedUpgrade
                | ActiveDelayedTermination
                | ActiveDelayedSuspension
                | SuspendedAgent
                | SuspendedNoPaymentInfo
                | SuspendedPaymentDue,
            ) => Some(EndedTerminated),
            (E::ReachTerm, state) => state.state_after_term(),
            (E::Renew, ActiveRunning) => Some(ActiveRunning),
            (E::RequestSuspension, ActiveRunning) => Some(ActiveDelayedSuspension),
            (E::CancelSuspension, ActiveDelayedSuspension) => Some(ActiveRunning),
            (E::SuspendNow, ActiveRunning | ActiveDelayedSuspension) => Some(SuspendedAgent),
            (E::RenewalWithoutPaymentMethod, ActiveRunning) => Some(SuspendedNoPaymentInfo),
            (E::RenewalWithPaymentDue, ActiveRunning) => Some(SuspendedPaymentDue),
            (E::Restart, SuspendedAgent | SuspendedNoPaymentInfo | SuspendedPaymentDue) => {
                Some(ActiveRunning)
            }
            (
                E::Upgrade,
                ActiveRunning
                | ActiveDelayedTermination
                | ActiveDelayedSuspension
                | SuspendedAgent
                | SuspendedNoPaymentInfo
                | SuspendedPaymentDue,
            ) => Some(EndedUpgrade),
            (E::ScheduleUpgrade, ActiveRunning) => Some(ActiveDelayedUpgrade),
            (E::CancelScheduledUpgrade, ActiveDelayedUpgrade) => Some(ActiveRunning),
            (E::CancelScheduledUpgrade, DraftDelayedUpgrade) => Some(Deleted),
            (
                E::EndComplete,
                ActiveRunning | ActiveDelayedTermination | ActiveDelayedSuspension,
            ) => Some(EndedComplete),
            (
                E::Delete,
                DraftCustomer | DraftAgent | DraftDelayedStart | DraftDelayedUpgrade
                | EndedComplete | EndedUpgrade | EndedTerminated,
            ) => Some(Deleted),
            _ => None,
        };
        next.ok_or(IllegalTransition { from: self, event })
    }

    /// Whether `event` is legal in this state.
    pub fn accepts(self, event: SubscriptionEvent) -> bool {
        self.apply(event).is_ok()
    }

    /// The events this state accepts.
    pub fn accepted_events(self) -> impl Iterator<Item = SubscriptionEvent> {
        SubscriptionEvent::ALL
            .iter()
            .copied()
            .filter(move |e| self.accepts(*e))
    }
}
