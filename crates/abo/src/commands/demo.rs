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

pub async fn run(mut config: Config, _args: Args) -> anyhow::Result<()> {
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

    // Customer e-mails go to the local mailbox (all types on for the demo segment), unless
    // abo.toml names a real SMTP server.
    let mailbox = crate::demo_mailbox::start().await?;
    if config.smtp_host.is_none() {
        let local =
            abo_mail::SmtpSettings::loopback(mailbox.port(), crate::demo_mailbox::DEMO_FROM);
        config.smtp_host = Some(local.host);
        config.smtp_port = Some(local.port);
        config.smtp_tls = local.tls;
        config.mail_from = Some(local.from);
    }
    {
        let mut conn = store.acquire().await?;
        let segment = abo_store::segments::get_by_reference(
            &mut conn,
            demo.business_id,
            &demo.segment_reference,
        )
        .await?;
        abo_mail::settings::enable_all(&mut conn, demo.business_id, segment.id, super::now_us())
            .await?;
    }
    if demo.created {
        // First run: invoice the subscribed demo customers, so the portal shows
        // invoices and the mailbox their e-mails (sent by the engine once serving).
        abo_service::demo::bill_demo_customers(&store, demo.business_id, super::now_us())
            .await
            .context("cannot bill the demo customers")?;
    }
    let server = Server::bind(&config, store.clone())
        .await?
        .with_routes(crate::demo_mailbox::routes(mailbox));
    let shop = crate::demo_merchant::start(&config, &store, &demo, &server.base_url).await?;
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
    println!("  Mailbox        {base}/demo/mailbox   (customer e-mails of the demo)");
    println!(
        "  Merchant site  {}   (Demo Shop: sign in as a demo customer; e-mail links open here)",
        shop.subscription_url()
    );
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
