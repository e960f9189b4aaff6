//! `abo clock advance --business ID --to DATE | --by 1M`: moves the clock of a
//! test business forward, carrying out every effect that falls due on the way
//! in date order (renewals, billing). Live businesses refuse.

use crate::config::Config;
use abo_engine::Engine;
use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Move a test business's clock forward and run what falls due.
    Advance(AdvanceArgs),
}

#[derive(clap::Args)]
pub struct AdvanceArgs {
    /// The test business.
    #[arg(long)]
    business: i64,
    /// Target: a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 instant.
    #[arg(long, conflicts_with = "by", required_unless_present = "by")]
    to: Option<String>,
    /// How far: a number and a unit, h (hours), d (days), w (weeks), M (months), y (years), e.g. 1M.
    #[arg(long)]
    by: Option<String>,
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let Command::Advance(args) = command;
    let store = super::open_store(&config).await?;
    let business = {
        let mut conn = store.acquire().await?;
        abo_store::businesses::get(&mut conn, args.business)
            .await
            .with_context(|| format!("business {}", args.business))?
    };
    if !business.is_test {
        bail!(
            "business {} is not a test business: its clock cannot be moved",
            business.id
        );
    }
    let real_now = super::now_us();
    let current = business.test_clock_us.unwrap_or(real_now);
    let target = match (&args.to, &args.by) {
        (Some(to), _) => parse_instant(to)?,
        (None, Some(by)) => add_span(current, by)?,
        (None, None) => bail!("give --to DATE or --by DURATION"),
    };
    if target < current {
        bail!(
            "the clock of business {} is at {}: it cannot go back to {}",
            business.id,
            show(current),
            show(target)
        );
    }
    // The sandbox gateways' state is in the store: a debit `abo serve` sent
    // settles when the clock passes its date here.
    let gateways = std::sync::Arc::new(abo_service::billing::Gateways::persistent(store.clone()));
    let engine =
        Engine::with_gateways(store.clone(), gateways).with_webhook_policy(config.webhook_policy());
    let worker = format!("cli-clock-{}", std::process::id());
    let report = engine
        .advance_clock(business.id, target, real_now, &worker)
        .await?;
    println!(
        "business {}: clock {} -> {}; {} renewals, {} jobs run, {} failed, {} invoices",
        business.id,
        show(current),
        show(report.now_us),
        report.run.renewals,
        report.run.jobs_run,
        report.run.jobs_failed,
        report.run.invoices
    );
    store.close().await;
    Ok(())
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant, in microseconds.
pub fn parse_instant(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts.as_microsecond());
    }
    let date: jiff::civil::Date = text
        .parse()
        .with_context(|| format!("'{text}' is not a date (YYYY-MM-DD) nor an RFC 3339 instant"))?;
    Ok(date.to_zoned(TimeZone::UTC)?.timestamp().as_microsecond())
}

/// `now` plus a duration such as `1M`, `2w`, `10d`, `12h`, `1y` (calendar
/// months and years, in UTC).
pub fn add_span(now_us: i64, text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .filter(|i| *i > 0)
        .with_context(|| format!("'{text}' is not a duration such as 1M, 2w, 10d"))?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().with_context(|| format!("'{text}': bad number"))?;
    let span = match unit {
        "h" | "H" => Span::new().try_hours(n)?,
        "d" | "D" => Span::new().try_days(n)?,
        "w" | "W" => Span::new().try_weeks(n)?,
        "M" | "mo" => Span::new().try_months(n)?,
        "y" | "Y" => Span::new().try_years(n)?,
        other => bail!("'{other}' is not a unit: use h, d, w, M or y"),
    };
    let zoned = Timestamp::from_microsecond(now_us)?.to_zoned(TimeZone::UTC);
    Ok(zoned.checked_add(span)?.timestamp().as_microsecond())
}

pub fn show(us: i64) -> String {
    Timestamp::from_microsecond(us).map_or_else(|_| us.to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_dates() {
        let jan31 = parse_instant("2028-01-31").unwrap();
        assert_eq!(show(add_span(jan31, "1M").unwrap()), "2028-02-29T00:00:00Z");
        assert_eq!(show(add_span(jan31, "2w").unwrap()), "2028-02-14T00:00:00Z");
        assert_eq!(show(add_span(jan31, "1y").unwrap()), "2029-01-31T00:00:00Z");
        assert_eq!(
            show(parse_instant("2028-01-31T10:00:00Z").unwrap()),
            "2028-01-31T10:00:00Z"
        );
        assert!(add_span(jan31, "M").is_err());
        assert!(add_span(jan31, "1q").is_err());
        assert!(parse_instant("tomorrow").is_err());
    }
}
