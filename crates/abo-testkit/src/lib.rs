//! `abo-testkit`: the harness of Abo's HTTP end-to-end tests.
//!
//! - [`spawn_app`] starts the real Abo server in-process on `127.0.0.1:0`, on
//!   a fresh SQLite file or a fresh PostgreSQL database, with a seeded test
//!   business and catalogue, and returns a [`TestApp`] whose requests carry
//!   that business's HTTP Basic credentials.
//! - [`both_backends!`] turns one `async fn(app: TestApp)` into a test on each
//!   backend (Postgres skipped with a printed line unless configured).
//! - [`Contract`] is the ProAbono API Live OpenAPI contract, loaded at test
//!   time, with a strict OpenAPI 3.0 schema validator; [`TestApp::checked`]
//!   sends a request and panics unless the answer satisfies the contract.
//! - [`browser`] drives Debian's headless Chromium (one chromedriver per
//!   test) and serves a cross-site merchant page that frames hosted pages.
//! - [`smtp::AioSmtpd`] runs Debian's aiosmtpd, an independent SMTP server, into a
//!   Maildir for the e-mail end-to-end tests.
//!
//! ```no_run
//! use abo_testkit::{TestApp, both_backends};
//! use serde_json::json;
//!
//! both_backends! {
//!     async fn customer_round_trip(app: TestApp) {
//!         let (status, _) = app
//!             .post_json_checked("/v1/Customer", &json!({"ReferenceCustomer": "c1"}))
//!             .await;
//!         assert_eq!(status, 201);
//!         let (status, body) = app.get_checked("/v1/Customer?ReferenceCustomer=c1").await;
//!         assert_eq!(status, 200);
//!         assert_eq!(body.unwrap()["ReferenceCustomer"], "c1");
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! Use it as a dev-dependency: `abo-testkit = { path = "../abo-testkit" }`.

mod app;
pub mod browser;
mod check;
pub mod contract;
pub mod postgres;
pub mod smtp;

pub use abo_store::Backend;
pub use app::{
    AppOptions, TestApp, build_state, run_test, spawn_app, spawn_app_or_skip, spawn_app_with,
};
pub use check::{CheckFailure, CheckedResponse, send_checked};
pub use contract::{Contract, ContractError, Example, Operation, ValidateOptions};

/// Generates, for each `async fn name(app: TestApp) { ... }`, a module `name`
/// with two tests, `name::sqlite` and `name::postgres`, each running the body
/// on a fresh app of that backend (see [`run_test`]). The body sees the
/// enclosing module's items (`use super::*`). An optional
/// `#[options(expr)]` gives the [`AppOptions`]:
///
/// ```no_run
/// use abo_testkit::{AppOptions, TestApp, both_backends};
///
/// both_backends! {
///     /// Health first.
///     async fn health(app: TestApp) {
///         assert_eq!(app.get("/healthz").await.status(), 200);
///     }
///
///     #[options(AppOptions::default().without_catalog())]
///     async fn empty_catalogue(app: TestApp) {
///         assert!(app.business_id > 0);
///     }
/// }
/// # fn main() {}
/// ```
///
/// The older explicit form is accepted too:
/// `both_backends!(body_fn => sqlite_name, postgres_name);`.
#[macro_export]
macro_rules! both_backends {
    () => {};
    (@options) => { $crate::AppOptions::default() };
    (@options $options:expr) => { $options };
    (
        $(#[doc = $doc:literal])*
        $(#[options($options:expr)])?
        async fn $name:ident($app:ident : $ty:ty) $body:block
        $($rest:tt)*
    ) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: $ty) $body

            #[test]
            fn sqlite() {
                $crate::run_test(
                    $crate::Backend::Sqlite,
                    concat!(module_path!(), "::sqlite"),
                    $crate::both_backends!(@options $($options)?),
                    body,
                );
            }

            #[test]
            fn postgres() {
                $crate::run_test(
                    $crate::Backend::Postgres,
                    concat!(module_path!(), "::postgres"),
                    $crate::both_backends!(@options $($options)?),
                    body,
                );
            }
        }

        $crate::both_backends! { $($rest)* }
    };
    ($body:path => $sqlite:ident, $postgres:ident $(,)?) => {
        #[test]
        fn $sqlite() {
            $crate::run_test(
                $crate::Backend::Sqlite,
                concat!(module_path!(), "::", stringify!($sqlite)),
                $crate::AppOptions::default(),
                $body,
            );
        }

        #[test]
        fn $postgres() {
            $crate::run_test(
                $crate::Backend::Postgres,
                concat!(module_path!(), "::", stringify!($postgres)),
                $crate::AppOptions::default(),
                $body,
            );
        }
    };
}
