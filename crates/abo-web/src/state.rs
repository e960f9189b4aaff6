use crate::api::auth::AuthCache;
use crate::api::links::KeyringCache;
use abo_core::Clock;
use abo_service::usages::UsageWriter;
use abo_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// What every handler can reach. Cheap to clone: everything is behind `Arc`s.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The one clock (tests move it).
    pub clock: Arc<dyn Clock>,
    /// Absolute base URL under which customers reach this node (links).
    pub public_url: Arc<str>,
    pub metrics: Option<Arc<PrometheusHandle>>,
    /// The node's usage write path (group commit on SQLite). Shut it down
    /// after the server stops so queued writes are committed.
    pub usages: UsageWriter,
    pub(crate) auth: Arc<AuthCache>,
    pub(crate) keyrings: Arc<KeyringCache>,
    /// The node's payment gateways, shared by the portal and whoever
    /// collects. The sandboxes keep their state in the store, so every node,
    /// a restarted one and `abo bill` see the same cards, mandates and
    /// pending debits.
    pub gateways: Arc<abo_service::billing::Gateways>,
    /// Hosted pages: session keys and segment looks, cached per node.
    pub(crate) portal: Arc<crate::portal::PortalCaches>,
    /// Where webhooks may point (the SSRF guard): public https targets
    /// unless the operator allows private ones or http.
    pub webhooks: abo_webhooks::TargetPolicy,
}

impl AppState {
    /// The state of a node. `public_url` has no trailing slash. Must be
    /// called within a Tokio runtime: it starts the node's usage writer.
    pub fn new(store: Store, clock: Arc<dyn Clock>, public_url: &str) -> AppState {
        let gateways = Arc::new(abo_service::billing::Gateways::persistent(store.clone()));
        AppState {
            usages: UsageWriter::new(store.clone()),
            store,
            clock,
            public_url: public_url.trim_end_matches('/').into(),
            metrics: None,
            auth: Arc::default(),
            keyrings: Arc::default(),
            gateways,
            portal: Arc::default(),
            webhooks: abo_webhooks::TargetPolicy::default(),
        }
    }

    /// The same state, with this webhook target policy.
    pub fn with_webhook_policy(mut self, policy: abo_webhooks::TargetPolicy) -> AppState {
        self.webhooks = policy;
        self
    }

    pub fn with_metrics(mut self, handle: PrometheusHandle) -> AppState {
        self.metrics = Some(Arc::new(handle));
        self
    }

    /// Now, in epoch microseconds, for a business: its test clock when it
    /// has one, else the node's clock.
    pub fn now_us(&self, business: &abo_store::businesses::Business) -> i64 {
        business
            .test_clock_us
            .unwrap_or_else(|| self.clock.now().as_microsecond())
    }
}
