use super::serve::Server;
use crate::config::{Config, Overrides};
use crate::telemetry;
use abo_service::business::Credentials;
use abo_service::demo::ensure_demo;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(clap::Args)]
pub struct Args {
    /// Port to listen on (0 = any free port).
    #[arg(long)]
    port: Option<u16>,
}

impl Args {
    pub fn apply(&self, overrides: &mut Overrides) {
        overrides.port = self.port.or(overrides.port);
    }
}

/// `demo.json`: what scripts need to talk to the demo.
#[derive(Serialize, Deserialize)]
struct DemoFile {
    base_url: String,
    business_id: i64,
    agent_key: String,
    api_key: String,
    segment_reference: String,
}

pub async fn run(config: Config, _args: Args) -> anyhow::Result<()> {
    telemetry::init_logging(&config);
    let store = super::open_store(&config).await?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let demo_path = config.data_dir.join("demo.json");
    let known = read_demo_file(&demo_path).map(|f| Credentials {
        agent_key: f.agent_key,
        api_key: f.api_key,
    });
    let demo = ensure_demo(&store, known, super::now_us())
        .await
        .context("cannot create the demo data")?;

    let server = Server::bind(&config, store).await?;
    let file = DemoFile {
        base_url: server.base_url.clone(),
        business_id: demo.business_id,
        agent_key: demo.credentials.agent_key.clone(),
        api_key: demo.credentials.api_key.clone(),
        segment_reference: demo.segment_reference.clone(),
    };
    write_demo_file(&demo_path, &file)?;

    let base = &server.base_url;
    println!();
    println!(
        "Abo demo is running ({} data in {}).",
        if demo.created { "new" } else { "existing" },
        config.data_dir.display()
    );
    println!();
    println!("  API base URL   {base}/v1");
    println!("  Health         {base}/healthz   {base}/readyz   {base}/metrics");
    println!("  Business id    {}", file.business_id);
    println!("  Agent key      {}", file.agent_key);
    println!("  API key        {}", file.api_key);
    println!("  Segment        {}", file.segment_reference);
    println!();
    println!(
        "  Try: curl -u {}:{} '{base}/v1/Customers'",
        file.agent_key, file.api_key
    );
    println!(
        "  These values are also in {} for scripts. Stop with Ctrl-C.",
        demo_path.display()
    );
    println!();
    server.serve().await
}

fn read_demo_file(path: &Path) -> Option<DemoFile> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_demo_file(path: &Path, file: &DemoFile) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(file)?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    // It holds an API key: readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
