//! `Status` and `StateSubscription`.

string_enum! {
    /// ProAbono's `Status` of a subscription: the group of its state.
    pub enum SubscriptionStatus {
        Draft,
        Active,
        Suspended,
        Ended,
        Deleted,
    }
}

string_enum! {
    /// ProAbono's current `StateSubscription`.
    pub enum SubscriptionState {
        /// Created by the customer, who has not finished subscribing.
        DraftCustomer,
        /// Created by the merchant (API or back office), not started.
        DraftAgent,
        /// Scheduled to start at a future date.
        DraftDelayedStart,
        /// The new subscription of a plan change "at renewal": it replaces
        /// an active one at that one's term.
        DraftDelayedUpgrade,
        /// Running normally.
        ActiveRunning,
        /// Running until the term, then replaced by a scheduled plan change.
        ActiveDelayedUpgrade,
        /// Running until the term, then terminated (cancellable until then).
        ActiveDelayedTermination,
        /// Running until the term, then suspended (merchant suspension takes
        /// effect at renewal).
        ActiveDelayedSuspension,
        /// Suspended by the merchant.
        SuspendedAgent,
        /// Suspended at renewal: no payment method.
        SuspendedNoPaymentInfo,
        /// Suspended at renewal: unpaid thresholds exceeded.
        SuspendedPaymentDue,
        /// Ended after `CountRecurrences` periods.
        EndedComplete,
        /// Ended by a plan change (a new subscription replaced it).
        EndedUpgrade,
        /// Ended by termination.
        EndedTerminated,
        Deleted,
    }
}

impl SubscriptionState {
    /// The states a subscription can be created in: a draft made by the
    /// customer or the merchant, or the draft of a scheduled plan change.
    pub const INITIAL: &'static [SubscriptionState] = &[
        SubscriptionState::DraftCustomer,
        SubscriptionState::DraftAgent,
        SubscriptionState::DraftDelayedUpgrade,
    ];

    /// The `Status` group of this state.
    pub const fn status(self) -> SubscriptionStatus {
        use SubscriptionState::*;
        match self {
            DraftCustomer | DraftAgent | DraftDelayedStart | DraftDelayedUpgrade => {
                SubscriptionStatus::Draft
            }
            ActiveRunning
            | ActiveDelayedUpgrade
            | ActiveDelayedTermination
            | ActiveDelayedSuspension => SubscriptionStatus::Active,
            SuspendedAgent | SuspendedNoPaymentInfo | SuspendedPaymentDue => {
                SubscriptionStatus::Suspended
            }
            EndedComplete | EndedUpgrade | EndedTerminated => SubscriptionStatus::Ended,
            Deleted => SubscriptionStatus::Deleted,
        }
    }

    /// `StateSubscriptionAfterTerm`: what an `ActiveDelayed*` state becomes
    /// when its term is reached; `None` for every other state (an
    /// `ActiveRunning` subscription simply renews).
    pub const fn state_after_term(self) -> Option<SubscriptionState> {
        match self {
            SubscriptionState::ActiveDelayedUpgrade => Some(SubscriptionState::EndedUpgrade),
            SubscriptionState::ActiveDelayedTermination => Some(SubscriptionState::EndedTerminated),
            SubscriptionState::ActiveDelayedSuspension => Some(SubscriptionState::SuspendedAgent),
            _ => None,
        }
    }

    /// `StatusAfterTerm`: the status of [`Self::state_after_term`].
    pub const fn status_after_term(self) -> Option<SubscriptionStatus> {
        match self.state_after_term() {
            Some(state) => Some(state.status()),
            None => None,
        }
    }

    /// Whether the customer has the rights of the offer (usages exist only
    /// for started, not ended subscriptions; spec §1.7).
    pub const fn is_active(self) -> bool {
        matches!(self.status(), SubscriptionStatus::Active)
    }

    /// Whether no event can move this state any more but deletion.
    pub const fn is_final(self) -> bool {
        matches!(
            self.status(),
            SubscriptionStatus::Ended | SubscriptionStatus::Deleted
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_proabono_names() {
        let names: Vec<&str> = SubscriptionState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "DraftCustomer",
                "DraftAgent",
                "DraftDelayedStart",
                "DraftDelayedUpgrade",
                "ActiveRunning",
                "ActiveDelayedUpgrade",
                "ActiveDelayedTermination",
                "ActiveDelayedSuspension",
                "SuspendedAgent",
                "SuspendedNoPaymentInfo",
                "SuspendedPaymentDue",
                "EndedComplete",
                "EndedUpgrade",
                "EndedTerminated",
                "Deleted",
            ]
        );
        for s in SubscriptionState::ALL {
            assert_eq!(s.to_string().parse::<SubscriptionState>().unwrap(), *s);
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(
                serde_json::from_str::<SubscriptionState>(&json).unwrap(),
                *s
            );
        }
        assert!("Running".parse::<SubscriptionState>().is_err());
        assert_eq!(
            "Running"
                .parse::<SubscriptionState>()
                .unwrap_err()
                .to_string(),
            "unknown SubscriptionState 'Running'"
        );
    }

    #[test]
    fn status_is_the_name_prefix() {
        for s in SubscriptionState::ALL {
            assert!(
                s.as_str().starts_with(s.status().as_str()),
                "{s} is in {}",
                s.status()
            );
        }
    }

    #[test]
    fn after_term() {
        assert_eq!(
            SubscriptionState::ActiveDelayedTermination.state_after_term(),
            Some(SubscriptionState::EndedTerminated)
        );
        // As in ProAbono's example: StatusAfterTerm "Ended".
        assert_eq!(
            SubscriptionState::ActiveDelayedTermination.status_after_term(),
            Some(SubscriptionStatus::Ended)
        );
        assert_eq!(
            SubscriptionState::ActiveDelayedSuspension.status_after_term(),
            Some(SubscriptionStatus::Suspended)
        );
        assert_eq!(
            SubscriptionState::ActiveDelayedUpgrade.state_after_term(),
            Some(SubscriptionState::EndedUpgrade)
        );
        for s in SubscriptionState::ALL {
            let delayed = s.as_str().starts_with("ActiveDelayed");
            assert_eq!(s.state_after_term().is_some(), delayed, "{s}");
        }
    }
}
