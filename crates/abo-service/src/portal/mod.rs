//! Use cases of the hosted customer portal that the API does not have: the segment's portal
//! settings ([`settings`]), what a customer may do to its own subscriptions from the portal
//! ([`subscriptions`]: terminate at term, cancel a termination) and registering a payment
//! method through the sandbox forms with the grey list ([`payment`]).
//!
//! Every use case takes the customer the portal session is for and refuses to touch another
//! customer's rows (answered as "not found", like the API's tenancy rule).

pub mod billing;
pub mod payment;
pub mod settings;
pub mod subscriptions;
