use crate::config::Config;
use abo_store::{Store, businesses};
use anyhow::{Context, bail};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The catalogue file (TOML), e.g. catalog/demo.toml.
    file: PathBuf,
    /// The business to import into (default: the only business).
    #[arg(long)]
    business: Option<i64>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let store = super::open_store(&config).await?;
    let business_id = choose_business(&store, args.business).await?;
    let now_us = super::now_us();
    // abo-mail's import: the catalogue and its `[segment.emails]` settings, checked.
    let report = abo_mail::catalog::import_catalog_file(&store, business_id, &args.file, now_us)
        .await
        .with_context(|| {
            format!(
                "import of {} failed, nothing was changed",
                args.file.display()
            )
        })?;
    println!("{}: {report}", args.file.display());
    Ok(())
}

async fn choose_business(store: &Store, requested: Option<i64>) -> anyhow::Result<i64> {
    let mut conn = store.acquire().await?;
    let all = businesses::list(&mut conn).await?;
    match requested {
        Some(id) if all.iter().any(|b| b.id == id) => Ok(id),
        Some(id) => bail!("business {id} does not exist"),
        None => match all.as_slice() {
            [only] => Ok(only.id),
            [] => {
                bail!("no business exists yet: create one with `abo business create --name NAME`")
            }
            _ => bail!(
                "several businesses exist ({}): choose one with --business ID",
                all.iter()
                    .map(|b| format!("{} {}", b.id, b.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}
