//! Hosted pages: the Customer Portal (spec §3.1) and the link landing of every hosted path.
//!
//! * [`landing`]: `/{hosted prefix}/{token}` for every `abo_links::Purpose`: verifies the
//!   link and starts a session (or serves the invoice PDF).
//! * [`session`]: sessions carried in the URL (`/portal/s/{session}/...`), because the
//!   portal is framed cross-site where third-party cookies are blocked; CSRF tokens bound
//!   to them.
//! * [`context`]: the [`context::Ctx`] extractor of every session page and
//!   [`context::PortalForm`] for POSTs (CSRF checked before the handler).
//! * [`look`]: the segment's framing policy (`Content-Security-Policy: frame-ancestors`),
//!   CSS, header/footer HTML, logo and string overrides, cached per node.
//! * [`i18n`], [`format`]: English and French strings, amounts and dates.
//! * [`pages`]: the four sections (subscriptions, invoices, billing information, payment
//!   method) and the offers.
//! * `workflows`: the customer workflows (subscribe, change plan, pay...), under
//!   `/portal/s/{session}/wf/...` (another module, same infrastructure).
//!
//! How the pages fit together: ARCHITECTURE.md, "Hosted pages".

pub mod assets;
pub mod context;
pub mod error;
pub mod format;
pub mod i18n;
pub mod landing;
pub mod look;
pub mod pages;
pub mod pdf;
pub mod render;
pub mod session;
pub mod workflows;

use axum::Router;

use crate::AppState;

pub use context::{Ctx, PortalForm};
pub use error::{ErrorKind, PortalError};
pub use render::Chrome;

/// Per-node caches of the hosted pages (held by `AppState`).
#[derive(Default)]
pub struct PortalCaches {
    pub sessions: session::SessionKeys,
    pub looks: look::LookCache,
}

/// Every hosted route: landing, assets, portal sections, workflows.
pub fn routes() -> Router<AppState> {
    let pages = Router::new()
        .merge(landing::routes())
        .merge(pages::routes())
        .merge(workflows::routes())
        .layer(axum::middleware::from_fn(admit));
    Router::new().merge(assets::routes()).merge(pages)
}

/// How many hosted pages are rendered at once: a few per core. A page is a handful of short
/// database reads and a template; rendering more at once only adds thread switches between
/// the database workers (on 2 cores, 64 at once serve ~0.6x the pages that 6 do), so the rest
/// wait their turn in a fair queue. The API is not limited: usage writes batch better the more
/// arrive together.
fn page_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        tokio::sync::Semaphore::new(3 * cores)
    })
}

async fn admit(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // The semaphore is never closed, so acquiring cannot fail.
    let _slot = page_slots().acquire().await.ok();
    next.run(request).await
}
