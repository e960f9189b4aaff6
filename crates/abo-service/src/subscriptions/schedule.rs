//! What every subscription use case shares: the clock and time zone of a
//! request, the layout of periods, the balance lines and the state machine.

use abo_core::{
    Period, PeriodUnit, Recurrence, SubscriptionEvent, SubscriptionState, Trial, local_date,
    local_midnight,
};
use abo_store::balance_lines::{self, NewBalanceLine};
use abo_store::customers::{self, Customer};
use abo_store::subscriptions::Subscription;
use abo_store::{AnyConnection, StoreError, jobs};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::error::{Result, ServiceError};

/// "Now" for one request, in the segment's time zone.
#[derive(Debug, Clone)]
pub(crate) struct Now {
    pub us: i64,
    pub tz: TimeZone,
    pub today: Date,
}

impl Now {
    pub fn new(now_us: i64, time_zone: &str) -> Result<Now> {
        let tz = time_zone_of(time_zone)?;
        let today = local_date(timestamp(now_us)?, &tz);
        Ok(Now {
            us: now_us,
            tz,
            today,
        })
    }

    /// The local date of an instant in this time zone.
    pub fn date_of(&self, us: i64) -> Result<Date> {
        Ok(local_date(timestamp(us)?, &self.tz))
    }

    /// The instant a local date begins.
    pub fn midnight(&self, date: Date) -> Result<i64> {
        Ok(local_midnight(date, &self.tz)?.as_microsecond())
    }
}

pub(crate) fn time_zone_of(name: &str) -> Result<TimeZone> {
    TimeZone::get(name)
        .map_err(|e| ServiceError::Internal(format!("segment time zone {name}: {e}")))
}

pub(crate) fn timestamp(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Where a subscription stands in its calendar at a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// The current period is the trial.
    pub is_trial: bool,
    pub period: Period,
    /// The first paid period's start; paid periods are laid out from it.
    pub anchor: Date,
    /// Ordinal of the current period (a trial is period 0).
    pub ordinal: i64,
}

/// The schedule of a subscription starting on `start`, seen on `on` (never
/// before `start`): a trial first when it has one, then paid periods from
/// the anchor; the current period is the one containing `on`.
pub(crate) fn lay_out(
    start: Date,
    on: Date,
    trial: Option<Trial>,
    recurrence: Recurrence,
) -> Result<Schedule> {
    let on = on.max(start);
    let trial = trial.filter(|t| t.duration > 0);
    let (anchor, offset) = match trial {
        Some(trial) => {
            let period = trial.as_recurrence().nth_period(start, 0)?;
            if on < period.end {
                return Ok(Schedule {
                    is_trial: true,
                    period,
                    anchor: period.end,
                    ordinal: 0,
                });
            }
            (period.end, 1)
        }
        None => (start, 0),
    };
    let n = recurrence.period_index(anchor, on)?;
    Ok(Schedule {
        is_trial: false,
        period: recurrence.nth_period(anchor, n)?,
        anchor,
        ordinal: i64::from(n) + offset,
    })
}

/// The core trial and recurrence of a stored subscription.
pub(crate) fn terms_of(sub: &Subscription) -> Result<(Option<Trial>, Recurrence)> {
    terms(
        &sub.unit_recurrence,
        sub.duration_recurrence,
        sub.amount_trial,
        sub.duration_trial,
        sub.unit_trial.as_deref(),
    )
}

/// The core trial and recurrence from a snapshot's columns.
pub(crate) fn terms(
    unit_recurrence: &str,
    duration_recurrence: i64,
    amount_trial: i64,
    duration_trial: Option<i64>,
    unit_trial: Option<&str>,
) -> Result<(Option<Trial>, Recurrence)> {
    let unit: PeriodUnit = unit_recurrence
        .parse()
        .map_err(|_| corrupt("unit_recurrence"))?;
    let count = u32::try_from(duration_recurrence).map_err(|_| corrupt("duration"))?;
    let recurrence = Recurrence::new(unit, count)?;
    let trial = match (duration_trial, unit_trial) {
        (Some(d), Some(u)) if d > 0 => Some(Trial {
            amount: amount_trial,
            duration: u32::try_from(d).map_err(|_| corrupt("duration_trial"))?,
            unit: u.parse().map_err(|_| corrupt("unit_trial"))?,
        }),
        _ => None,
    };
    Ok((trial, recurrence))
}

/// The current period of a stored subscription, as local dates.
pub(crate) fn current_period(sub: &Subscription, now: &Now) -> Result<Option<Period>> {
    match (sub.date_period_start_us, sub.date_period_end_us) {
        (Some(start), Some(end)) => Ok(Some(Period::new(now.date_of(start)?, now.date_of(end)?)?)),
        _ => Ok(None),
    }
}

pub(crate) fn corrupt(what: &str) -> ServiceError {
    ServiceError::Internal(format!("stored subscription is inconsistent: {what}"))
}

/// The state after `event`, or a 409 with the core's readable message.
pub(crate) fn transition(
    sub: &Subscription,
    event: SubscriptionEvent,
) -> Result<SubscriptionState> {
    state_of(sub)?
        .apply(event)
        .map_err(|e| ServiceError::Conflict(format!("subscription {}: {e}", sub.id)))
}

pub(crate) fn state_of(sub: &Subscription) -> Result<SubscriptionState> {
    sub.state
        .parse()
        .map_err(|_| corrupt(&format!("state {}", sub.state)))
}

/// Whether the buyer can be billed: enabled, with a usable payment method.
/// `Free` is the "no method" value (the default of a new customer).
pub(crate) fn is_billable(buyer: &Customer) -> bool {
    buyer.status == "Enabled" && buyer.payment_settings.type_payment != "Free"
}

/// The natural key of a line a subscription causes.
pub(crate) fn line_key(subscription_id: i64, ordinal: i64, kind: &str) -> String {
    format!("subscription={subscription_id}:period={ordinal}:{kind}")
}

/// One balance line of a subscription, to be written for its buyer.
pub(crate) struct Line<'a> {
    pub kind: &'a str,
    pub type_line: &'a str,
    pub label: String,
    pub amount: i64,
    pub ordinal: i64,
    /// Either a period (dates) or a moment (`date_move`).
    pub period: Option<Period>,
    pub date_move_us: Option<i64>,
}

/// Writes `line` (nothing when its amount is 0; nothing new when its key was
/// already written).
pub(crate) async fn write_line(
    conn: &mut AnyConnection,
    sub: &Subscription,
    now: &Now,
    line: Line<'_>,
) -> Result<()> {
    if let Some(new) = line_of(sub, now, line)? {
        balance_lines::insert(conn, &new, now.us).await?;
    }
    Ok(())
}

/// The balance line `line` is for the subscription's buyer (`None` when its
/// amount is 0).
pub(crate) fn line_of(
    sub: &Subscription,
    now: &Now,
    line: Line<'_>,
) -> Result<Option<NewBalanceLine>> {
    if line.amount == 0 {
        return Ok(None);
    }
    let (start, end) = match line.period {
        Some(p) => (Some(now.midnight(p.start)?), Some(now.midnight(p.end)?)),
        None => (None, None),
    };
    Ok(Some(NewBalanceLine {
        business_id: sub.business_id,
        segment_id: sub.segment_id,
        customer_id: sub.customer_buyer_id,
        subscription_id: Some(sub.id),
        feature_id: None,
        type_line: line.type_line.into(),
        key_charge: Some("Service".into()),
        label: line.label,
        quantity_reported: None,
        quantity_billed: None,
        amount_subtotal: line.amount,
        currency: sub.currency.clone(),
        date_move_us: if line.period.is_some() {
            None
        } else {
            line.date_move_us.or(Some(now.us))
        },
        date_period_start_us: start,
        date_period_end_us: end,
        natural_key: Some(line_key(sub.id, line.ordinal, line.kind)),
    }))
}

/// The price of the schedule's period (trial or recurrence).
pub(crate) fn period_line<'a>(sub: &Subscription, schedule: &Schedule) -> Line<'a> {
    let (kind, type_line, label, amount) = if schedule.is_trial {
        ("trial", "AutoSubscriptionTrial", "trial", sub.amount_trial)
    } else {
        (
            "recurrence",
            "AutoSubscriptionRecurrence",
            "subscription amount",
            sub.amount_recurrence,
        )
    };
    Line {
        kind,
        type_line,
        label: format!("{} - {label}", sub.title),
        amount,
        ordinal: schedule.ordinal,
        period: Some(schedule.period),
        date_move_us: None,
    }
}

/// The lines a start causes: the up-front fee (unless `skip_upfront`) and
/// the current period's price (trial or recurrence).
pub(crate) async fn charge_period(
    conn: &mut AnyConnection,
    sub: &Subscription,
    schedule: &Schedule,
    now: &Now,
    with_upfront: bool,
) -> Result<()> {
    if with_upfront {
        write_line(
            conn,
            sub,
            now,
            Line {
                kind: "upfront",
                type_line: "AutoSubscriptionUpfront",
                label: format!("{} - up-front amount", sub.title),
                amount: sub.amount_upfront,
                ordinal: schedule.ordinal,
                period: None,
                date_move_us: sub.date_start_us,
            },
        )
        .await?;
    }
    write_line(conn, sub, now, period_line(sub, schedule)).await?;
    // Limitation extras and priced options are billed in advance too, from
    // the first period on (billing-rules.md, "Features"), exactly as at
    // each renewal.
    crate::renewal::charge_features(conn, sub, schedule, now).await?;
    // The subscription's discounts reduce what was just charged.
    crate::billing::discounts::apply_period_discounts(conn, sub, schedule.ordinal, now.us).await
}

/// `BillNow`: asks the billing engine to bill the buyer now, once per
/// subscription and period (outbox job with a natural key).
pub(crate) async fn enqueue_bill_now(
    conn: &mut AnyConnection,
    sub: &Subscription,
    now: &Now,
) -> Result<()> {
    let payload = serde_json::json!({
        "IdCustomer": sub.customer_buyer_id,
        "IdSubscription": sub.id,
    });
    jobs::enqueue(
        conn,
        &jobs::NewJob {
            business_id: Some(sub.business_id),
            kind: "BillCustomer".into(),
            payload: payload.to_string(),
            run_at_us: now.us,
            max_attempts: 10,
            natural_key: Some(format!(
                "bill-now:business={}:{}",
                sub.business_id,
                line_key(sub.id, sub.period_index, "bill")
            )),
        },
        now.us,
    )
    .await?;
    Ok(())
}

/// The customer `reference`: in the given segment, or (as `GET /v1/Customer`
/// does) in the default segment first, then in the others.
pub(crate) async fn find_customer(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_reference: Option<&str>,
    reference: &str,
) -> Result<Option<Customer>> {
    if let Some(r) = segment_reference {
        let segment = abo_store::segments::get_by_reference(conn, business_id, r)
            .await
            .map_err(named(format!("segment '{r}'")))?;
        return Ok(customers::find_by_reference(conn, business_id, segment.id, reference).await?);
    }
    let mut all = abo_store::segments::list(conn, business_id).await?;
    all.sort_by_key(|s| !s.is_default);
    for segment in all {
        if let Some(c) =
            customers::find_by_reference(conn, business_id, segment.id, reference).await?
        {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Store "not found" errors become a 404 naming what was looked for.
pub(crate) fn named(what: impl Into<String>) -> impl FnOnce(StoreError) -> ServiceError {
    let what = what.into();
    move |e| match e {
        StoreError::NotFound(_) => ServiceError::NotFound(what),
        other => ServiceError::Store(other),
    }
}

/// The end of the commitment (the end of the m-th paid period), if the
/// subscription has one that is not over by the end of its current period
/// … or ends with it. `None` when there is no commitment or it is already
/// fulfilled before the current period.
pub(crate) fn commitment_end(sub: &Subscription, now: &Now) -> Result<Option<Date>> {
    let Some(m) = sub.count_min_recurrences.filter(|m| *m > 0) else {
        return Ok(None);
    };
    let (trial, recurrence) = terms_of(sub)?;
    let Some(anchor) = sub.billing_anchor.as_deref() else {
        return Ok(None);
    };
    let anchor: Date = anchor.parse().map_err(|_| corrupt("billing_anchor"))?;
    let m32 = u32::try_from(m).map_err(|_| corrupt("count_min_recurrences"))?;
    if sub.is_trial {
        return Ok(Some(recurrence.nth_period_start(anchor, m32)?));
    }
    // Paid periods so far, the current one included.
    let had_trial = i64::from(trial.is_some());
    let paid = sub.period_index + 1 - had_trial;
    if paid > m {
        return Ok(None);
    }
    let Some(period) = current_period(sub, now)? else {
        return Ok(None);
    };
    let remaining = u32::try_from(m - paid).map_err(|_| corrupt("period_index"))?;
    // Laid out from the anchor when the current period is on its schedule;
    // after a moved term, from the current period's end.
    let end = if anchor <= period.start {
        let index = recurrence.period_index(anchor, period.start)?;
        recurrence.nth_period_start(anchor, index + 1 + remaining)?
    } else {
        recurrence.nth_period_start(period.end, remaining)?
    };
    Ok(Some(end))
}

/// Whether the customer is within the commitment on `date`.
pub(crate) fn is_engaged_on(sub: &Subscription, now: &Now, date: Date) -> Result<bool> {
    Ok(commitment_end(sub, now)?.is_some_and(|end| date < end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn lay_out_without_trial_is_anchored_on_the_start() {
        let s = lay_out(
            date(2026, 1, 10),
            date(2026, 3, 25),
            None,
            Recurrence::monthly(),
        )
        .unwrap();
        assert!(!s.is_trial);
        assert_eq!(s.anchor, date(2026, 1, 10));
        assert_eq!(s.ordinal, 2);
        assert_eq!(
            s.period,
            Period::new(date(2026, 3, 10), date(2026, 4, 10)).unwrap()
        );
    }

    #[test]
    fn lay_out_trial_then_paid_periods() {
        let trial = Trial {
            amount: 0,
            duration: 14,
            unit: PeriodUnit::Day,
        };
        let start = date(2026, 1, 31);
        let in_trial = lay_out(start, start, Some(trial), Recurrence::monthly()).unwrap();
        assert!(in_trial.is_trial);
        assert_eq!(in_trial.ordinal, 0);
        assert_eq!(in_trial.anchor, date(2026, 2, 14));
        let after = lay_out(start, date(2026, 3, 20), Some(trial), Recurrence::monthly()).unwrap();
        assert!(!after.is_trial);
        assert_eq!(after.ordinal, 2);
        assert_eq!(after.period.start, date(2026, 3, 14));
    }
}
