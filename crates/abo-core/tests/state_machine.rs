//! The subscription state machine checked against an independent copy of
//! the transition table, plus random event sequences.

use std::collections::{BTreeSet, VecDeque};

use abo_core::{SubscriptionEvent as E, SubscriptionState as S, SubscriptionStatus};
use proptest::prelude::*;

/// The expected table, written out by hand from the spec (§1.6) rather than
/// derived from the implementation.
fn expected(from: S, event: E) -> Option<S> {
    use S::*;
    let table: &[(E, &[S], S)] = &[
        (
            E::Start,
            &[DraftCustomer, DraftAgent, DraftDelayedStart],
            ActiveRunning,
        ),
        (
            E::StartDelayed,
            &[DraftCustomer, DraftAgent],
            DraftDelayedStart,
        ),
        (
            E::ReachDelayedStart,
            &[DraftDelayedStart, DraftDelayedUpgrade],
            ActiveRunning,
        ),
        (
            E::RequestTermination,
            &[ActiveRunning, ActiveDelayedSuspension],
            ActiveDelayedTermination,
        ),
        (
            E::CancelTermination,
            &[ActiveDelayedTermination],
            ActiveRunning,
        ),
        (
            E::TerminateNow,
            &[
                ActiveRunning,
                ActiveDelayedUpgrade,
                ActiveDelayedTermination,
                ActiveDelayedSuspension,
                SuspendedAgent,
                SuspendedNoPaymentInfo,
                SuspendedPaymentDue,
            ],
            EndedTerminated,
        ),
        (E::ReachTerm, &[ActiveDelayedUpgrade], EndedUpgrade),
        (E::ReachTerm, &[ActiveDelayedTermination], EndedTerminated),
        (E::ReachTerm, &[ActiveDelayedSuspension], SuspendedAgent),
        (E::Renew, &[ActiveRunning], ActiveRunning),
        (
            E::RequestSuspension,
            &[ActiveRunning],
            ActiveDelayedSuspension,
        ),
        (
            E::CancelSuspension,
            &[ActiveDelayedSuspension],
            ActiveRunning,
        ),
        (
            E::SuspendNow,
            &[ActiveRunning, ActiveDelayedSuspension],
            SuspendedAgent,
        ),
        (
            E::RenewalWithoutPaymentMethod,
            &[ActiveRunning],
            SuspendedNoPaymentInfo,
        ),
        (
            E::RenewalWithPaymentDue,
            &[ActiveRunning],
            SuspendedPaymentDue,
        ),
        (
            E::Restart,
            &[SuspendedAgent, SuspendedNoPaymentInfo, SuspendedPaymentDue],
            ActiveRunning,
        ),
        (
            E::Upgrade,
            &[
                ActiveRunning,
                ActiveDelayedTermination,
                ActiveDelayedSuspension,
                SuspendedAgent,
                SuspendedNoPaymentInfo,
                SuspendedPaymentDue,
            ],
            EndedUpgrade,
        ),
        (E::ScheduleUpgrade, &[ActiveRunning], ActiveDelayedUpgrade),
        (
            E::CancelScheduledUpgrade,
            &[ActiveDelayedUpgrade],
            ActiveRunning,
        ),
        (E::CancelScheduledUpgrade, &[DraftDelayedUpgrade], Deleted),
        (
            E::EndComplete,
            &[
                ActiveRunning,
                ActiveDelayedTermination,
                ActiveDelayedSuspension,
            ],
            EndedComplete,
        ),
        (
            E::Delete,
            &[
                DraftCustomer,
                DraftAgent,
                DraftDelayedStart,
                DraftDelayedUpgrade,
                EndedComplete,
                EndedUpgrade,
                EndedTerminated,
            ],
            Deleted,
        ),
    ];
    table
        .iter()
        .find(|(e, froms, _)| *e == event && froms.contains(&from))
        .map(|(_, _, to)| *to)
}

#[test]
fn apply_matches_the_table_for_every_pair() {
    for &state in S::ALL {
        for &event in E::ALL {
            let got = state.apply(event).ok();
            assert_eq!(got, expected(state, event), "{state} + {event}");
        }
    }
}

/// States reachable from the initial ones through the expected table.
fn reachable() -> BTreeSet<S> {
    let mut seen: BTreeSet<S> = S::INITIAL.iter().copied().collect();
    let mut queue: VecDeque<S> = S::INITIAL.iter().copied().collect();
    while let Some(state) = queue.pop_front() {
        for &event in E::ALL {
            if let Some(next) = expected(state, event)
                && seen.insert(next)
            {
                queue.push_back(next);
            }
        }
    }
    seen
}

#[test]
fn every_state_is_reachable() {
    assert_eq!(reachable().len(), S::ALL.len());
}

#[test]
fn final_states_only_accept_deletion() {
    for &state in S::ALL {
        let accepted: Vec<E> = state.accepted_events().collect();
        match state.status() {
            SubscriptionStatus::Ended => assert_eq!(accepted, [E::Delete], "{state}"),
            SubscriptionStatus::Deleted => assert!(accepted.is_empty(), "{state}"),
            _ => assert!(!accepted.is_empty(), "{state} is a dead end"),
        }
    }
}

#[test]
fn illegal_transitions_read_well() {
    let err = S::EndedTerminated.apply(E::Restart).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot restart a subscription in state EndedTerminated (event Restart)"
    );
    let core: abo_core::CoreError = err.into();
    assert_eq!(core.to_string(), err.to_string());
    assert_eq!(
        S::ActiveRunning
            .apply(E::CancelTermination)
            .unwrap_err()
            .to_string(),
        "cannot cancel the termination of a subscription in state ActiveRunning (event CancelTermination)"
    );
}

#[test]
fn the_documented_lifecycles() {
    // Subscribe, renew, request termination, change one's mind, then let a
    // requested suspension reach the term and restart.
    let mut s = S::DraftCustomer;
    for (event, state) in [
        (E::Start, S::ActiveRunning),
        (E::Renew, S::ActiveRunning),
        (E::RequestTermination, S::ActiveDelayedTermination),
        (E::CancelTermination, S::ActiveRunning),
        (E::RequestSuspension, S::ActiveDelayedSuspension),
        (E::ReachTerm, S::SuspendedAgent),
        (E::Restart, S::ActiveRunning),
        (E::RenewalWithoutPaymentMethod, S::SuspendedNoPaymentInfo),
        (E::Restart, S::ActiveRunning),
        (E::ScheduleUpgrade, S::ActiveDelayedUpgrade),
        (E::ReachTerm, S::EndedUpgrade),
        (E::Delete, S::Deleted),
    ] {
        s = s.apply(event).unwrap();
        assert_eq!(s, state, "after {event}");
    }
    // A terminated subscription cannot be restarted (spec §1.6).
    assert!(S::EndedTerminated.apply(E::Restart).is_err());
}

proptest! {
    #[test]
    fn random_sequences_stay_in_the_table(
        initial in prop::sample::select(S::INITIAL.to_vec()),
        events in prop::collection::vec(prop::sample::select(E::ALL.to_vec()), 0..60),
    ) {
        let reachable = reachable();
        let mut state = initial;
        for event in events {
            match state.apply(event) {
                Ok(next) => {
                    prop_assert_eq!(Some(next), expected(state, event));
                    prop_assert!(reachable.contains(&next));
                    state = next;
                }
                Err(err) => {
                    prop_assert_eq!(expected(state, event), None);
                    prop_assert_eq!(err.from, state);
                    prop_assert_eq!(err.event, event);
                }
            }
            // The status and the after-term view stay consistent.
            prop_assert!(state.as_str().starts_with(state.status().as_str()));
            if let Some(after) = state.state_after_term() {
                prop_assert_eq!(state.apply(E::ReachTerm), Ok(after));
            }
        }
    }
}
