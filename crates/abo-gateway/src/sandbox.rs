//! The bookkeeping both sandbox gateways share: stored permissions, charges,
//! idempotency keys, refunds, disputes, the grey-list counter.
//!
//! It plays the PSP's own database. The working set sits in memory behind
//! one `Mutex`; with a [`SandboxLedger`] (the store, in `abo serve`) every
//! record an operation reads is loaded from the ledger first and every record
//! it changes is written back after it, so a restarted node, another node or
//! `abo bill` sees the same cards, mandates and pending debits. Without a
//! ledger (unit tests, benchmarks) the sandbox forgets its state on restart,
//! like a test account reset. A real adapter persists none of this itself: the PSP keeps the
//! permissions, charges and idempotency keys (Stripe replays an
//! `Idempotency-Key` for 24 hours), and the service stores, in the same
//! transaction as the payment attempt and *before* calling the gateway, the
//! idempotency key and afterwards the returned ids — which is what makes a
//! retried call after a crash land on the same charge.
//!
//! Ids are sequential per gateway (`cd_ch_000001`), so a test run is
//! deterministic.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use abo_core::Money;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::GatewayError;
use crate::gateway::{
    Charge, ChargeId, ChargeOutcome, ChargeReceipt, ChargeRequest, DisputeReason, FailureReason,
    GatewayPermission, PermissionId, Refund, RefundId, StatePermission, TypeGateway,
};
use crate::ledger::SandboxLedger;

/// The longest idempotency key accepted (Stripe's limit).
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// A permission and the sandbox's hidden knowledge about it (which test card
/// or test IBAN it is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredPermission<S> {
    pub permission: GatewayPermission,
    pub scenario: S,
}

/// What happens to a charge later, without anyone acting.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Later {
    /// A pending debit becomes this outcome at this instant.
    pub settlement: Option<(Timestamp, ChargeOutcome)>,
    /// A succeeded charge is charged back at this instant.
    pub chargeback: Option<(Timestamp, DisputeReason)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Refund idempotency key → (charge, amount, the first refund).
    refund_keys: HashMap<String, (ChargeId, Money, Refund)>,
    /// With a ledger: the records changed since the last flush.
    dirty: Option<Vec<Record>>,
    /// With a ledger: ids reserved from its shared sequence, used before
    /// the local counter.
    reserved: VecDeque<u64>,
}

/// One persisted record of the sandbox, by kind and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    Permission(PermissionId),
    Charge(ChargeId),
    Verification(ChargeId),
    Idempotency(String),
    RefundKey(String),
    FailedRegistrations(String),
}

impl Record {
    fn kind_key(&self) -> (&'static str, &str) {
        match self {
            Record::Permission(id) => ("permission", id.as_str()),
            Record::Charge(id) => ("charge", id.as_str()),
            Record::Verification(id) => ("verification", id.as_str()),
            Record::Idempotency(key) => ("idempotency", key),
            Record::RefundKey(key) => ("refund_key", key),
            Record::FailedRegistrations(customer) => ("failed_registrations", customer),
        }
    }
}

/// The shared state of one sandbox gateway.
pub(crate) struct Sandbox<S> {
    gateway: TypeGateway,
    state: Mutex<State<S>>,
    ledger: Option<Arc<dyn SandboxLedger>>,
}

fn storage(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Storage(e.to_string())
}

fn to_json<T: Serialize>(value: &T) -> Result<String, GatewayError> {
    serde_json::to_string(value).map_err(storage)
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, GatewayError> {
    serde_json::from_str(text).map_err(storage)
}

impl<S: Clone + Serialize + DeserializeOwned + Send> Sandbox<S> {
    pub fn new(gateway: TypeGateway, prefix: &'static str) -> Sandbox<S> {
        Sandbox::with_ledger(gateway, prefix, None)
    }

    pub fn with_ledger(
        gateway: TypeGateway,
        prefix: &'static str,
        ledger: Option<Arc<dyn SandboxLedger>>,
    ) -> Sandbox<S> {
        Sandbox {
            gateway,
            state: Mutex::new(State {
                prefix,
                seq: 0,
                permissions: HashMap::new(),
                charges: HashMap::new(),
                verifications: HashMap::new(),
                idempotency: HashMap::new(),
                failed_registrations: HashMap::new(),
                refund_keys: HashMap::new(),
                dirty: ledger.as_ref().map(|_| Vec::new()),
                reserved: VecDeque::new(),
            }),
            ledger,
        }
    }

    /// Runs one operation of the gateway: loads the records it reads from
    /// the ledger (`needs`; a charge brings its permission, a verification
    /// its permission and customer's counter), reserves `ids` fresh ids,
    /// runs `op` under the lock, then writes back what it changed — also
    /// when it fails, since a declined registration still counts.
    pub async fn run<T>(
        &self,
        needs: &[Record],
        ids: u64,
        op: impl FnOnce(&mut State<S>) -> Result<T, GatewayError>,
    ) -> Result<T, GatewayError> {
        if let Some(ledger) = &self.ledger {
            for record in needs {
                self.hydrate(ledger.as_ref(), record).await?;
            }
            if ids > 0 {
                let first = ledger
                    .reserve_ids(self.gateway, ids)
                    .await
                    .map_err(storage)?;
                self.lock().reserved.extend(first..first + ids);
            }
        }
        let out = {
            let mut state = self.lock();
            op(&mut state)
        };
        self.flush().await?;
        out
    }

    /// Refunds part or all of a charge (both sandboxes refund alike).
    pub async fn refund(
        &self,
        charge_id: &ChargeId,
        amount: Money,
        now: Timestamp,
    ) -> Result<Refund, GatewayError> {
        self.run(&[Record::Charge(charge_id.clone())], 1, |state| {
            state.refund(charge_id, amount, now)
        })
        .await
    }

    /// [`Sandbox::refund`] once per idempotency key: a replay returns the
    /// first refund.
    pub async fn refund_once(
        &self,
        charge_id: &ChargeId,
        amount: Money,
        idempotency_key: &str,
        now: Timestamp,
    ) -> Result<Refund, GatewayError> {
        let needs = [
            Record::RefundKey(idempotency_key.to_owned()),
            Record::Charge(charge_id.clone()),
        ];
        self.run(&needs, 1, |state| {
            state.refund_once(charge_id, amount, idempotency_key, now)
        })
        .await
    }

    /// Loads one record (and what it leads to) into memory. A record the
    /// ledger does not have is left as memory has it.
    async fn hydrate(
        &self,
        ledger: &dyn SandboxLedger,
        record: &Record,
    ) -> Result<(), GatewayError> {
        let mut follow = vec![record.clone()];
        while let Some(record) = follow.pop() {
            let (kind, key) = record.kind_key();
            let Some(text) = ledger
                .load(self.gateway, kind, key)
                .await
                .map_err(storage)?
            else {
                continue;
            };
            let mut state = self.lock();
            match record {
                Record::Permission(id) => {
                    let stored: StoredPermission<S> = from_json(&text)?;
                    // Its customer's declined registrations (a failed 3-D
                    // Secure counts).
                    follow.push(Record::FailedRegistrations(
                        stored.permission.customer.clone(),
                    ));
                    state.permissions.insert(id, stored);
                }
                Record::Charge(id) => {
                    let stored: StoredCharge = from_json(&text)?;
                    follow.push(Record::Permission(stored.charge.permission_id.clone()));
                    state.charges.insert(id, stored);
                }
                Record::Verification(id) => {
                    let permission: Option<PermissionId> = from_json(&text)?;
                    match permission {
                        Some(permission) => {
                            follow.push(Record::Permission(permission.clone()));
                            state.verifications.insert(id, permission);
                        }
                        None => {
                            state.verifications.remove(&id);
                        }
                    }
                }
                Record::Idempotency(key) => {
                    state.idempotency.insert(key, from_json(&text)?);
                }
                Record::RefundKey(key) => {
                    state.refund_keys.insert(key, from_json(&text)?);
                }
                Record::FailedRegistrations(customer) => {
                    state
                        .failed_registrations
                        .insert(customer, from_json(&text)?);
                }
            }
        }
        Ok(())
    }

    /// Writes the changed records to the ledger.
    async fn flush(&self) -> Result<(), GatewayError> {
        let Some(ledger) = &self.ledger else {
            return Ok(());
        };
        let writes = {
            let mut state = self.lock();
            let dirty = state.dirty.as_mut().map(std::mem::take).unwrap_or_default();
            let mut writes: Vec<(&'static str, String, String)> = Vec::with_capacity(dirty.len());
            for record in dirty {
                let (kind, key) = record.kind_key();
                if writes.iter().any(|(k, key2, _)| *k == kind && key2 == key) {
                    continue;
                }
                if let Some(value) = state.serialize(&record)? {
                    writes.push((kind, key.to_owned(), value));
                }
            }
            writes
        };
        for (kind, key, value) in writes {
            ledger
                .save(self.gateway, kind, &key, &value)
                .await
                .map_err(storage)?;
        }
        Ok(())
    }

    /// The state, even if a panicking test poisoned the lock: every mutation
    /// below is a single insert or field write, so it is never half done.
    pub fn lock(&self) -> MutexGuard<'_, State<S>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: Clone + Serialize> State<S> {
    /// A fresh id such as `cd_pm_000001`; one sequence for all kinds (the
    /// ledger's shared one when there is a ledger).
    pub fn next_id(&mut self, kind: &str) -> String {
        let n = match self.reserved.pop_front() {
            Some(n) => n,
            None => {
                self.seq += 1;
                self.seq
            }
        };
        format!("{}_{kind}_{n:06}", self.prefix)
    }

    /// Notes a changed record, to be written back (with a ledger only).
    fn touch(&mut self, record: Record) {
        if let Some(dirty) = self.dirty.as_mut() {
            dirty.push(record);
        }
    }

    /// The JSON of a record as memory has it now; `None` when there is
    /// nothing to write (a verification that is over is written as `null`).
    fn serialize(&self, record: &Record) -> Result<Option<String>, GatewayError> {
        fn some<T: Serialize>(value: Option<&T>) -> Result<Option<String>, GatewayError> {
            value.map(to_json).transpose()
        }
        match record {
            Record::Permission(id) => some(self.permissions.get(id)),
            Record::Charge(id) => some(self.charges.get(id)),
            Record::Verification(id) => to_json(&self.verifications.get(id)).map(Some),
            Record::Idempotency(key) => some(self.idempotency.get(key)),
            Record::RefundKey(key) => some(self.refund_keys.get(key)),
            Record::FailedRegistrations(customer) => some(self.failed_registrations.get(customer)),
        }
    }

    pub fn store_permission(&mut self, permission: GatewayPermission, scenario: S) {
        self.touch(Record::Permission(permission.id.clone()));
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
        self.touch(Record::Permission(id.clone()));
        if let Some(stored) = self.permissions.get_mut(id) {
            stored.permission.state = state;
        }
    }

    pub fn disable_permission(
        &mut self,
        id: &PermissionId,
    ) -> Result<GatewayPermission, GatewayError> {
        self.touch(Record::Permission(id.clone()));
        let stored = self
            .permissions
            .get_mut(id)
            .ok_or_else(|| GatewayError::UnknownPermission(id.clone()))?;
        stored.permission.state = StatePermission::Disabled;
        Ok(stored.permission.clone())
    }

    pub fn count_failed_registration(&mut self, customer: &str) {
        self.touch(Record::FailedRegistrations(customer.to_owned()));
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
        self.touch(Record::Verification(id.clone()));
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
        self.touch(Record::Charge(receipt.charge_id.clone()));
        self.touch(Record::Idempotency(request.idempotency_key.clone()));
        self.idempotency.insert(
            request.idempotency_key.clone(),
            (request.clone(), receipt.clone()),
        );
        receipt
    }

    /// The charge, to change it (so it is noted as changed).
    fn stored_charge(&mut self, id: &ChargeId) -> Result<&mut StoredCharge, GatewayError> {
        if self.charges.contains_key(id) {
            self.touch(Record::Charge(id.clone()));
        }
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
            self.touch(Record::Verification(id.clone()));
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

    /// [`State::refund`] under an idempotency key: the same key replays the
    /// first refund when charge and amount are the same, and is refused
    /// otherwise. A refused refund is not remembered under the key.
    pub fn refund_once(
        &mut self,
        id: &ChargeId,
        amount: Money,
        key: &str,
        now: Timestamp,
    ) -> Result<Refund, GatewayError> {
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
            return Err(GatewayError::InvalidIdempotencyKey);
        }
        if let Some((charge, first_amount, refund)) = self.refund_keys.get(key) {
            return if charge == id && *first_amount == amount {
                Ok(refund.clone())
            } else {
                Err(GatewayError::IdempotencyConflict(key.to_owned()))
            };
        }
        let refund = self.refund(id, amount, now)?;
        self.touch(Record::RefundKey(key.to_owned()));
        self.refund_keys
            .insert(key.to_owned(), (id.clone(), amount, refund.clone()));
        Ok(refund)
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
