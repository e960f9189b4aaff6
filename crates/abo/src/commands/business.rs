use crate::config::Config;
use abo_service::business::{BusinessSpec, create_business};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a business with API credentials (the API key is shown once).
    Create {
        #[arg(long)]
        name: String,
        /// ISO 3166-1 alpha-2 country (tax rules).
        #[arg(long, default_value = "FR")]
        country: String,
        /// Default language: en or fr.
        #[arg(long, default_value = "en")]
        language: String,
        /// A test business: sandbox gateways and a movable clock.
        #[arg(long)]
        test: bool,
    },
    /// Add a pair of API credentials to a business (the API key is shown once).
    AddKey {
        #[arg(long)]
        business: i64,
        #[arg(long, default_value = "api")]
        label: String,
        /// Answer pre-2022 subscription state names (`Running`, ...) to
        /// clients using this key; any request can also ask with `LegacyStates=true`.
        #[arg(long)]
        legacy_states: bool,
    },
    /// List businesses.
    List,
    /// Print the business's link verification keys (`kid:hex`, one per line,
    /// active keys only) for the merchant SDK's offline link checks
    /// (`abo_merchant::VerificationKey::parse`). They are secrets: whoever
    /// holds them can forge the business's hosted links.
    LinkKeys {
        #[arg(long)]
        business: i64,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let store = super::open_store(&config).await?;
    match command {
        Command::Create {
            name,
            country,
            language,
            test,
        } => {
            let spec = BusinessSpec {
                name,
                country,
                default_language: language,
                is_test: test,
            };
            let created = create_business(&store, &spec, super::now_us()).await?;
            println!(
                "business {} created: {}",
                created.business.id, created.business.name
            );
            println!("agent key: {}", created.credentials.agent_key);
            println!(
                "API key:   {}  (shown once: keep it safe)",
                created.credentials.api_key
            );
        }
        Command::AddKey {
            business,
            label,
            legacy_states,
        } => {
            let credentials = abo_service::business::add_credentials(
                &store,
                business,
                &label,
                legacy_states,
                super::now_us(),
            )
            .await?;
            println!("agent key: {}", credentials.agent_key);
            println!(
                "API key:   {}  (shown once: keep it safe)",
                credentials.api_key
            );
            if legacy_states {
                println!("this key receives legacy subscription state names (Running, ...)");
            }
        }
        Command::List => {
            let mut conn = store.acquire().await?;
            for b in abo_store::businesses::list(&mut conn).await? {
                println!(
                    "{}\t{}\t{}{}",
                    b.id,
                    b.name,
                    b.country,
                    if b.is_test { "\ttest" } else { "" }
                );
            }
        }
        Command::LinkKeys { business } => {
            let mut conn = store.acquire().await?;
            abo_store::businesses::get(&mut conn, business).await?;
            // Retired keys no longer verify: the SDK must not accept them either.
            let keys: Vec<_> = abo_store::link_keys::list(&mut conn, business)
                .await?
                .into_iter()
                .filter(|k| k.retired_at_us.is_none())
                .collect();
            if keys.is_empty() {
                anyhow::bail!("business {business} has no link keys");
            }
            for key in keys {
                println!("{}:{}", key.kid, key.secret_hex);
            }
            eprintln!("these keys are secrets: keep them on the merchant's server only");
        }
    }
    Ok(())
}
