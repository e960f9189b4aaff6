use crate::config::{Config, redact};

pub async fn run(config: Config) -> anyhow::Result<()> {
    super::open_store(&config).await?;
    println!("database {} is up to date", redact(&config.database_url()));
    Ok(())
}
