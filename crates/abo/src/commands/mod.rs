pub mod bill;
pub mod business;
pub mod clock;
pub mod demo;
pub mod import;
pub mod invoice;
pub mod migrate;
pub mod serve;

use crate::config::{Config, redact};
use abo_store::Store;
use anyhow::Context;

/// Opens the configured database (creating the data directory for SQLite)
/// and applies pending migrations, which are embedded in the binary.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url();
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
    }
    // Fail within seconds when the database is unreachable: an operator
    // waiting on a silent prompt is worse than a clear error and a retry.
    let options = abo_store::StoreOptions {
        acquire_timeout: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    let store = Store::connect_with(&url, options)
        .await
        .with_context(|| format!("cannot open database {}", redact(&url)))?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(store)
}

/// Now, in microseconds since the Unix epoch: the unit of every instant in the store.
pub fn now_us() -> i64 {
    use abo_core::Clock;
    abo_core::SystemClock.now().as_microsecond()
}
