use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::error::{Result, StoreError};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// A transaction on the store (see [`Store::begin`]). Pass `&mut *tx` to repository functions.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The database behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Which backend a database URL points at.
    pub fn from_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Invalid(format!(
                "unsupported database URL (expected sqlite:// or postgres://): {}",
                redact(url)
            )))
        }
    }
}

/// Pool tuning; every field has a safe default.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Maximum pooled connections. Default: 8 for SQLite files (one writer at a time anyway),
    /// 16 for Postgres. An in-memory SQLite database always uses exactly one connection.
    pub max_connections: Option<u32>,
    /// How long to wait for a pooled connection. Default 30 s.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The storage handle: a connection pool plus the backend it talks to. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connect with default options. For SQLite the database file and its parent directories
    /// are created if missing (`sqlite://data/abo.db`, `sqlite:///abs/abo.db`,
    /// `sqlite::memory:`).
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let mut pool_options = AnyPoolOptions::new().acquire_timeout(options.acquire_timeout);
        let url = match backend {
            Backend::Postgres => {
                pool_options = pool_options.max_connections(options.max_connections.unwrap_or(16));
                url.to_owned()
            }
            Backend::Sqlite => {
                let (url, in_memory) = prepare_sqlite_url(url)?;
                if in_memory {
                    // Each connection to `:memory:` is its own database: keep exactly one, forever.
                    pool_options = pool_options
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None);
                } else {
                    pool_options =
                        pool_options.max_connections(options.max_connections.unwrap_or(8));
                }
                // A connection to a local file cannot be cut like a network one: pinging it
                // on every acquire (sqlx's default) only adds a round trip to its worker
                // thread to every request.
                pool_options = pool_options.test_before_acquire(false);
                pool_options = pool_options.after_connect(|conn, _meta| {
                    Box::pin(async move {
                        // WAL + synchronous=NORMAL: committed data survives a process crash
                        // (SIGKILL); only an OS crash/power loss may lose the last commits.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        // Writers queue for the one write lock (`BEGIN IMMEDIATE`); on a loaded
                        // machine a burst of them can wait longer than a few seconds, which must
                        // slow a write down, not fail it.
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        // 32 MiB of page cache per connection instead of SQLite's 2 MiB: with
                        // a few hundred thousand jobs and invoices the engine's lookups missed
                        // the cache and read the file for most pages (100,000 renewals: 42 s
                        // with the default, 31 s with this).
                        conn.execute("PRAGMA cache_size = -32768").await?;
                        // A statement that writes many rows inside a transaction (the engine's
                        // batches) keeps a statement journal, to undo itself alone; past 64 KiB
                        // SQLite spills it to a temporary file, written and read back with a
                        // system call per page. In memory it costs only the pages it holds.
                        conn.execute("PRAGMA temp_store = MEMORY").await?;
                        Ok(())
                    })
                });
                url
            }
        };
        let pool = pool_options.connect(&url).await.map_err(StoreError::from)?;
        Ok(Store { pool, backend })
    }

    /// Apply the embedded migrations for this backend. Idempotent.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Start a write transaction: `BEGIN IMMEDIATE` on SQLite (takes the write lock up front,
    /// so two transactions never deadlock upgrading read locks), plain `BEGIN` on Postgres.
    pub async fn begin(&self) -> Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// A pooled connection for reads or single-statement writes.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Round trip to the database (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Normalise a SQLite URL: add `mode=rwc` when no mode is given, and create the parent
/// directories of the database file. Returns the URL and whether it is in-memory.
fn prepare_sqlite_url(url: &str) -> Result<(String, bool)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let in_memory = path == ":memory:"
        || path.is_empty()
        || query.is_some_and(|q| q.split('&').any(|kv| kv == "mode=memory"));
    if in_memory {
        return Ok((url.to_owned(), true));
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Invalid(format!("cannot create directory {}: {e}", parent.display()))
        })?;
    }
    let has_mode = query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("mode=")));
    let url = match (query, has_mode) {
        (_, true) => url.to_owned(),
        (Some(_), false) => format!("{url}&mode=rwc"),
        (None, false) => format!("{url}?mode=rwc"),
    };
    Ok((url, false))
}

/// Hide a password in a URL for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        let dir = tempfile_dir();
        let file = format!("sqlite://{dir}/a/b/abo.db");
        let (u, mem) = prepare_sqlite_url(&file).unwrap();
        assert_eq!(u, format!("{file}?mode=rwc"));
        assert!(!mem);
        assert!(Path::new(&format!("{dir}/a/b")).is_dir());
        assert!(prepare_sqlite_url("sqlite::memory:").unwrap().1);
        let (u, _) = prepare_sqlite_url(&format!("sqlite://{dir}/x.db?mode=ro")).unwrap();
        assert!(u.ends_with("mode=ro"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn backends_and_redaction() {
        assert_eq!(
            Backend::from_url("sqlite::memory:").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u:p@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::from_url("mysql://u:secret@h/db").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    fn tempfile_dir() -> String {
        let dir = tempfile::tempdir().unwrap();
        dir.keep().to_string_lossy().into_owned()
    }
}
