//! `abo`: the Abo binary. One executable for every role: the API and hosted
//! pages server, database migrations, catalogue import and the demo.

mod commands;
mod config;
mod demo_mailbox;
mod demo_merchant;
mod link_cmd;
mod telemetry;
mod webhook_cmd;

/// The allocator: glibc's malloc took a third of the engine's CPU time when
/// renewing (`cargo bench -p abo-engine --bench renewals`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "abo",
    version,
    about = "Abo: self-hosted subscription billing, ProAbono-compatible"
)]
struct Cli {
    /// Configuration file (default: ./abo.toml when present).
    #[arg(long, global = true, env = "ABO_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, demo files).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://path or postgres://user@host/db.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the hosted pages and the workers.
    Serve(commands::serve::Args),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create demo data on first run (business, catalogue, customers), then serve.
    Demo(commands::demo::Args),
    /// Create or update segments, features, offers, pricing tables and discounts from a catalogue file.
    Import(commands::import::Args),
    /// Manage businesses (merchant environments) and their API credentials.
    #[command(subcommand)]
    Business(commands::business::Command),
    /// Run every effect due up to a date (renewals, billing); moves test businesses' clocks.
    Bill(commands::bill::Args),
    /// Move the clock of a test business.
    #[command(subcommand)]
    Clock(commands::clock::Command),
    /// Credit an invoice: cancel an unpaid one, refund a paid one (credit notes).
    #[command(subcommand)]
    Invoice(commands::invoice::Command),
    /// Manage a business's webhooks: add, list, verify, secret, retry.
    #[command(subcommand)]
    Webhook(webhook_cmd::Command),
    /// Show a customer's hosted link, or e-mail it to them (the back office's "send link").
    #[command(subcommand)]
    Link(link_cmd::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One clear line: the whole cause chain, joined.
            eprintln!("error: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut overrides = config::Overrides {
        data_dir: cli.data_dir,
        database_url: cli.database_url,
        ..Default::default()
    };
    match cli.command {
        Command::Serve(args) => {
            args.apply(&mut overrides);
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            commands::serve::run(config).await
        }
        Command::Migrate => {
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            commands::migrate::run(config).await
        }
        Command::Demo(args) => {
            args.apply(&mut overrides);
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            commands::demo::run(config, args).await
        }
        Command::Import(args) => {
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            commands::import::run(config, args).await
        }
        Command::Business(command) => {
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            commands::business::run(config, command).await
        }
        Command::Bill(args) => {
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            commands::bill::run(config, args).await
        }
        Command::Clock(command) => {
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            commands::clock::run(config, command).await
        }
        Command::Invoice(command) => {
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            commands::invoice::run(config, command).await
        }
        Command::Webhook(command) => {
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            webhook_cmd::run(config, command).await
        }
        Command::Link(command) => {
            let config = config::Config::load(cli.config.as_deref(), &overrides)?;
            link_cmd::run(config, command).await
        }
    }
}
