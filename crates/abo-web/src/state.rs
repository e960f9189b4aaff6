use abo_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// What every handler can reach. Cheap to clone: everything is behind `Arc`s.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Option<Arc<PrometheusHandle>>,
    /// Absolute base URL under which this node is reached (used for links).
    pub public_url: Arc<str>,
}
