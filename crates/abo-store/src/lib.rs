//! abo-store: one storage layer for SQLite (embedded, default) and PostgreSQL (multi-node).
//!
//! Every query is written once against `sqlx::Any`; the few statements that differ per dialect
//! (job claiming) switch on [`Backend`]. Repository functions are free functions, one module per
//! aggregate, taking `&mut AnyConnection` so they run either inside a transaction (`&mut *tx`)
//! or on a pooled connection (`&mut *store.pool().acquire().await?`).
//!
//! Conventions (the Any driver only knows ints, floats, text, blobs and booleans):
//! ids, amounts (minor units) and instants (epoch microseconds UTC, suffix `_us`) are `i64`;
//! civil dates are `'YYYY-MM-DD'` text; decimals and JSON are text; enums are stored as their
//! ProAbono string names (`"Limitation"`, `"ActiveRunning"`, ...).
//!
//! Tenancy: every lookup takes the business id; the schema's composite foreign keys
//! `(business_id, x_id) -> x(business_id, id)` make cross-tenant references impossible.
//!
//! Nothing here reads the system clock: callers pass `now_us` (see the `Clock` in abo-core).

pub mod balance_lines;
pub mod billing_settings;
pub mod businesses;
pub mod credentials;
pub mod customers;
pub mod discounts;
pub mod emails;
pub mod engine_scan;
pub mod features;
pub mod idempotency;
pub mod invoices;
pub mod jobs;
pub mod link_keys;
pub mod offers;
pub mod payments;
pub mod portal_reads;
pub mod portal_settings;
pub mod pricing_tables;
pub mod refunds;
pub mod sandbox_records;
pub mod segments;
pub mod subscription_discounts;
pub mod subscriptions;
pub mod usages;
pub mod webhooks;
pub mod workflow_settings;

mod error;
mod many;
mod row;
mod store;

pub use error::{Result, StoreError};
pub use store::{Backend, Store, StoreOptions, Tx};

pub use sqlx::AnyConnection;

#[cfg(feature = "testing")]
pub mod testing;

/// Offset/limit pagination request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: i64,
    pub limit: i64,
}

impl PageRequest {
    pub const fn new(offset: i64, limit: i64) -> Self {
        Self { offset, limit }
    }

    /// Clamp to sane values: offset >= 0, 1 <= limit <= 1000.
    pub(crate) fn clamped(self) -> (i64, i64) {
        (self.offset.max(0), self.limit.clamp(1, 1000))
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: 50,
        }
    }
}

/// One page of results plus the total number of matching rows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// What an idempotent upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Written {
    Created,
    Updated,
    Unchanged,
}

impl Written {
    /// True unless nothing changed.
    pub fn changed(self) -> bool {
        self != Written::Unchanged
    }
}
