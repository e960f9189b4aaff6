use crate::config::{Config, Overrides};
use crate::telemetry;
use abo_web::AppState;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(clap::Args)]
pub struct Args {
    /// Port to listen on (0 = any free port).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long)]
    bind: Option<String>,
}

impl Args {
    pub fn apply(&self, overrides: &mut Overrides) {
        overrides.port = self.port.or(overrides.port);
        overrides.bind = self.bind.clone().or(overrides.bind.take());
    }
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    telemetry::init_logging(&config);
    let store = super::open_store(&config).await?;
    let server = Server::bind(&config, store).await?;
    tracing::info!(url = %server.base_url, "abo is ready");
    println!("Abo is listening on {}", server.base_url);
    server.serve().await
}

/// A bound listener with its application, ready to serve. Split from
/// `run` so that `abo demo` can print its banner between the two.
pub struct Server {
    listener: TcpListener,
    app: axum::Router,
    usages: abo_service::usages::UsageWriter,
    /// The billing engine's background loop (renewals, billing), started by `serve`.
    engine: abo_engine::Engine,
    pub base_url: String,
}

impl Server {
    pub async fn bind(config: &Config, store: abo_store::Store) -> anyhow::Result<Server> {
        let addr: SocketAddr = format!("{}:{}", config.bind, config.port)
            .parse()
            .with_context(|| format!("invalid listen address {}:{}", config.bind, config.port))?;
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr} (is another process using it? choose one with --port)")
        })?;
        let local = listener.local_addr()?;
        let base_url = match &config.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{local}"),
        };
        let mut state = AppState::new(store.clone(), Arc::new(abo_core::SystemClock), &base_url)
            .with_webhook_policy(config.webhook_policy());
        // One set of payment gateways per node: the engine collects with the
        // cards and mandates the hosted pages register.
        let mut engine = abo_engine::Engine::with_gateways(store, state.gateways.clone())
            .with_webhook_policy(config.webhook_policy());
        if let Some(smtp) = config.smtp() {
            // Customer e-mails: the engine claims `Email` jobs only with a mailer.
            engine = engine.with_mailer(abo_mail::Mailer::new(&smtp, &base_url)?);
        }
        if let Some(handle) = telemetry::init_metrics() {
            state = state.with_metrics(handle);
        }
        Ok(Server {
            listener,
            usages: state.usages.clone(),
            engine,
            app: abo_web::router(state),
            base_url,
        })
    }

    /// Adds routes next to Abo's (the demo mailbox page).
    pub fn with_routes(mut self, routes: axum::Router) -> Server {
        self.app = self.app.merge(routes);
        self
    }

    pub async fn serve(self) -> anyhow::Result<()> {
        let (stop_engine, engine_stopped) = tokio::sync::oneshot::channel::<()>();
        let engine = tokio::spawn(self.engine.run_forever(
            Arc::new(abo_core::SystemClock),
            format!("node-{}", uuid::Uuid::new_v4()),
            std::time::Duration::from_secs(1),
            async move {
                let _ = engine_stopped.await;
            },
        ));
        let served = axum::serve(self.listener, self.app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server error");
        // In-flight requests are done; commit whatever writes are still queued.
        self.usages.shutdown().await;
        let _ = stop_engine.send(());
        let _ = engine.await;
        served
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
