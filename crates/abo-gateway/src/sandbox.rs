//! The bookkeeping both sandbox gateways share: stored permissions, charges,
//! idempotency keys, refunds, disputes, the grey-list counter.
//!
//! It plays the PSP's own database. Everything sits in memory behind one
//! `Mutex` (a sandbox forgets its state on restart, like a test account
//! reset). A real adapter persists none of this itself: the PSP keeps the
//! permissions, charges and idempotency keys (Stripe replays an
//! `Idempotency-Key` for 24 hours), and the service stores, in the same
//! transaction as the payment attempt and *before* calling the gateway, the
//! idempotency key and afterwards the returned ids — which is what makes a
//! retried call after a crash land on the same charge.
//!
//! Ids are sequential per gateway (`cd_ch_000001`), so a test run is
//! deterministic.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use abo_core::Money;
use jiff::Timestamp;

use crate::error::GatewayError;
use crate::gateway::{
    Charge, ChargeId, ChargeOutcome, ChargeReceipt, ChargeRequest, DisputeReason, FailureReason,
    GatewayPermission, PermissionId, Refund, RefundId, StatePermission,
};

/// The longest idempotency key accepted (Stripe's limit).
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// A permission and the sandbox's hidden knowledge about it (which test card
/// or test IBAN it is).
#[derive(Debug, Clone)]
pub(crate) struct StoredPermission<S> {
    pub permission: GatewayPermission,
    pub scenario: S,
}

/// What happens to a charge later, without anyone acting.
#[derive(Debug, Clone, Default)]
pub(crate) struct Later {
    /// A pending debit becomes this outcome at this instant.
    pub settlement: Option<(Timestamp, ChargeOutcome)>,
    /// A succeeded charge is charged back at this instant.
    pub chargeback: Option<(Timestamp, DisputeReason)>,
}

#[derive(Debug, Clone)]
struct StoredCharge {
    charge: Charge,
    later: Later,
}

pub(crate) struct State<S> {
    prefix: &'static str,
    seq: u64,
    permissions: HashMap<PermissionId, StoredPermission<S>>,
    charges: HashMap<ChargeId, StoredCharge>,
    /// Registrations waiting for 3-D Secure: verification id → permission.
    verifications: HashMap<ChargeId, PermissionId>,
    /// Idempotency key → (the request it was first used with, first answer).
    idempotency: HashMap<String, (ChargeRequest, ChargeReceipt)>,
    failed_registrations: HashMap<String, u32>,
}

/// The shared state of one sandbox gateway.
pub(crate) struct Sandbox<S> {
    state: Mutex<State<S>>,
}

impl<S: Clone> Sandbox<S> {
    pub fn new(prefix: &'static str) -> Sandbox<S> {
        Sandbox {
            state: Mutex::new(State {
                prefix,
                seq: 0,
                permissions: HashMap::new(),
                charges: HashMap::new(),
                verifications: HashMap::new(),
                idempotency: HashMap::new(),
                failed_registrations: HashMap::new(),
            }),
        }
    }

    /// The state, even if a panicking test poisoned the lock: every mutation
    /// below is a single insert or field write, so it is never half done.
    pub fn lock(&self) -> MutexGuard<'_, State<S>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: Clone> State<S> {
    /// A fresh id such as `cd_pm_000001`; one sequence for all kinds.
    pub fn next_id(&mut self, kind: &str) -> String {
        self.seq += 1;
        format!("{}_{kind}_{:06}", self.prefix, self.seq)
    }

    pub fn store_permission(&mut self, permission: GatewayPermission, scenario: S) {
        self.permissions.insert(
            permission.id.clone(),
            StoredPermission {
                permission,
                scenario,
            },
        );
    }

    pub fn permission(&self, id: &PermissionId) -> Result<&StoredPermission<S>, GatewayError> {
        self.permissions
            .get(id)
            .ok_or_else(|| GatewayError::UnknownPermission(id.clone()))
    }

    pub fn set_permission_state(&mut self, id: &PermissionId, state: StatePermission) {
        if let Some(stored) = self.permissions.get_mut(id) {
            stored.permission.state = state;
        }
    }

    pub fn disable_permission(
        &mut self,
        id: &PermissionId,
    ) -> Result<GatewayPermission, GatewayError> {
        let stored = self
            .permissions
            .get_mut(id)
            .ok_or_else(|| GatewayError::UnknownPermission(id.clone()))?;
        stored.permission.state = StatePermission::Disabled;
        Ok(stored.permission.clone())
    }

    pub fn count_failed_registration(&mut self, customer: &str) {
        *self
            .failed_registrations
            .entry(customer.to_owned())
            .or_insert(0) += 1;
    }

    pub fn failed_registrations(&self, customer: &str) -> u32 {
        self.failed_registrations
            .get(customer)
            .copied()
            .unwrap_or(0)
    }

    /// Registers a registration's 3-D Secure verification.
    pub fn await_verification(&mut self, permission: &PermissionId) -> ChargeId {
        let id = ChargeId(self.next_id("seti"));
        self.verifications.insert(id.clone(), permission.clone());
        id
    }

    /// Checks a charge request before anything else, and replays the first
    /// answer when the key was already used with the same request.
    ///
    /// `Ok(Some(receipt))` is a replay; `Ok(None)` means "go ahead".
    /// Validation errors are not remembered under the key (as with Stripe),
    /// so a corrected request may reuse it.
    pub fn begin_charge(
        &self,
        request: &ChargeRequest,
    ) -> Result<Option<ChargeReceipt>, GatewayError> {
        let key = &request.idempotency_key;
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
            return Err(GatewayError::InvalidIdempotencyKey);
        }
        if let Some((first, receipt)) = self.idempotency.get(key) {
            return if first == request {
                Ok(Some(receipt.clone()))
            } else {
                Err(GatewayError::IdempotencyConflict(key.clone()))
            };
        }
        if request.amount.minor <= 0 {
            return Err(GatewayError::InvalidAmount);
        }
        Ok(None)
    }

    /// Records a new charge with its first outcome, under its key.
    pub fn record_charge(
        &mut self,
        request: &ChargeRequest,
        outcome: impl FnOnce(&ChargeId) -> ChargeOutcome,
        later: Later,
        now: Timestamp,
    ) -> ChargeReceipt {
        let id = ChargeId(self.next_id("ch"));
        let outcome = outcome(&id);
        let charge = Charge {
            id: id.clone(),
            permission_id: request.permission_id.clone(),
            amount: request.amount,
            context: request.context,
            idempotency_key: request.idempotency_key.clone(),
            outcome: outcome.clone(),
            refunded: Money::zero(request.amount.currency),
            created_at: now,
        };
        self.charges
            .insert(id.clone(), StoredCharge { charge, later });
        let receipt = ChargeReceipt {
            charge_id: id,
            outcome,
        };
        self.idempotency.insert(
            request.idempotency_key.clone(),
            (request.clone(), receipt.clone()),
        );
        receipt
    }

    fn stored_charge(&mut self, id: &ChargeId) -> Result<&mut StoredCharge, GatewayError> {
        self.charges
            .get_mut(id)
            .ok_or_else(|| GatewayError::UnknownCharge(id.clone()))
    }

    pub fn get_charge(&self, id: &ChargeId) -> Result<Charge, GatewayError> {
        self.charges
            .get(id)
            .map(|stored| stored.charge.clone())
            .ok_or_else(|| GatewayError::UnknownCharge(id.clone()))
    }

    /// Brings a charge up to `now`: settles a pending debit whose instant has
    /// come, then applies a scheduled chargeback. Polling earlier changes
    /// nothing; polling "in the past" after a change does not undo it.
    pub fn poll(&mut self, id: &ChargeId, now: Timestamp) -> Result<ChargeOutcome, GatewayError> {
        let stored = self.stored_charge(id)?;
        if let (ChargeOutcome::Pending { .. }, Some((at, outcome))) =
            (&stored.charge.outcome, &stored.later.settlement)
            && *at <= now
        {
            stored.charge.outcome = outcome.clone();
            stored.later.settlement = None;
        }
        if let (ChargeOutcome::Succeeded, Some((at, reason))) =
            (&stored.charge.outcome, stored.later.chargeback)
            && at <= now
        {
            stored.later.chargeback = None;
            // A fully refunded charge has nothing left to claw back.
            if stored.charge.refunded.minor < stored.charge.amount.minor {
                stored.charge.outcome = ChargeOutcome::Disputed {
                    reason,
                    disputed_at: at,
                };
            }
        }
        let outcome = stored.charge.outcome.clone();
        let permission = stored.charge.permission_id.clone();
        // The bank's answer to a debit on a revoked mandate disables it.
        if let ChargeOutcome::Failed {
            reason: FailureReason::MandateRevoked,
            ..
        } = outcome
        {
            self.set_permission_state(&permission, StatePermission::Disabled);
        }
        Ok(outcome)
    }

    /// The customer is back from 3-D Secure, for a registration or a charge.
    pub fn complete_authentication(
        &mut self,
        id: &ChargeId,
        success: bool,
    ) -> Result<ChargeOutcome, GatewayError> {
        if let Some(permission) = self.verifications.remove(id) {
            let state = if success {
                StatePermission::Enabled
            } else {
                StatePermission::Disabled
            };
            self.set_permission_state(&permission, state);
            if success {
                return Ok(ChargeOutcome::Succeeded);
            }
            let customer = self.permission(&permission)?.permission.customer.clone();
            self.count_failed_registration(&customer);
            return Ok(ChargeOutcome::failed(FailureReason::AuthenticationFailed));
        }
        let stored = self.stored_charge(id)?;
        if !matches!(stored.charge.outcome, ChargeOutcome::RequiresAction { .. }) {
            return Err(GatewayError::NotAwaitingAuthentication(id.clone()));
        }
        stored.charge.outcome = if success {
            ChargeOutcome::Succeeded
        } else {
            ChargeOutcome::failed(FailureReason::AuthenticationFailed)
        };
        Ok(stored.charge.outcome.clone())
    }

    /// Refunds part or all of a succeeded charge (brought up to `now`
    /// first, so a debit that has settled can be refunded).
    pub fn refund(
        &mut self,
        id: &ChargeId,
        amount: Money,
        now: Timestamp,
    ) -> Result<Refund, GatewayError> {
        self.poll(id, now)?;
        let refund_id = RefundId(self.next_id("re"));
        let stored = self.stored_charge(id)?;
        let charge = &mut stored.charge;
        let why = match charge.outcome {
            ChargeOutcome::Succeeded => None,
            ChargeOutcome::Pending { .. } => Some("the debit has not settled yet"),
            ChargeOutcome::Disputed { .. } => Some("it was charged back"),
            ChargeOutcome::Failed { .. } | ChargeOutcome::RequiresAction { .. } => {
                Some("nothing was collected")
            }
        };
        if let Some(why) = why {
            return Err(GatewayError::NotRefundable {
                id: id.clone(),
                why,
            });
        }
        if amount.currency != charge.amount.currency {
            return Err(GatewayError::CurrencyMismatch {
                expected: charge.amount.currency,
                got: amount.currency,
            });
        }
        if amount.minor <= 0 {
            return Err(GatewayError::InvalidAmount);
        }
        let remaining = charge.amount.minor - charge.refunded.minor;
        if amount.minor > remaining {
            return Err(GatewayError::RefundExceedsCharge {
                requested: amount.minor,
                remaining,
            });
        }
        charge.refunded.minor += amount.minor;
        Ok(Refund {
            id: refund_id,
            charge_id: id.clone(),
            amount,
            refunded_total: charge.refunded,
            created_at: now,
        })
    }

    /// The payer disputes a succeeded charge at `now`.
    pub fn dispute(
        &mut self,
        id: &ChargeId,
        reason: DisputeReason,
        now: Timestamp,
    ) -> Result<ChargeOutcome, GatewayError> {
        self.poll(id, now)?;
        let stored = self.stored_charge(id)?;
        let why = match stored.charge.outcome {
            ChargeOutcome::Succeeded if stored.charge.refunded == stored.charge.amount => {
                Some("it was fully refunded")
            }
            ChargeOutcome::Succeeded => None,
            ChargeOutcome::Disputed { .. } => Some("it is already disputed"),
            ChargeOutcome::Pending { .. } => Some("the debit has not settled yet"),
            ChargeOutcome::Failed { .. } | ChargeOutcome::RequiresAction { .. } => {
                Some("nothing was collected")
            }
        };
        if let Some(why) = why {
            return Err(GatewayError::NotDisputable {
                id: id.clone(),
                why,
            });
        }
        stored.later.chargeback = None;
        stored.charge.outcome = ChargeOutcome::Disputed {
            reason,
            disputed_at: now,
        };
        Ok(stored.charge.outcome.clone())
    }
}

/// Checks that a permission can be charged at all. Expired cards are not
/// refused here: the issuer declines them, which is a charge outcome.
pub(crate) fn ensure_chargeable(permission: &GatewayPermission) -> Result<(), GatewayError> {
    match permission.state {
        StatePermission::Enabled | StatePermission::Expired => Ok(()),
        state @ (StatePermission::Disabled | StatePermission::PendingAuthentication) => {
            Err(GatewayError::PermissionNotUsable {
                id: permission.id.clone(),
                state,
            })
        }
    }
}

/// The path of the sandbox's 3-D Secure challenge page for `id`, served by
/// the web layer.
pub(crate) fn challenge_url_hint(id: &str) -> String {
    format!("/sandbox/3ds/{id}")
}

/// A two-letter country code, upper-cased.
pub(crate) fn country_code(country: &str) -> Result<String, GatewayError> {
    let country = country.trim();
    if country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(country.to_ascii_uppercase())
    } else {
        Err(GatewayError::InvalidCountry)
    }
}
