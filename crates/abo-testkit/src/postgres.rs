//! Throw-away PostgreSQL databases for tests: the harness lives in
//! `abo_store::testing::postgres` (shared with the store's own tests); this
//! module keeps the testkit's public path.

pub use abo_store::testing::postgres::*;
