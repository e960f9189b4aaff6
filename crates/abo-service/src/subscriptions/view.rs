//! A subscription as the API shows it: the stored snapshot, the references
//! of what it points to, and the derived facts (`IsEngaged`, `CountDaysTrial`,
//! `StateSubscriptionAfterTerm`, …) decided here rather than in handlers.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use abo_core::{SubscriptionState, SubscriptionStatus};
use abo_store::customers::{self, Customer};
use abo_store::segments::{self, Segment};
use abo_store::subscriptions::Subscription;
use abo_store::{AnyConnection, features, offers};
use serde_json::{Map, Value};

use super::schedule::{Now, commitment_end, is_billable, state_of};
use crate::error::Result;

/// One feature of a subscription (`SubscriptionFeature`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureView {
    /// The feature's id (ProAbono's `Id` of a subscription feature).
    pub feature_id: i64,
    pub reference: String,
    pub title: String,
    pub description: Option<String>,
    /// "OnOff", "Limitation" or "Consumption".
    pub type_feature: String,
    pub is_visible: bool,
    pub is_included: bool,
    pub is_enabled: bool,
    pub quantity_included: Option<i64>,
    pub quantity_current: Option<i64>,
}

/// A subscription with everything its API representation needs.
#[derive(Debug, Clone)]
pub struct SubscriptionView {
    pub subscription: Subscription,
    pub state: SubscriptionState,
    pub segment_reference: String,
    pub segment_time_zone: String,
    pub customer_reference: String,
    /// The recipient's links epoch (revocation bumps it) and status: portal
    /// links are signed for the recipient, and a suspended one has none.
    pub customer_links_epoch: i64,
    pub customer_status: String,
    pub buyer_reference: String,
    pub offer_reference: Option<String>,
    pub features: Vec<FeatureView>,
    /// `IsCustomerBillable`: the buyer has a usable payment method.
    pub is_customer_billable: bool,
    /// `IsEngaged`: within the commitment now.
    pub is_engaged: bool,
    /// `CountDaysTrial`: trial days left (including today), in trial only.
    pub count_days_trial: Option<i64>,
    /// `StateSubscriptionAfterTerm`: a delayed effect, or completion when
    /// the current period is the last of `CountRecurrences`.
    pub state_after_term: Option<SubscriptionState>,
    /// `DateNextBilling`: when the next period is billed (the term + 6 h,
    /// as ProAbono does), for a subscription that renews.
    pub date_next_billing_us: Option<i64>,
    /// `DateResetConsumption`: consumption counters reset at the term.
    pub date_reset_consumption_us: Option<i64>,
    /// `Metadata`, as given at creation.
    pub metadata: Option<Map<String, Value>>,
}

impl SubscriptionView {
    pub fn status(&self) -> SubscriptionStatus {
        self.state.status()
    }

    pub fn status_after_term(&self) -> Option<SubscriptionStatus> {
        self.state_after_term.map(SubscriptionState::status)
    }
}

/// Six hours after the term, like ProAbono's billing date of a period.
const BILLING_DELAY_US: i64 = 6 * 3600 * 1_000_000;

/// Caches what several subscriptions of a list share.
#[derive(Default)]
pub(crate) struct Loader {
    segments: HashMap<i64, Segment>,
    customers: HashMap<i64, Customer>,
    offers: HashMap<i64, String>,
    features: Option<HashMap<i64, features::Feature>>,
}

impl Loader {
    /// A loader that starts with rows the caller has already read (the portal home reads
    /// them in one go, see `abo_store::portal_reads`). `features` must hold every feature of
    /// the subscriptions it will view: the catalogue is then not read at all.
    pub(crate) fn seeded(
        segments: Vec<Segment>,
        customers: Vec<Customer>,
        offers: Vec<(i64, String)>,
        features: Vec<features::Feature>,
    ) -> Loader {
        Loader {
            segments: segments.into_iter().map(|s| (s.id, s)).collect(),
            customers: customers.into_iter().map(|c| (c.id, c)).collect(),
            offers: offers.into_iter().collect(),
            features: Some(features.into_iter().map(|f| (f.id, f)).collect()),
        }
    }

    pub async fn view(
        &mut self,
        conn: &mut AnyConnection,
        sub: Subscription,
        now_us: i64,
    ) -> Result<SubscriptionView> {
        let b = sub.business_id;
        if !self.segments.contains_key(&sub.segment_id) {
            let segment = segments::get(conn, b, sub.segment_id).await?;
            self.segments.insert(segment.id, segment);
        }
        for id in [sub.customer_id, sub.customer_buyer_id] {
            if let Entry::Vacant(slot) = self.customers.entry(id) {
                slot.insert(customers::get(conn, b, id).await?);
            }
        }
        if let Some(offer_id) = sub.offer_id
            && !self.offers.contains_key(&offer_id)
        {
            let offer = offers::get(conn, b, offer_id).await?;
            self.offers.insert(offer_id, offer.reference);
        }
        if self.features.is_none() {
            let all = features::list(conn, b).await?;
            self.features = Some(all.into_iter().map(|f| (f.id, f)).collect());
        }

        let segment = &self.segments[&sub.segment_id];
        let customer = &self.customers[&sub.customer_id];
        let buyer = &self.customers[&sub.customer_buyer_id];
        let catalogue = self.features.as_ref().expect("loaded above");
        let now = Now::new(now_us, &segment.time_zone)?;
        let state = state_of(&sub)?;

        let features = sub
            .features
            .iter()
            .map(|f| {
                let feature = catalogue.get(&f.terms.feature_id);
                FeatureView {
                    feature_id: f.terms.feature_id,
                    reference: f.feature_reference.clone(),
                    title: feature.map(|x| x.name.clone()).unwrap_or_default(),
                    description: feature.and_then(|x| x.description.clone()),
                    type_feature: f.type_feature.clone(),
                    is_visible: feature.is_none_or(|x| x.is_visible),
                    is_included: f.terms.is_included,
                    is_enabled: f.terms.is_enabled,
                    quantity_included: f.terms.quantity_included,
                    quantity_current: f.quantity_current,
                }
            })
            .collect();

        let running = state.is_active();
        let is_engaged = running
            && commitment_end(&sub, &now)?.is_some_and(|end| {
                now.midnight(end)
                    .map(|end_us| now_us < end_us)
                    .unwrap_or(false)
            });
        let count_days_trial = match (running && sub.is_trial, sub.date_period_end_us) {
            (true, Some(end)) => {
                let end = now.date_of(end)?;
                Some(
                    now.today
                        .until(end)
                        .map(|s| i64::from(s.get_days()))
                        .unwrap_or(0),
                )
            }
            _ => None,
        };
        let last_period = sub.count_recurrences.is_some_and(|count| {
            let had_trial = i64::from(sub.duration_trial.is_some_and(|d| d > 0));
            !sub.is_trial && sub.period_index + 1 - had_trial >= count
        });
        let state_after_term = state
            .state_after_term()
            .or((state == SubscriptionState::ActiveRunning && last_period)
                .then_some(SubscriptionState::EndedComplete));
        let renews = state == SubscriptionState::ActiveRunning && !last_period;
        let date_next_billing_us = if renews {
            sub.date_term_us.map(|t| t + BILLING_DELAY_US)
        } else {
            None
        };
        let date_reset_consumption_us = if running { sub.date_term_us } else { None };
        let metadata = sub
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str::<Map<String, Value>>(m).ok());

        Ok(SubscriptionView {
            state,
            segment_reference: segment.reference.clone(),
            segment_time_zone: segment.time_zone.clone(),
            customer_reference: customer.reference.clone(),
            customer_links_epoch: customer.links_epoch,
            customer_status: customer.status.clone(),
            buyer_reference: buyer.reference.clone(),
            offer_reference: sub.offer_id.map(|id| self.offers[&id].clone()),
            features,
            is_customer_billable: is_billable(buyer),
            is_engaged,
            count_days_trial,
            state_after_term,
            date_next_billing_us,
            date_reset_consumption_us,
            metadata,
            subscription: sub,
        })
    }
}

/// The view of one subscription.
pub(crate) async fn view_of(
    conn: &mut AnyConnection,
    sub: Subscription,
    now_us: i64,
) -> Result<SubscriptionView> {
    Loader::default().view(conn, sub, now_us).await
}
