//! `POST /v1/Subscription`: a copy of the offer for a customer, with the
//! request's overrides, started now, later, or left as a draft.

use abo_core::{PeriodUnit, Recurrence, SubscriptionEvent, SubscriptionState, Trial};
use abo_store::offers::FeatureTerms;
use abo_store::subscriptions::{self, NewSubscription, NewSubscriptionFeature};
use abo_store::{AnyConnection, Store, customers, features, offers, segments};
use serde_json::{Map, Value};

use super::schedule::{Now, find_customer, is_billable, lay_out, named};
use super::view::{SubscriptionView, view_of};
use super::{CUSTOMER_SUSPENDED, PAYMENT_SETTINGS_MISSING};
use crate::catalog::mapping::offer_from_store;
use crate::error::{Result, ServiceError};

/// Per-subscription overrides of the offer's terms (`SubscriptionRequest`).
/// `None` keeps the offer's value; for the nullable counts, `Some(None)`
/// clears it (unlimited / no commitment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub title: Option<String>,
    pub description: Option<String>,
    pub amount_upfront: Option<i64>,
    pub amount_trial: Option<i64>,
    pub duration_trial: Option<i64>,
    pub unit_trial: Option<String>,
    pub amount_recurrence: Option<i64>,
    pub duration_recurrence: Option<i64>,
    pub unit_recurrence: Option<String>,
    pub count_recurrences: Option<Option<i64>>,
    pub count_min_recurrences: Option<Option<i64>>,
    pub amount_termination: Option<i64>,
}

/// A feature override (`SubscriptionFeatureRequest`); a feature the offer
/// does not have is added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureOverride {
    pub reference: String,
    pub quantity_included: Option<i64>,
    pub quantity_current: Option<i64>,
    pub is_included: Option<bool>,
    pub is_enabled: Option<bool>,
}

/// The query flags of `POST /v1/Subscription`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreateFlags {
    pub try_start: bool,
    pub ensure_billable: bool,
    pub bill_now: bool,
    pub migration: bool,
}

#[derive(Debug, Clone, Default)]
pub struct CreateSubscription {
    pub business_id: i64,
    /// The segment of the customer reference (if `None`: the default
    /// segment, then the others); the buyer and the offer are looked up in
    /// the customer's segment.
    pub segment_reference: Option<String>,
    pub customer_reference: Option<String>,
    pub customer_id: Option<i64>,
    /// The customer who pays; the recipient when `None`.
    pub buyer_reference: Option<String>,
    pub offer_reference: String,
    pub date_start_us: Option<i64>,
    pub overrides: Overrides,
    pub features: Vec<FeatureOverride>,
    pub metadata: Option<Map<String, Value>>,
    pub flags: CreateFlags,
    /// References of the segment's discounts to apply (`Discounts`).
    pub discounts: Vec<String>,
}

/// Metadata limits (contract: "max 5 pairs, 450 chars per value").
const MAX_METADATA_PAIRS: usize = 5;
const MAX_METADATA_VALUE: usize = 450;

/// Creates the subscription in one transaction and returns it.
pub async fn create(
    store: &Store,
    request: &CreateSubscription,
    now_us: i64,
) -> Result<SubscriptionView> {
    let mut tx = store.begin().await?;
    let sub = create_in(&mut tx, request, now_us).await?;
    let view = view_of(&mut tx, sub, now_us).await?;
    tx.commit().await?;
    Ok(view)
}

pub(crate) async fn create_in(
    conn: &mut AnyConnection,
    request: &CreateSubscription,
    now_us: i64,
) -> Result<subscriptions::Subscription> {
    let b = request.business_id;
    let customer = match (request.customer_id, request.customer_reference.as_deref()) {
        (Some(id), _) => customers::get(conn, b, id)
            .await
            .map_err(named(format!("customer {id}")))?,
        (None, Some(reference)) => {
            find_customer(conn, b, request.segment_reference.as_deref(), reference)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("customer '{reference}'")))?
        }
        (None, None) => {
            return Err(ServiceError::invalid(
                "ReferenceCustomer: the customer who receives the subscription is required",
            ));
        }
    };
    let s = customer.segment_id;
    let segment = segments::get(conn, b, s).await?;
    let buyer = match request.buyer_reference.as_deref() {
        Some(r) if r != customer.reference => customers::get_by_reference(conn, b, s, r)
            .await
            .map_err(named(format!("customer '{r}'")))?,
        _ => customer.clone(),
    };
    for c in [&customer, &buyer] {
        if c.status != "Enabled" {
            return Err(ServiceError::refused(
                CUSTOMER_SUSPENDED,
                format!("customer '{}' is suspended", c.reference),
            ));
        }
    }
    let offer = offers::get_by_reference(conn, b, s, &request.offer_reference)
        .await
        .map_err(named(format!(
            "offer '{}' in segment '{}'",
            request.offer_reference, segment.reference
        )))?;

    let mut new =
        NewSubscription::from_offer(&offer, customer.id, SubscriptionState::DraftAgent.as_str());
    new.customer_buyer_id = buyer.id;
    let mut problems = Vec::new();
    apply_overrides(&mut new, &offer, &request.overrides, &mut problems);
    apply_feature_overrides(conn, b, &mut new, &request.features, &mut problems).await?;
    new.metadata = check_metadata(request.metadata.as_ref(), &mut problems);
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }

    // Refuse before writing anything.
    let billable = is_billable(&buyer);
    if request.flags.ensure_billable && !billable {
        return Err(ServiceError::refused(
            PAYMENT_SETTINGS_MISSING,
            format!(
                "customer '{}' has no payment method: it cannot be billed",
                buyer.reference
            ),
        ));
    }

    let now = Now::new(now_us, &segment.time_zone)?;
    let start_us = request.date_start_us.unwrap_or(now_us);
    let due_at_start = new.amount_upfront
        + if new.duration_trial.is_some_and(|d| d > 0) {
            new.amount_trial
        } else {
            new.amount_recurrence
        };
    let flags = request.flags;
    let delayed = start_us > now_us;
    let start_now =
        !delayed && (flags.migration || (flags.try_start && (billable || due_at_start <= 0)));
    if !delayed && !start_now && flags.try_start {
        // Something is due and the customer has no way to pay yet: the
        // customer finishes the subscription (registers a payment method).
        new.state = SubscriptionState::DraftCustomer.as_str().into();
    }
    new.date_start_us = Some(start_us);
    let draft = subscriptions::create(conn, &new, now_us).await?;
    crate::billing::discounts::attach_discounts(conn, &draft, &request.discounts, 0, now_us)
        .await?;

    if delayed {
        let state = super::schedule::transition(&draft, SubscriptionEvent::StartDelayed)?;
        // The first period is laid out for display; nothing is charged yet.
        let (trial, recurrence) = super::schedule::terms_of(&draft)?;
        let start_date = now.date_of(start_us)?;
        let schedule = lay_out(start_date, start_date, trial, recurrence)?;
        let patch = subscriptions::SubscriptionPatch {
            state: Some(state.as_str().into()),
            date_period_start_us: Some(Some(now.midnight(schedule.period.start)?)),
            date_period_end_us: Some(Some(now.midnight(schedule.period.end)?)),
            date_term_us: Some(Some(now.midnight(schedule.period.end)?)),
            billing_anchor: Some(Some(schedule.anchor.to_string())),
            period_index: Some(schedule.ordinal),
            is_trial: Some(schedule.is_trial),
            ..Default::default()
        };
        return Ok(subscriptions::update(conn, b, draft.id, &patch, now_us).await?);
    }
    if start_now {
        let options = super::lifecycle::StartOptions {
            ensure_billable: false,
            bill_now: flags.bill_now,
        };
        return super::lifecycle::start_loaded(conn, draft, &now, options, !flags.migration).await;
    }
    Ok(draft)
}

fn apply_overrides(
    new: &mut NewSubscription,
    offer: &offers::Offer,
    o: &Overrides,
    problems: &mut Vec<String>,
) {
    if let Some(title) = &o.title {
        if title.trim().is_empty() {
            problems.push("TitleLocalized: must not be empty".into());
        }
        new.title = title.clone();
    }
    if let Some(description) = &o.description {
        new.description = Some(description.clone());
    }
    // The overridden terms go through the core offer's validation, so a
    // subscription can never hold terms an offer could not.
    let mut core = match offer_from_store(offer) {
        Ok(core) => core,
        Err(e) => {
            problems.push(e.to_string());
            return;
        }
    };
    let mut count = |field: &str, v: i64| -> Option<u32> {
        u32::try_from(v).ok().or_else(|| {
            problems.push(format!("{field}: {v} is not a valid count"));
            None
        })
    };
    let duration_trial = o.duration_trial.map(|v| count("DurationTrial", v));
    let duration_recurrence = o
        .duration_recurrence
        .map(|v| count("DurationRecurrence", v));
    let count_recurrences = o
        .count_recurrences
        .map(|c| c.map(|v| count("CountRecurrences", v)));
    let count_min = o
        .count_min_recurrences
        .map(|c| c.map(|v| count("CountMinRecurrences", v)));
    let mut unit = |field: &str, v: &str| -> Option<PeriodUnit> {
        v.parse().ok().or_else(|| {
            problems.push(format!(
                "{field}: '{v}' is not one of Day, Week, Month, Year"
            ));
            None
        })
    };
    let unit_trial = o.unit_trial.as_deref().map(|u| unit("UnitTrial", u));
    let unit_recurrence = o
        .unit_recurrence
        .as_deref()
        .map(|u| unit("UnitRecurrence", u));

    if let Some(a) = o.amount_upfront {
        core.amount_upfront = a;
    }
    if let Some(a) = o.amount_recurrence {
        core.amount_recurrence = a;
    }
    if let Some(a) = o.amount_termination {
        core.amount_termination = a;
    }
    if let Some(Some(u)) = unit_recurrence {
        core.recurrence.unit = u;
    }
    if let Some(Some(d)) = duration_recurrence {
        core.recurrence = Recurrence {
            unit: core.recurrence.unit,
            count: d,
        };
    }
    match count_recurrences {
        Some(None) => core.count_recurrences = None,
        Some(Some(Some(c))) => core.count_recurrences = Some(c),
        _ => {}
    }
    match count_min {
        Some(None) => core.count_min_recurrences = None,
        Some(Some(Some(c))) => core.count_min_recurrences = Some(c),
        _ => {}
    }
    // A trial override: DurationTrial 0 removes the trial; a unit alone
    // changes the unit; a duration on an offer without trial counts days
    // unless a unit is given.
    if o.duration_trial.is_some() || o.unit_trial.is_some() || o.amount_trial.is_some() {
        let base = core.trial.unwrap_or(Trial {
            amount: 0,
            duration: 0,
            unit: PeriodUnit::Day,
        });
        let trial = Trial {
            amount: o.amount_trial.unwrap_or(base.amount),
            duration: duration_trial.flatten().unwrap_or(base.duration),
            unit: unit_trial.flatten().unwrap_or(base.unit),
        };
        core.trial = (trial.duration > 0).then_some(trial);
        if trial.duration == 0 && o.amount_trial.is_some_and(|a| a != 0) {
            problems.push("AmountTrial: a trial amount needs a DurationTrial of at least 1".into());
        }
    }
    if let Err(errors) = core.validate() {
        // Validation names the offer; here the fields are the subscription's.
        problems.extend(
            errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.message)),
        );
    }

    new.amount_upfront = core.amount_upfront;
    new.amount_recurrence = core.amount_recurrence;
    new.amount_termination = core.amount_termination;
    new.duration_recurrence = i64::from(core.recurrence.count);
    new.unit_recurrence = core.recurrence.unit.to_string();
    new.count_recurrences = core.count_recurrences.map(i64::from);
    new.count_min_recurrences = core.count_min_recurrences.map(i64::from);
    match core.trial {
        Some(t) => {
            new.amount_trial = t.amount;
            new.duration_trial = Some(i64::from(t.duration));
            new.unit_trial = Some(t.unit.to_string());
        }
        None => {
            new.amount_trial = 0;
            new.duration_trial = None;
            new.unit_trial = None;
        }
    }
}

async fn apply_feature_overrides(
    conn: &mut AnyConnection,
    business_id: i64,
    new: &mut NewSubscription,
    overrides: &[FeatureOverride],
    problems: &mut Vec<String>,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for o in overrides {
        let at = format!("Features: feature '{}'", o.reference);
        if !seen.insert(o.reference.as_str()) {
            problems.push(format!("{at}: appears more than once"));
            continue;
        }
        let Some(feature) = features::find_by_reference(conn, business_id, &o.reference).await?
        else {
            problems.push(format!("{at}: no such feature"));
            continue;
        };
        let has_quantity = feature.type_feature != "OnOff";
        if !has_quantity && (o.quantity_included.is_some() || o.quantity_current.is_some()) {
            problems.push(format!("{at}: an OnOff feature has no quantity"));
            continue;
        }
        for (field, v) in [
            ("QuantityIncluded", o.quantity_included),
            ("QuantityCurrent", o.quantity_current),
        ] {
            if v.is_some_and(|v| v < 0) {
                problems.push(format!("{at}: {field} must not be negative"));
            }
        }
        let existing = new
            .features
            .iter_mut()
            .find(|f| f.terms.feature_id == feature.id);
        let target = match existing {
            Some(f) => f,
            None => {
                // Not in the offer: added, included and enabled unless said
                // otherwise, with no price of its own.
                new.features.push(NewSubscriptionFeature {
                    terms: FeatureTerms {
                        feature_id: feature.id,
                        is_included: true,
                        is_enabled: true,
                        quantity_included: None,
                        pricing_model: "None".into(),
                        pricing_amount: None,
                        updatable_before_subscription: false,
                        updatable_after_subscription: false,
                        free_in_trial: false,
                        tiers: Vec::new(),
                    },
                    quantity_current: has_quantity.then_some(0),
                });
                new.features.last_mut().expect("just pushed")
            }
        };
        if let Some(v) = o.is_included {
            target.terms.is_included = v;
        }
        if let Some(v) = o.is_enabled {
            target.terms.is_enabled = v;
        }
        if o.quantity_included.is_some() {
            target.terms.quantity_included = o.quantity_included;
        }
        if o.quantity_current.is_some() {
            target.quantity_current = o.quantity_current;
        }
    }
    Ok(())
}

fn check_metadata(
    metadata: Option<&Map<String, Value>>,
    problems: &mut Vec<String>,
) -> Option<String> {
    let metadata = metadata?;
    if metadata.len() > MAX_METADATA_PAIRS {
        problems.push(format!(
            "Metadata: at most {MAX_METADATA_PAIRS} pairs, not {}",
            metadata.len()
        ));
    }
    for (key, value) in metadata {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if text.chars().count() > MAX_METADATA_VALUE {
            problems.push(format!(
                "Metadata: the value of '{key}' is longer than {MAX_METADATA_VALUE} characters"
            ));
        }
    }
    Some(Value::Object(metadata.clone()).to_string())
}
