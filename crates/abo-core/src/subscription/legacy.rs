//! The pre-2022 `StateSubscription` vocabulary, still read by old clients
//! (the PHP demo tests for `"Running"`; spec §1.6, §7 item 2).

use super::state::SubscriptionState;

string_enum! {
    /// ProAbono's legacy `StateSubscription`.
    pub enum LegacyState {
        InitiatedCustomer,
        InitiatedAgent,
        Delayed,
        Running,
        SuspendedCustomer,
        SuspendedPaymentInfoMissing,
        SuspendedPaymentDue,
        SuspendedAgent,
        SuspendedSystem,
        History,
        Terminated,
        TerminatedAtRenewal,
        TerminatedCustomer,
        TerminatedAgent,
        TerminatedRevokedCustomer,
        TerminatedRevokedAgent,
        Deleted,
    }
}

impl SubscriptionState {
    /// The legacy name for this state, for clients of the old vocabulary.
    ///
    /// The legacy model had fewer shades, so some states merge:
    /// - both delayed drafts (start and plan change) are `Delayed`: neither
    ///   runs yet and both start on a known date;
    /// - a pending plan change or suspension is still `Running`: the customer
    ///   keeps the rights until the term, and legacy clients test
    ///   `Running` to grant them;
    /// - a pending termination is `TerminatedAtRenewal`, the legacy state and
    ///   webhook (`SubscriptionTerminatedAtRenewal`) of exactly that case;
    /// - a completed subscription and one replaced by a plan change are
    ///   `History` ("over", webhook `SubscriptionHistory`): neither was
    ///   terminated by anyone;
    /// - the legacy model split terminations by who did it; the current one
    ///   does not know, so it answers the generic `Terminated`.
    pub const fn to_legacy(self) -> LegacyState {
        use SubscriptionState::*;
        match self {
            DraftCustomer => LegacyState::InitiatedCustomer,
            DraftAgent => LegacyState::InitiatedAgent,
            DraftDelayedStart | DraftDelayedUpgrade => LegacyState::Delayed,
            ActiveRunning | ActiveDelayedUpgrade | ActiveDelayedSuspension => LegacyState::Running,
            ActiveDelayedTermination => LegacyState::TerminatedAtRenewal,
            SuspendedAgent => LegacyState::SuspendedAgent,
            SuspendedNoPaymentInfo => LegacyState::SuspendedPaymentInfoMissing,
            SuspendedPaymentDue => LegacyState::SuspendedPaymentDue,
            EndedComplete | EndedUpgrade => LegacyState::History,
            EndedTerminated => LegacyState::Terminated,
            Deleted => LegacyState::Deleted,
        }
    }
}

impl LegacyState {
    /// The current state a legacy name stands for (for legacy writes such as
    /// the back office's `PUT …/StateSubscription "Running"`). Where a
    /// current state merged several legacy ones, this picks the most
    /// likely: `Delayed` → `DraftDelayedStart`, `History` → `EndedComplete`;
    /// the customer's own suspension and a "system" suspension (both gone
    /// from the current model) become `SuspendedAgent` and
    /// `SuspendedPaymentDue` (the system suspended only at renewal, for
    /// payment reasons); every `Terminated*` but `TerminatedAtRenewal` is
    /// `EndedTerminated`.
    pub const fn to_state(self) -> SubscriptionState {
        use LegacyState::*;
        match self {
            InitiatedCustomer => SubscriptionState::DraftCustomer,
            InitiatedAgent => SubscriptionState::DraftAgent,
            Delayed => SubscriptionState::DraftDelayedStart,
            Running => SubscriptionState::ActiveRunning,
            SuspendedCustomer | SuspendedAgent => SubscriptionState::SuspendedAgent,
            SuspendedPaymentInfoMissing => SubscriptionState::SuspendedNoPaymentInfo,
            SuspendedPaymentDue | SuspendedSystem => SubscriptionState::SuspendedPaymentDue,
            History => SubscriptionState::EndedComplete,
            TerminatedAtRenewal => SubscriptionState::ActiveDelayedTermination,
            Terminated
            | TerminatedCustomer
            | TerminatedAgent
            | TerminatedRevokedCustomer
            | TerminatedRevokedAgent => SubscriptionState::EndedTerminated,
            Deleted => SubscriptionState::Deleted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_is_running() {
        assert_eq!(
            SubscriptionState::ActiveRunning.to_legacy(),
            LegacyState::Running
        );
        assert_eq!(LegacyState::Running.to_string(), "Running");
        assert_eq!(
            "running".parse::<LegacyState>().unwrap().to_state(),
            SubscriptionState::ActiveRunning
        );
    }

    #[test]
    fn legacy_of_the_state_maps_back_to_the_same_status() {
        for s in SubscriptionState::ALL {
            let back = s.to_legacy().to_state();
            assert_eq!(
                back.status(),
                s.status(),
                "{s} -> {} -> {back}",
                s.to_legacy()
            );
            // Rights are kept exactly: active maps to active.
            assert_eq!(back.is_active(), s.is_active());
        }
    }

    #[test]
    fn unambiguous_states_round_trip() {
        use SubscriptionState::*;
        for s in [
            DraftCustomer,
            DraftAgent,
            DraftDelayedStart,
            ActiveRunning,
            ActiveDelayedTermination,
            SuspendedAgent,
            SuspendedNoPaymentInfo,
            SuspendedPaymentDue,
            EndedComplete,
            EndedTerminated,
            Deleted,
        ] {
            assert_eq!(s.to_legacy().to_state(), s);
        }
    }

    #[test]
    fn legacy_names_are_exact() {
        assert_eq!(LegacyState::ALL.len(), 17);
        for l in LegacyState::ALL {
            assert_eq!(l.as_str().parse::<LegacyState>().unwrap(), *l);
        }
        assert_eq!(
            serde_json::to_string(&LegacyState::TerminatedRevokedAgent).unwrap(),
            "\"TerminatedRevokedAgent\""
        );
    }
}
