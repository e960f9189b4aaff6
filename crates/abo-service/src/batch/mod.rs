//! Set-wise forms of the three steps every renewal goes through — renew
//! ([`renew`]), bill ([`bill`]), collect ([`collect`]) — for the engine's
//! batches of due jobs: the common case costs a few statements for the whole
//! batch instead of a dozen per subscription.
//!
//! Nothing is decided twice: each step sorts its items into those of the
//! common case, written set-wise from the same pure pieces as the one-by-one
//! use case (schedules, balance lines, invoice assembly, state machines,
//! outbox rows with the same natural keys), and the others, carried out by
//! that use case, in the same transaction. The guarantees are those of the
//! one-by-one path: a subscription is taken at its expected period and
//! state, a line is billed only while `Due`, an invoice is paid only from
//! the state it was charged in, invoice numbers are taken in the batch's
//! transaction (gapless, given back by a rollback).

pub mod bill;
pub mod collect;
pub mod renew;
