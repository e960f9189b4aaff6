//! Where a sandbox gateway keeps its state between restarts (spec: "the
//! sandbox gateways behave like real ones"; a real PSP does not forget a
//! mandate or a pending debit when our node restarts).
//!
//! The sandbox stores each of its records as one JSON document under
//! `(gateway, kind, key)` and takes its ids from a sequence shared by every
//! node. `abo-service` implements this trait on the store (SQLite or
//! Postgres); without a ledger the sandbox lives in memory only.

use async_trait::async_trait;

use crate::gateway::TypeGateway;

/// The storage of a sandbox gateway's records. Errors are plain messages:
/// the sandbox reports them as [`crate::GatewayError::Storage`].
#[async_trait]
pub trait SandboxLedger: Send + Sync {
    /// The document stored under `(gateway, kind, key)`, if any.
    async fn load(
        &self,
        gateway: TypeGateway,
        kind: &str,
        key: &str,
    ) -> Result<Option<String>, String>;

    /// Stores (inserts or replaces) the document.
    async fn save(
        &self,
        gateway: TypeGateway,
        kind: &str,
        key: &str,
        value: &str,
    ) -> Result<(), String>;

    /// Reserves `count` consecutive ids of the gateway's sequence and
    /// returns the first; no two calls, on any node, get the same id.
    async fn reserve_ids(&self, gateway: TypeGateway, count: u64) -> Result<u64, String>;
}
