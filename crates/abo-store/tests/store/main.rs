//! The storage test suite. Every test is an `async fn(Store)` run on SQLite and on PostgreSQL
//! (see `abo_store::testing`; set ABO_TEST_POSTGRES_URL, and ABO_REQUIRE_POSTGRES=1 in CI).

mod fixtures;

mod billing;
mod catalogue;
mod customers;
mod jobs;
mod portal_reads;
mod schema;
mod tenancy;
mod usages;
