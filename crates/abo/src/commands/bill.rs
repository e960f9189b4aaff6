//! `abo bill --until DATE`: runs every effect due up to DATE (renewals,
//! billing), business by business. A test business's clock is moved to DATE
//! (effects happen in date order); a live business runs what is due by DATE
//! and refuses a date in the future (time cannot be moved for real money).

use crate::config::Config;
use abo_engine::{Engine, RunReport};
use anyhow::bail;
use std::io::{IsTerminal, Write};

#[derive(clap::Args)]
pub struct Args {
    /// Run what is due up to this date (YYYY-MM-DD, midnight UTC) or RFC 3339 instant.
    #[arg(long)]
    until: String,
    /// Only this business (default: every business).
    #[arg(long)]
    business: Option<i64>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let until = super::clock::parse_instant(&args.until)?;
    let store = super::open_store(&config).await?;
    let real_now = super::now_us();
    let all = {
        let mut conn = store.acquire().await?;
        abo_store::businesses::list(&mut conn).await?
    };
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|b| args.business.is_none_or(|id| id == b.id))
        .collect();
    if chosen.is_empty() {
        bail!("no business to bill");
    }
    // Refuse before doing anything: a live business cannot be billed ahead.
    if let Some(live) = chosen.iter().find(|b| !b.is_test && until > real_now) {
        bail!(
            "business {} ({}) is live: it cannot be billed ahead of time ({} is in the future)",
            live.id,
            live.name,
            super::clock::show(until)
        );
    }
    // The sandbox gateways' state is in the store: debits `abo serve` sent
    // settle here too.
    let gateways = std::sync::Arc::new(abo_service::billing::Gateways::persistent(store.clone()));
    let engine = Engine::with_gateways(store.clone(), gateways);
    let worker = format!("cli-bill-{}", std::process::id());
    let mut total = RunReport::default();
    let count = chosen.len();
    // A progress line on a terminal, overwritten by each business's result.
    let tty = std::io::stdout().is_terminal();
    let cr = if tty { "\r\x1b[K" } else { "" };
    for (i, business) in chosen.iter().enumerate() {
        if tty {
            print!(
                "\r[{}/{count}] business {} ({}): running...",
                i + 1,
                business.id,
                business.name
            );
            std::io::stdout().flush().ok();
        }
        let report = if business.is_test {
            let current = business.test_clock_us.unwrap_or(real_now);
            if until < current {
                println!(
                    "{cr}[{}/{count}] business {}: its clock is already at {}, skipped",
                    i + 1,
                    business.id,
                    super::clock::show(current)
                );
                continue;
            }
            engine
                .advance_clock(business.id, until, real_now, &worker)
                .await?
                .run
        } else {
            engine.run_business(business.id, until, &worker).await?
        };
        println!(
            "{cr}[{}/{count}] business {} ({}): {} renewals, {} jobs run, {} failed, {} invoices",
            i + 1,
            business.id,
            business.name,
            report.renewals,
            report.jobs_run,
            report.jobs_failed,
            report.invoices
        );
        total.renewals += report.renewals;
        total.jobs_run += report.jobs_run;
        total.jobs_failed += report.jobs_failed;
        total.invoices += report.invoices;
    }
    println!(
        "billed up to {}: {count} business(es), {} renewals, {} jobs run, {} failed, {} invoices",
        super::clock::show(until),
        total.renewals,
        total.jobs_run,
        total.jobs_failed,
        total.invoices
    );
    store.close().await;
    Ok(())
}
