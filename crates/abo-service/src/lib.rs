//! `abo-service`: the use cases of Abo. Each loads what it needs, applies the
//! core rules, saves, and enqueues its effects in one transaction. It is the
//! only place that decides; the HTTP handlers and the CLI only translate.

pub mod batch;
pub mod billing;
pub mod business;
pub mod catalog;
pub mod customers;
pub mod demo;
pub mod error;
pub mod events;
pub mod links;
pub mod offers;
pub mod portal;
pub mod quoting;
pub mod renewal;
pub mod subscribe;
pub mod subscriptions;
pub mod usages;
pub mod workflows;

pub use error::{Result, ServiceError};
