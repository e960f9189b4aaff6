//! The sandbox gateways' state in the database (migration 0010), so that a
//! restarted `abo serve`, another node or `abo bill` still knows the cards
//! and mandates registered and settles the SEPA debits started before.
//!
//! Each ledger call is its own statement on a pooled connection, outside the
//! use cases' transactions: the sandbox plays the PSP, whose database is not
//! ours, and the gateway is only ever called between transactions (see
//! `collect`), so on SQLite no call waits on a write lock its caller holds.

use std::sync::Arc;

use abo_core::Clock;
use abo_gateway::{CardDummy, DirectDebitDummy, SandboxLedger, TypeGateway};
use abo_store::{Store, sandbox_records};
use async_trait::async_trait;

use super::Gateways;

/// [`SandboxLedger`] on the store.
pub struct StoreLedger {
    store: Store,
    /// Only stamps `updated_at_us` (diagnostics); decisions use the
    /// caller's `now`.
    clock: Arc<dyn Clock>,
}

impl StoreLedger {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> StoreLedger {
        StoreLedger { store, clock }
    }
}

fn message(e: impl std::fmt::Display) -> String {
    e.to_string()
}

#[async_trait]
impl SandboxLedger for StoreLedger {
    async fn load(
        &self,
        gateway: TypeGateway,
        kind: &str,
        key: &str,
    ) -> Result<Option<String>, String> {
        let mut conn = self.store.acquire().await.map_err(message)?;
        sandbox_records::load(&mut conn, gateway.as_str(), kind, key)
            .await
            .map_err(message)
    }

    async fn save(
        &self,
        gateway: TypeGateway,
        kind: &str,
        key: &str,
        value: &str,
    ) -> Result<(), String> {
        let mut conn = self.store.acquire().await.map_err(message)?;
        let now_us = self.clock.now().as_microsecond();
        sandbox_records::save(&mut conn, gateway.as_str(), kind, key, value, now_us)
            .await
            .map_err(message)
    }

    async fn reserve_ids(&self, gateway: TypeGateway, count: u64) -> Result<u64, String> {
        let count = i64::try_from(count).map_err(message)?;
        let mut conn = self.store.acquire().await.map_err(message)?;
        let first = sandbox_records::reserve(&mut conn, gateway.as_str(), count)
            .await
            .map_err(message)?;
        u64::try_from(first).map_err(message)
    }
}

impl Gateways {
    /// The sandbox gateways with their state in `store`: what `abo serve`,
    /// `abo bill` and `abo clock` use, so a debit started by one process is
    /// settled by any other, before or after a restart.
    pub fn persistent(store: Store) -> Gateways {
        let ledger: Arc<dyn SandboxLedger> =
            Arc::new(StoreLedger::new(store, Arc::new(abo_core::SystemClock)));
        Gateways {
            card: CardDummy::with_ledger(ledger.clone()),
            direct_debit: DirectDebitDummy::with_ledger(ledger),
        }
    }
}
