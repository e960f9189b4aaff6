//! `abo webhook add|list|verify|secret|retry`: a business's webhooks from the
//! command line (the same use cases as `/Notification/Webhooks`).

use crate::commands::{now_us, open_store};
use crate::config::Config;
use abo_store::{PageRequest, Store};
use abo_webhooks::{TargetPolicy, endpoints, secrets};
use anyhow::Context;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Register an endpoint (inactive until verified).
    Add {
        #[arg(long)]
        business: i64,
        /// The endpoint: an absolute http(s) URL.
        #[arg(long)]
        url: String,
        /// TypeTrigger names, comma-separated or repeated (`--trigger all` for every one).
        #[arg(long = "trigger", value_delimiter = ',', required = true)]
        triggers: Vec<String>,
    },
    /// List the business's endpoints and the latest notifications.
    List {
        #[arg(long)]
        business: i64,
        /// How many notifications of the history to show.
        #[arg(long, default_value_t = 20)]
        notifications: i64,
    },
    /// Without --code: POST a verification code to the endpoint. With --code: activate it.
    Verify {
        #[arg(long)]
        business: i64,
        /// The webhook id.
        #[arg(long)]
        id: i64,
        #[arg(long)]
        code: Option<String>,
    },
    /// Show the business's webhook secret, or replace it with --rotate.
    Secret {
        #[arg(long)]
        business: i64,
        #[arg(long)]
        rotate: bool,
    },
    /// Deliver a notification again now (the next engine run sends it).
    Retry {
        #[arg(long)]
        business: i64,
        /// The notification id (`abo webhook list`).
        #[arg(long)]
        notification: i64,
    },
}

/// The business's "now": its test clock when it has one.
async fn business_now(store: &Store, business: i64) -> anyhow::Result<i64> {
    let mut conn = store.acquire().await?;
    let b = abo_store::businesses::get(&mut conn, business)
        .await
        .with_context(|| format!("business {business}"))?;
    Ok(b.test_clock_us.unwrap_or_else(now_us))
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let result = run_on(&store, config.webhook_policy(), command).await;
    store.close().await;
    result
}

async fn run_on(store: &Store, policy: TargetPolicy, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add {
            business,
            url,
            triggers,
        } => {
            let now = business_now(store, business).await?;
            let triggers: Vec<String> = if triggers.iter().any(|t| t == "all") {
                abo_webhooks::triggers::ALL
                    .iter()
                    .map(|t| (*t).to_owned())
                    .collect()
            } else {
                triggers
            };
            let e = endpoints::create(store, policy, business, &url, &triggers, now).await?;
            println!(
                "webhook {} added for {} trigger(s): {}\nverify it: abo webhook verify --business {business} --id {}",
                e.id,
                e.triggers.len(),
                e.url,
                e.id
            );
        }
        Command::List {
            business,
            notifications,
        } => {
            for e in endpoints::list(store, business).await? {
                println!(
                    "webhook {} {} [{}] {}",
                    e.id,
                    if e.is_active() {
                        "active"
                    } else {
                        "pending-verification"
                    },
                    e.triggers.join(","),
                    e.url
                );
            }
            let history = endpoints::history(
                store,
                business,
                &Default::default(),
                PageRequest::new(0, notifications),
            )
            .await?;
            println!("{} notification(s) in the history", history.total);
            for d in history.items {
                println!(
                    "notification {} webhook {} event {} {} {}, {} attempt(s), triggered {}, last HTTP {}",
                    d.id,
                    d.endpoint_id,
                    d.event_id,
                    d.type_trigger,
                    d.status,
                    d.attempts,
                    abo_webhooks::envelope::format_date(d.date_trigger_us),
                    d.last_http_status
                        .map_or_else(|| "-".to_owned(), |s| s.to_string())
                );
            }
        }
        Command::Verify { business, id, code } => {
            let now = business_now(store, business).await?;
            match code {
                None => {
                    endpoints::send_code(store, policy, business, id, now).await?;
                    println!(
                        "code sent to webhook {id}; confirm with: abo webhook verify --business {business} --id {id} --code CODE"
                    );
                }
                Some(code) => {
                    endpoints::verify(store, business, id, &code, now).await?;
                    println!("webhook {id} is active");
                }
            }
        }
        Command::Secret { business, rotate } => {
            let now = business_now(store, business).await?;
            let s = if rotate {
                secrets::rotate(store, business, now).await?
            } else {
                secrets::secret(store, business, now).await?
            };
            // Printed on purpose: the operator asked for it (never logged).
            println!("{}", s.secret);
        }
        Command::Retry {
            business,
            notification,
        } => {
            let now = business_now(store, business).await?;
            endpoints::retry(store, business, notification, now).await?;
            println!("notification {notification} will be delivered again at the next engine run");
        }
    }
    Ok(())
}
