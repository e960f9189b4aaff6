//! Test helpers: the sandboxes never wait, so a future is ready on its first
//! poll and no async runtime is needed.

#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use abo_core::{Currency, Money};
use abo_gateway::{
    CardDetails, ChargeContext, ChargeRequest, DirectDebitDetails, PaymentDetails, PermissionId,
};
use jiff::Timestamp;

pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("a sandbox gateway waited"),
    }
}

pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A Monday.
pub fn now() -> Timestamp {
    at("2026-03-02T10:00:00Z")
}

pub fn card(number: &str) -> PaymentDetails {
    PaymentDetails::Card(CardDetails {
        number: number.into(),
        expiry: "12/28".into(),
        cvc: "123".into(),
        country: Some("fr".into()),
    })
}

pub fn sepa(iban: &str) -> PaymentDetails {
    PaymentDetails::DirectDebit(DirectDebitDetails {
        iban: iban.into(),
        holder_name: "Jeanne Martin".into(),
        mandate_accepted: true,
    })
}

pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

pub fn request(
    permission: &PermissionId,
    minor: i64,
    context: ChargeContext,
    key: &str,
) -> ChargeRequest {
    ChargeRequest {
        permission_id: permission.clone(),
        amount: eur(minor),
        context,
        idempotency_key: key.into(),
    }
}
