//! Collection (billing-rules "Collection"): charging an issued invoice with
//! the customer's stored permission, retrying on schedule, giving up as
//! `ProblemAuto`, and following asynchronous (SEPA) settlement.
//!
//! Exactly once: each attempt is a `payments` row unique per (invoice,
//! attempt), written and committed *before* the gateway is called; the
//! gateway gets the idempotency key `invoice:{id}:attempt:{n}`, so a job
//! retried after a crash replays the gateway's first answer instead of
//! charging twice. The answer is recorded in a second transaction.

use abo_core::{InvoiceEvent, Money};
use abo_gateway::{
    CardDummy, ChargeContext, ChargeOutcome, ChargeReceipt, ChargeRequest, DirectDebitDummy,
    FailureReason, PaymentGateway, PermissionId, TypeGateway, TypePayment, next_retry,
};
use abo_store::invoices::{self, Invoice};
use abo_store::payments::{self, NewPayment, Payment, Permission};
use abo_store::{AnyConnection, Store, customers, jobs};
use jiff::Timestamp;
use serde_json::json;

use super::{Effects, JOB_POLL_PAYMENT, enqueue_collect, next_state, pay, transition};
use crate::error::{Result, ServiceError};

/// The node's payment gateways: create once per node and share (the sandbox
/// gateways keep their state in memory).
#[derive(Default)]
pub struct Gateways {
    pub card: CardDummy,
    pub direct_debit: DirectDebitDummy,
}

impl Gateways {
    /// The sandbox gateways (`CardDummy`, `DirectDebitDummy`).
    pub fn sandbox() -> Gateways {
        Gateways::default()
    }

    pub fn for_gateway(&self, gateway: TypeGateway) -> &dyn PaymentGateway {
        match gateway {
            TypeGateway::CardDummy => &self.card,
            TypeGateway::DirectDebitDummy => &self.direct_debit,
        }
    }

    pub fn for_payment(&self, payment: TypePayment) -> &dyn PaymentGateway {
        match payment {
            TypePayment::Card => &self.card,
            TypePayment::DirectDebit => &self.direct_debit,
        }
    }

    pub(crate) fn for_permission(&self, permission: &Permission) -> Result<&dyn PaymentGateway> {
        match permission.type_gateway.as_str() {
            "CardDummy" => Ok(&self.card),
            "DirectDebitDummy" => Ok(&self.direct_debit),
            other => Err(ServiceError::Internal(format!(
                "permission {} has an unknown gateway {other}",
                permission.id
            ))),
        }
    }
}

/// What a collection job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectOutcome {
    /// Nothing to do: the invoice is not waiting for this attempt (paid,
    /// cancelled, already attempted, ...).
    Skipped,
    /// Collected: the invoice is `Paid`.
    Paid,
    /// Sent, settles later (SEPA): `DuePending`, a poll job at `settles_at_us`.
    Pending { settles_at_us: i64 },
    /// The customer must pass 3-D Secure; the invoice stays `DueAuto`.
    RequiresAuthentication,
    /// Failed; the next attempt is scheduled at `next_attempt_us`.
    Retrying { next_attempt_us: i64 },
    /// Failed for good: `ProblemAuto`.
    Problem,
    /// The payer claimed a settled debit back: `ProblemDisputed`.
    Disputed,
}

pub(crate) fn timestamp(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Charges attempt `attempt` (1 = the first) of an invoice in `DueAuto`.
pub async fn collect_invoice(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    invoice_id: i64,
    attempt: i64,
    now_us: i64,
) -> Result<CollectOutcome> {
    // 1. Record the attempt (committed before the gateway is asked).
    let mut tx = store.begin().await?;
    let prepared = prepare_collect(&mut tx, business_id, invoice_id, attempt, now_us).await?;
    tx.commit().await?;
    let charge = match prepared {
        Prepared::Done(outcome) => return Ok(outcome),
        Prepared::Charge(charge) => charge,
    };
    // 2. Ask the gateway (idempotent per attempt).
    let receipt = charge.send(gateways, now_us).await?;
    // 3. Record the answer.
    let mut tx = store.begin().await?;
    let outcome = charge.record(&mut tx, &receipt, now_us).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// What the first step of a collection found: nothing to charge (the
/// outcome is final), or an attempt recorded and ready to be sent.
pub enum Prepared {
    Done(CollectOutcome),
    Charge(Box<PendingCharge>),
}

/// An attempt written (state `Started`) and not yet sent to the gateway.
pub struct PendingCharge {
    pub(crate) invoice: Invoice,
    pub(crate) permission: Permission,
    pub(crate) payment: Payment,
}

/// Step 1 of [`collect_invoice`], in the caller's transaction, which must
/// be committed before the charge is sent (so that a crash after the
/// gateway call finds the attempt and replays its idempotency key): checks
/// the invoice still waits for `attempt` and writes the attempt, or, without
/// a usable card or mandate, gives up (`ProblemAuto`) with its effects.
pub async fn prepare_collect(
    conn: &mut AnyConnection,
    business_id: i64,
    invoice_id: i64,
    attempt: i64,
    now_us: i64,
) -> Result<Prepared> {
    let invoice = invoices::get(conn, business_id, invoice_id).await?;
    if invoice.state != "DueAuto" || invoice.amount_total <= 0 {
        return Ok(Prepared::Done(CollectOutcome::Skipped));
    }
    let existing = payments::find_attempt(conn, business_id, invoice_id, attempt).await?;
    if existing.as_ref().is_some_and(|p| p.state != "Started") {
        return Ok(Prepared::Done(CollectOutcome::Skipped));
    }
    let permission = payments::current_permission(
        conn,
        business_id,
        invoice.customer_id,
        &invoice.type_payment,
    )
    .await?;
    let Some(permission) = permission else {
        // No usable card or mandate: nothing to retry with.
        let customer = customers::get(conn, business_id, invoice.customer_id).await?;
        let problem = transition(
            conn,
            &invoice,
            InvoiceEvent::Fail { last_attempt: true },
            now_us,
        )
        .await?;
        invoices::set_payment_scheduled(conn, business_id, invoice_id, None, now_us).await?;
        let effects = Effects::new(business_id, &problem, &customer, now_us);
        effects
            .webhook(conn, "CustomerChargingAutoFailedNoPermission")
            .await?;
        effects
            .webhook(conn, "InvoiceDebitPaymentAutoFailed")
            .await?;
        effects
            .email(conn, "InvoicePaymentAutoFailed", json!({}))
            .await?;
        return Ok(Prepared::Done(CollectOutcome::Problem));
    };
    let payment = match existing {
        Some(started) => started,
        None => {
            let new = new_attempt(&invoice, &permission, attempt);
            payments::insert_attempt(conn, &new, now_us).await?.0
        }
    };
    Ok(Prepared::Charge(Box::new(PendingCharge {
        invoice,
        permission,
        payment,
    })))
}

/// Attempt `attempt` of an invoice with the payer's `permission`, started
/// (written before the gateway is called).
pub(crate) fn new_attempt(invoice: &Invoice, permission: &Permission, attempt: i64) -> NewPayment {
    NewPayment {
        business_id: invoice.business_id,
        invoice_id: invoice.id,
        attempt,
        type_payment: invoice.type_payment.clone(),
        permission_id: Some(permission.id),
        amount: invoice.amount_total,
        currency: invoice.currency.clone(),
        state: "Started".into(),
        note: None,
        date_payment_us: None,
    }
}

impl PendingCharge {
    /// Step 2: the charge, through the permission's gateway, with the
    /// idempotency key `invoice:{id}:attempt:{n}` (a replay after a crash
    /// gets the first answer back instead of charging twice).
    pub async fn send(&self, gateways: &Gateways, now_us: i64) -> Result<ChargeReceipt> {
        let gateway = gateways.for_permission(&self.permission)?;
        let attempt = self.payment.attempt;
        let context = charge_context(&self.invoice, &self.permission, attempt);
        let currency = abo_core::Currency::from_code(&self.invoice.currency)?;
        gateway
            .charge(
                &ChargeRequest {
                    permission_id: PermissionId(self.permission.gateway_permission_id.clone()),
                    amount: Money::new(self.invoice.amount_total, currency),
                    context,
                    idempotency_key: format!("invoice:{}:attempt:{attempt}", self.invoice.id),
                },
                timestamp(now_us)?,
            )
            .await
            .map_err(|e| ServiceError::Internal(format!("gateway: {e}")))
    }

    /// Step 3, in the caller's transaction: the gateway's answer applied to
    /// the attempt and the invoice (read again: it is the stored state that
    /// moves), with its effects.
    pub async fn record(
        &self,
        conn: &mut AnyConnection,
        receipt: &ChargeReceipt,
        now_us: i64,
    ) -> Result<CollectOutcome> {
        let invoice = invoices::get(conn, self.invoice.business_id, self.invoice.id).await?;
        record_outcome(
            conn,
            &invoice,
            &self.payment,
            &self.permission,
            Some(receipt.charge_id.as_str()),
            &receipt.outcome,
            now_us,
        )
        .await
    }
}

/// How long after registering a card the customer is taken to be still
/// there (the workflow that registers the card pays the first invoice).
const CUSTOMER_PRESENT_US: i64 = 60 * 60 * 1_000_000;

/// Whether the customer is present for this charge: the first attempt of an
/// invoice issued within the hour after the card or mandate was registered
/// (the subscription workflow), as opposed to a charge in the customer's
/// absence (renewals, retries). The sandbox cards behave differently in each
/// (`4200 4600 3702 5901`: ok at registration, insufficient funds at renewal).
fn charge_context(invoice: &Invoice, permission: &Permission, attempt: i64) -> ChargeContext {
    let issued = invoice.date_issue_us.unwrap_or(invoice.created_at_us);
    let fresh = issued >= permission.created_at_us
        && issued - permission.created_at_us <= CUSTOMER_PRESENT_US;
    if attempt == 1 && fresh {
        ChargeContext::Registration
    } else {
        ChargeContext::Renewal
    }
}

/// Asks the gateway again about a pending (SEPA) attempt: the `PollPayment`
/// job. Settled → `Paid`; failed → retry or `ProblemAuto`.
pub async fn poll_payment(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    invoice_id: i64,
    attempt: i64,
    now_us: i64,
) -> Result<CollectOutcome> {
    let (payment, permission) = {
        let mut conn = store.acquire().await?;
        let Some(payment) =
            payments::find_attempt(&mut conn, business_id, invoice_id, attempt).await?
        else {
            return Ok(CollectOutcome::Skipped);
        };
        // Pending: waiting for settlement; Succeeded: the dispute watch of a
        // settled debit.
        if payment.state != "Pending" && payment.state != "Succeeded" {
            return Ok(CollectOutcome::Skipped);
        }
        let Some(permission_id) = payment.permission_id else {
            return Ok(CollectOutcome::Skipped);
        };
        let permission = payments::get_permission(&mut conn, business_id, permission_id).await?;
        (payment, permission)
    };
    let Some(charge_id) = payment.charge_id.clone() else {
        return Ok(CollectOutcome::Skipped);
    };
    let outcome = gateways
        .for_permission(&permission)?
        .poll(
            &abo_gateway::ChargeId(charge_id.clone()),
            timestamp(now_us)?,
        )
        .await
        .map_err(|e| ServiceError::Internal(format!("gateway: {e}")))?;
    let mut tx = store.begin().await?;
    let invoice = invoices::get(&mut tx, business_id, invoice_id).await?;
    if payment.state == "Succeeded" {
        if !matches!(outcome, ChargeOutcome::Disputed { .. }) || invoice.state != "Paid" {
            return Ok(CollectOutcome::Skipped);
        }
        dispute(&mut tx, &invoice, &payment, &outcome, now_us).await?;
        tx.commit().await?;
        return Ok(CollectOutcome::Disputed);
    }
    if invoice.state != "DuePending" {
        return Ok(CollectOutcome::Skipped);
    }
    let result = record_outcome(
        &mut tx,
        &invoice,
        &payment,
        &permission,
        Some(&charge_id),
        &outcome,
        now_us,
    )
    .await?;
    tx.commit().await?;
    Ok(result)
}

/// How long a SEPA debtor may claim a settled debit back (8 weeks, no
/// questions asked): the bank's chargeback is looked for once, then.
pub const DEBIT_DISPUTE_WINDOW_US: i64 = 56 * 86_400_000_000;

/// Asks the gateway again at the end of the dispute window of a settled
/// debit (a `PollPayment` job on the succeeded attempt).
async fn watch_for_dispute(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    attempt: i64,
    now_us: i64,
) -> Result<()> {
    jobs::enqueue(
        conn,
        &jobs::NewJob {
            business_id: Some(invoice.business_id),
            kind: JOB_POLL_PAYMENT.into(),
            payload: json!({"business_id": invoice.business_id, "invoice_id": invoice.id,
                            "attempt": attempt})
            .to_string(),
            run_at_us: now_us + DEBIT_DISPUTE_WINDOW_US,
            max_attempts: 10,
            natural_key: Some(format!("dispute-watch:{}:{attempt}", invoice.id)),
        },
        now_us,
    )
    .await?;
    Ok(())
}

/// A paid invoice whose payment was charged back: `ProblemDisputed`, the
/// merchant (`InvoiceDebitDisputed`) and the customer (`InvoiceDisputed`)
/// told.
async fn dispute(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    payment: &Payment,
    outcome: &ChargeOutcome,
    now_us: i64,
) -> Result<()> {
    let reason = match outcome {
        ChargeOutcome::Disputed { reason, .. } => Some(reason.to_string()),
        _ => None,
    };
    payments::set_outcome(
        conn,
        invoice.business_id,
        payment.id,
        "Disputed",
        None,
        reason.as_deref(),
        None,
        now_us,
    )
    .await?;
    let disputed = transition(conn, invoice, InvoiceEvent::Dispute, now_us).await?;
    let customer = customers::get(conn, invoice.business_id, invoice.customer_id).await?;
    let effects = Effects::new(invoice.business_id, &disputed, &customer, now_us);
    effects.webhook(conn, "InvoiceDebitDisputed").await?;
    effects.email(conn, "InvoiceDisputed", json!({})).await?;
    Ok(())
}

/// Applies a gateway answer to the attempt and the invoice, with its effects.
pub(crate) async fn record_outcome(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    payment: &Payment,
    permission: &Permission,
    charge_id: Option<&str>,
    outcome: &ChargeOutcome,
    now_us: i64,
) -> Result<CollectOutcome> {
    let business_id = invoice.business_id;
    let attempt = payment.attempt;
    let customer = customers::get(conn, business_id, invoice.customer_id).await?;
    let set =
        |state: &'static str, reason: Option<String>, paid: Option<i64>| (state, reason, paid);
    let (state, reason, paid_at) = match outcome {
        ChargeOutcome::Succeeded => set("Succeeded", None, Some(now_us)),
        ChargeOutcome::Pending { .. } => set("Pending", None, None),
        ChargeOutcome::RequiresAction { .. } => set("RequiresAction", None, None),
        ChargeOutcome::Failed { reason, .. } => set("Failed", Some(reason.to_string()), None),
        ChargeOutcome::Disputed { reason, .. } => set("Disputed", Some(reason.to_string()), None),
    };
    payments::set_outcome(
        conn,
        business_id,
        payment.id,
        state,
        charge_id,
        reason.as_deref(),
        paid_at,
        now_us,
    )
    .await?;
    match outcome {
        ChargeOutcome::Succeeded => {
            let paid = pay(conn, invoice, InvoiceEvent::Pay, now_us).await?;
            invoices::set_payment_scheduled(conn, business_id, invoice.id, None, now_us).await?;
            let effects = Effects::new(business_id, &paid, &customer, now_us);
            effects.webhook(conn, "InvoiceDebitPaid").await?;
            effects.webhook(conn, "CustomerChargingSucceeded").await?;
            if invoice.type_payment == "DirectDebit" {
                watch_for_dispute(conn, invoice, attempt, now_us).await?;
            }
            Ok(CollectOutcome::Paid)
        }
        ChargeOutcome::Pending { settles_at } => {
            let settles_at_us = settles_at.as_microsecond();
            let pending = transition(conn, invoice, InvoiceEvent::Submit, now_us).await?;
            let effects = Effects::new(business_id, &pending, &customer, now_us);
            effects
                .webhook_keyed(conn, "CustomerChargingPending", &format!(":{attempt}"))
                .await?;
            jobs::enqueue(
                conn,
                &jobs::NewJob {
                    business_id: Some(business_id),
                    kind: JOB_POLL_PAYMENT.into(),
                    payload: json!({"business_id": business_id, "invoice_id": invoice.id,
                                    "attempt": attempt})
                    .to_string(),
                    run_at_us: settles_at_us.max(now_us),
                    max_attempts: 10,
                    natural_key: Some(format!("poll:{}:{attempt}:{settles_at_us}", invoice.id)),
                },
                now_us,
            )
            .await?;
            Ok(CollectOutcome::Pending { settles_at_us })
        }
        ChargeOutcome::RequiresAction { .. } => {
            let effects = Effects::new(business_id, invoice, &customer, now_us);
            let suffix = format!(":{attempt}");
            effects
                .webhook_keyed(conn, "InvoiceDebitPaymentAutoRequestedAuth", &suffix)
                .await?;
            effects
                .email_keyed(conn, "InvoicePaymentSecureRequired", json!({}), &suffix)
                .await?;
            Ok(CollectOutcome::RequiresAuthentication)
        }
        ChargeOutcome::Failed { reason, retryable } => {
            if *reason == FailureReason::Expired {
                payments::set_permission_state(conn, business_id, permission.id, "Expired", now_us)
                    .await?;
            }
            if *reason == FailureReason::MandateRevoked {
                payments::set_permission_state(
                    conn,
                    business_id,
                    permission.id,
                    "Disabled",
                    now_us,
                )
                .await?;
            }
            let attempt_u32 = u32::try_from(attempt).unwrap_or(u32::MAX);
            let next = if *retryable {
                next_retry(attempt_u32, timestamp(now_us)?)
            } else {
                None
            };
            fail(conn, invoice, &customer, attempt, *reason, next, now_us).await
        }
        ChargeOutcome::Disputed { .. } => {
            fail(
                conn,
                invoice,
                &customer,
                attempt,
                FailureReason::Rejected,
                None,
                now_us,
            )
            .await
        }
    }
}

async fn fail(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    customer: &abo_store::customers::Customer,
    attempt: i64,
    reason: FailureReason,
    next: Option<Timestamp>,
    now_us: i64,
) -> Result<CollectOutcome> {
    let business_id = invoice.business_id;
    let suffix = format!(":{attempt}");
    match next {
        Some(at) => {
            let at_us = at.as_microsecond();
            let event = InvoiceEvent::Fail {
                last_attempt: false,
            };
            // DueAuto stays DueAuto; DuePending (SEPA) goes back to DueAuto.
            next_state(invoice, event)?;
            let due = transition(conn, invoice, event, now_us).await?;
            invoices::set_payment_scheduled(conn, business_id, invoice.id, Some(at_us), now_us)
                .await?;
            let effects = Effects::new(business_id, &due, customer, now_us);
            effects
                .webhook_keyed(conn, "CustomerChargingFailed", &suffix)
                .await?;
            if reason == FailureReason::InsufficientFunds {
                effects
                    .webhook_keyed(conn, "GatewayPermissionInsufficientFunds", &suffix)
                    .await?;
            }
            enqueue_collect(conn, business_id, invoice.id, attempt + 1, at_us, now_us).await?;
            Ok(CollectOutcome::Retrying {
                next_attempt_us: at_us,
            })
        }
        None => {
            let problem = transition(
                conn,
                invoice,
                InvoiceEvent::Fail { last_attempt: true },
                now_us,
            )
            .await?;
            invoices::set_payment_scheduled(conn, business_id, invoice.id, None, now_us).await?;
            let effects = Effects::new(business_id, &problem, customer, now_us);
            effects
                .webhook_keyed(conn, "CustomerChargingFailed", &suffix)
                .await?;
            effects
                .webhook(conn, "InvoiceDebitPaymentAutoFailed")
                .await?;
            effects
                .webhook(conn, "CustomerChargingAutoFailedNoRetry")
                .await?;
            effects
                .email(
                    conn,
                    "InvoicePaymentAutoFailed",
                    json!({"Reason": reason.as_str()}),
                )
                .await?;
            Ok(CollectOutcome::Problem)
        }
    }
}
