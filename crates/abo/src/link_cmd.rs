//! `abo link show|send`: the back office's "send link" actions from the command line (the
//! same use cases as `/Distribution/Customers/{id}/Links[/Send]`). Links point to the
//! merchant's integrated page (`?crylk=`) when the customer's segment sets one. Hosted pages
//! are addressed at the configured `public_url` (else `http://{bind}:{port}`), as `abo serve`
//! addresses them.

use crate::commands::{now_us, open_store};
use crate::config::Config;
use abo_mail::send_link::{self, LinkRequest};
use abo_store::{Store, customers, segments};
use anyhow::{Context, bail};

/// Which customer and which link.
#[derive(clap::Args)]
pub struct Target {
    #[arg(long)]
    business: i64,
    /// The customer's ReferenceCustomer.
    #[arg(long)]
    customer: String,
    /// The customer's segment (default: the business's default segment).
    #[arg(long)]
    segment: Option<String>,
    /// Home, SubscribeCustom, PaymentMethod, Charge, InvoicePdf, Subscribe, Register...
    #[arg(long)]
    kind: String,
    #[arg(long)]
    subscription: Option<i64>,
    #[arg(long)]
    invoice: Option<i64>,
    #[arg(long)]
    offer: Option<i64>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the link (valid 7 days) and the hosted page it opens.
    Show(Target),
    /// E-mail the link to the customer (through the outbox: the engine of `abo serve` sends it).
    Send {
        #[command(flatten)]
        target: Target,
        /// A message printed above the button.
        #[arg(long)]
        message: Option<String>,
        /// Identifies this request: running the command again with the same key sends nothing
        /// more (default: every run sends).
        #[arg(long)]
        key: Option<String>,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let base_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", config.bind, config.port));
    let result = run_on(&store, base_url.trim_end_matches('/'), command).await;
    store.close().await;
    result
}

async fn run_on(store: &Store, base_url: &str, command: Command) -> anyhow::Result<()> {
    let (target, message, key) = match command {
        Command::Show(target) => (target, None, None),
        Command::Send {
            target,
            message,
            key,
        } => (target, message, Some(key)),
    };
    let Some(kind) = send_link::parse_kind(&target.kind) else {
        bail!(
            "unknown kind {:?}; the kinds are {}",
            target.kind,
            send_link::kind_names()
        );
    };
    let mut conn = store.acquire().await?;
    let business = abo_store::businesses::get(&mut conn, target.business)
        .await
        .with_context(|| format!("business {}", target.business))?;
    let now = business.test_clock_us.unwrap_or_else(now_us);
    let segment = match &target.segment {
        Some(reference) => segments::get_by_reference(&mut conn, business.id, reference)
            .await
            .with_context(|| format!("segment {reference}"))?,
        None => segments::get_default(&mut conn, business.id).await?,
    };
    let customer =
        customers::get_by_reference(&mut conn, business.id, segment.id, &target.customer)
            .await
            .with_context(|| {
                format!(
                    "customer {} in segment {}",
                    target.customer, segment.reference
                )
            })?;
    let request = LinkRequest {
        kind: Some(kind),
        subscription_id: target.subscription,
        invoice_id: target.invoice,
        offer_id: target.offer,
        message,
    };
    match key {
        None => {
            let shown =
                send_link::show(&mut conn, base_url, business.id, customer.id, &request, now)
                    .await?;
            println!("{}", shown.href);
            if shown.href != shown.hosted {
                println!("hosted page: {}", shown.hosted);
            }
        }
        Some(key) => {
            let key = match key {
                Some(k) => format!("key:{k}"),
                None => format!("call:{:032x}", rand::random::<u128>()),
            };
            let queued =
                send_link::enqueue(&mut conn, business.id, customer.id, &request, &key, now)
                    .await?;
            if queued.created {
                println!(
                    "queued e-mail job {} to {} ({})",
                    queued.job_id,
                    queued.recipient,
                    send_link::kind_name(kind)
                );
            } else {
                println!(
                    "already queued as e-mail job {} (same --key)",
                    queued.job_id
                );
            }
        }
    }
    Ok(())
}
