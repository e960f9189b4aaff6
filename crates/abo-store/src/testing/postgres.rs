//! Throw-away PostgreSQL databases for tests, with the conventions of
//! `crates/abo-store/tests`: `ABO_TEST_POSTGRES_URL` points at a server (any
//! database on it), each test gets `abo_t_<uuid-simple>` and drops it, and
//! without the variable Postgres tests print `SKIPPED ...` and pass, unless
//! `ABO_REQUIRE_POSTGRES=1`.
//!
//! Database names use UUIDv7, whose first 48 bits are the creation time in
//! milliseconds: [`sweep_stale_databases`] drops the `abo_t_*` databases a
//! crashed or killed run left behind, without touching those of a run still
//! going.

use crate::{Store, StoreOptions};
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const PG_ENV: &str = "ABO_TEST_POSTGRES_URL";
pub const REQUIRE_PG_ENV: &str = "ABO_REQUIRE_POSTGRES";
/// Prefix of every test database.
pub const DB_PREFIX: &str = "abo_t_";
/// Test databases older than this are leftovers: no test runs for an hour.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The admin URL from `ABO_TEST_POSTGRES_URL`, or `None` after printing the
/// skip line for `test_name`. Panics when `ABO_REQUIRE_POSTGRES=1` and the
/// variable is unset.
pub fn postgres_url_or_skip(test_name: &str) -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var(REQUIRE_PG_ENV).as_deref() == Ok("1") {
                panic!("{REQUIRE_PG_ENV}=1 but {PG_ENV} is not set: cannot run {test_name}");
            }
            // The real stderr (libtest captures eprintln!), so skips show.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (set {PG_ENV} to run on PostgreSQL): {test_name}"
            );
            None
        }
    }
}

/// A fresh database name, `abo_t_<uuidv7-simple>`.
pub fn new_database_name() -> String {
    format!("{DB_PREFIX}{}", uuid::Uuid::now_v7().simple())
}

/// When a test database of that name was created, if it carries a UUIDv7.
pub fn database_created_at(name: &str) -> Option<SystemTime> {
    let id = uuid::Uuid::try_parse(name.strip_prefix(DB_PREFIX)?).ok()?;
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    if id.get_version_num() != 7 {
        return None;
    }
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Replaces the database (URL path) of a Postgres URL, keeping any query string.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

async fn admin(admin_url: &str) -> Result<Store, String> {
    Store::connect_with(
        admin_url,
        StoreOptions {
            max_connections: Some(1),
            acquire_timeout: Duration::from_secs(10),
        },
    )
    .await
    .map_err(|e| format!("cannot connect to {PG_ENV}: {e}"))
}

async fn exec(admin: &Store, sql: String) -> Result<(), String> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
        .execute(admin.pool())
        .await
        .map(|_| ())
        .map_err(|e| format!("{sql}: {e}"))
}

fn check_name(db: &str) -> Result<(), String> {
    let ok = db.starts_with(DB_PREFIX)
        && db
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "refusing to touch database {db:?}: not a test database"
        ))
    }
}

/// Creates database `db` on the server of `admin_url`.
pub async fn create_database(admin_url: &str, db: &str) -> Result<(), String> {
    check_name(db)?;
    exec_retrying(admin_url, format!("CREATE DATABASE {db}")).await
}

/// Drops database `db`, closing any connection still open to it.
pub async fn drop_database(admin_url: &str, db: &str) -> Result<(), String> {
    check_name(db)?;
    exec_retrying(
        admin_url,
        format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )
    .await
}

/// Runs one admin statement, retrying for a few seconds so that a server
/// briefly out of connections neither fails a test nor leaks a database.
async fn exec_retrying(admin_url: &str, sql: String) -> Result<(), String> {
    let mut delay = Duration::from_millis(50);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = match admin(admin_url).await {
            Ok(admin) => {
                let r = exec(&admin, sql.clone()).await;
                admin.close().await;
                r
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= 8 || e.contains("already exists") => {
                return Err(format!("{e} (attempt {attempt})"));
            }
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// [`drop_database`] from synchronous code (a `Drop`), even inside a Tokio
/// runtime: runs on its own thread with its own runtime.
pub fn drop_database_blocking(admin_url: &str, db: &str) -> Result<(), String> {
    let (admin_url, db) = (admin_url.to_owned(), db.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime to drop {db}: {e}"))?;
        rt.block_on(drop_database(&admin_url, &db))
    })
    .join()
    .unwrap_or_else(|_| Err("the thread dropping the test database panicked".into()))
}

/// Drops every `abo_t_<uuidv7>` database created more than `older_than` ago
/// (leftovers of runs that were killed). Returns the names dropped.
/// Databases named otherwise (e.g. the store tests' UUIDv4 names, which those
/// tests always drop themselves) are left alone.
pub async fn sweep_stale_databases(
    admin_url: &str,
    older_than: Duration,
) -> Result<Vec<String>, String> {
    let admin = admin(admin_url).await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'abo\\_t\\_%'",
    )
    .fetch_all(admin.pool())
    .await
    .map_err(|e| format!("listing test databases: {e}"))?;
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(UNIX_EPOCH);
    let mut dropped = Vec::new();
    for name in names {
        if database_created_at(&name).is_some_and(|t| t < cutoff) && check_name(&name).is_ok() {
            exec(
                &admin,
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await?;
            dropped.push(name);
        }
    }
    admin.close().await;
    Ok(dropped)
}

/// Sweeps once per test process, before its first Postgres database.
pub async fn sweep_once(admin_url: &str) {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            match sweep_stale_databases(admin_url, STALE_AFTER).await {
                Ok(dropped) if !dropped.is_empty() => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "abo tests: dropped {} stale test database(s): {}",
                        dropped.len(),
                        dropped.join(", ")
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "abo tests: sweep skipped: {e}");
                }
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "abo_t_x"),
            "postgres://postgres@127.0.0.1:5432/abo_t_x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "abo_t_x"),
            "postgres://u:p@h/abo_t_x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h", "abo_t_x"),
            "postgres://h/abo_t_x"
        );
    }

    #[test]
    fn database_names_carry_their_creation_time() {
        let name = new_database_name();
        assert!(name.starts_with(DB_PREFIX) && name.len() == DB_PREFIX.len() + 32);
        let age = SystemTime::now()
            .duration_since(database_created_at(&name).unwrap())
            .unwrap();
        assert!(age < Duration::from_secs(60));
        let v4 = format!("{DB_PREFIX}{}", uuid::Uuid::new_v4().simple());
        assert_eq!(database_created_at(&v4), None);
        assert_eq!(database_created_at("abo_t_nope"), None);
        assert!(check_name("postgres").is_err());
        assert!(check_name("abo_t_x; DROP").is_err());
    }
}
