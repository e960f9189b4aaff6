//! Subscription states and the events that move them (spec §1.6).
//!
//! `StateSubscription` is ProAbono's current vocabulary (2022 on), grouped by
//! `Status`. Pre-2022 clients still read the legacy vocabulary
//! ([`LegacyState`]), so both are here with an explicit mapping. The state
//! machine only decides which state follows which; dates, billing and
//! webhooks are the service's business.

mod event;
mod legacy;
mod state;

pub use event::{IllegalTransition, SubscriptionEvent};
pub use legacy::LegacyState;
pub use state::{SubscriptionState, SubscriptionStatus};
