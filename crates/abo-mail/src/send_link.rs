//! "Send link" actions (back office, admin API, CLI): the merchant hands a customer one of
//! their hosted pages — the custom offer sales prepared (a draft subscription), the
//! payment-method page, an invoice to pay... — either by showing the link or by e-mailing it
//! (`HostedLinkSent`, through the outbox like every e-mail).
//!
//! Links are made by `abo_service::links::customer_link`, so they point to the merchant's
//! integrated page (`?crylk=`) when the customer's segment sets one (spec §4).

use abo_links::{DEFAULT_LINK_TTL_SECS, Purpose, TargetKind};
use abo_store::customers::Customer;
use abo_store::{AnyConnection, StoreError, customers, invoices, jobs, offers, subscriptions};
use serde_json::json;

use crate::error::MailError;
use crate::types::EmailType;

/// The name of a link kind in the admin API, the CLI and `LinkKind` payloads.
pub const fn kind_name(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Home => "Home",
        Purpose::CollectionOffers => "CollectionOffers",
        Purpose::Subscribe => "Subscribe",
        Purpose::SubscribeCustom => "SubscribeCustom",
        Purpose::Register => "Register",
        Purpose::CollectionUpgrade => "CollectionUpgrade",
        Purpose::Upgrade => "Upgrade",
        Purpose::RelatedSubscription => "RelatedSubscription",
        Purpose::Restart => "Restart",
        Purpose::InvoicePdf => "InvoicePdf",
        Purpose::Charge => "Charge",
        Purpose::CollectionInvoices => "CollectionInvoices",
        Purpose::PaymentMethod => "PaymentMethod",
        Purpose::BillingAddress => "BillingAddress",
        Purpose::Options => "Options",
        Purpose::Terminate => "Terminate",
    }
}

/// The kind named `name` (case-insensitive), if it is one.
///
/// ```
/// use abo_mail::send_link::{kind_name, parse_kind};
/// for p in abo_links::Purpose::ALL {
///     assert_eq!(parse_kind(kind_name(p)), Some(p));
/// }
/// assert_eq!(parse_kind("subscribecustom"), Some(abo_links::Purpose::SubscribeCustom));
/// assert_eq!(parse_kind("Nope"), None);
/// ```
pub fn parse_kind(name: &str) -> Option<Purpose> {
    Purpose::ALL
        .into_iter()
        .find(|p| kind_name(*p).eq_ignore_ascii_case(name.trim()))
}

/// Every kind's name, for error messages and documentation.
pub fn kind_names() -> String {
    Purpose::ALL
        .iter()
        .map(|p| kind_name(*p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The id a link of `purpose` is about, among the ones given.
pub fn target_of(
    purpose: Purpose,
    subscription: Option<i64>,
    invoice: Option<i64>,
    offer: Option<i64>,
) -> Option<i64> {
    match purpose.target_kind() {
        Some(TargetKind::Subscription) => subscription,
        Some(TargetKind::Invoice) => invoice,
        Some(TargetKind::Offer) => offer,
        None => None,
    }
}

/// Whether the hosted page of `purpose` cannot open without its target (the others fall
/// back to a list: the plans, the registration without a subscription...).
const fn needs_target(purpose: Purpose) -> bool {
    matches!(
        purpose,
        Purpose::Subscribe
            | Purpose::SubscribeCustom
            | Purpose::Upgrade
            | Purpose::Restart
            | Purpose::InvoicePdf
            | Purpose::Charge
    )
}

/// What the merchant asks for: a link of `kind`, about one of the ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkRequest {
    pub kind: Option<Purpose>,
    pub subscription_id: Option<i64>,
    pub invoice_id: Option<i64>,
    pub offer_id: Option<i64>,
    /// Only for e-mails: printed above the button.
    pub message: Option<String>,
}

/// A checked request: the customer, the kind and its target.
#[derive(Debug, Clone)]
pub struct CheckedLink {
    pub customer: Customer,
    pub kind: Purpose,
    pub target: Option<i64>,
}

fn invalid(field: &str, message: impl Into<String>) -> MailError {
    MailError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Checks `request` for customer `customer_id` of `business_id`: the kind is known, the id
/// it needs is given, and the subscription, invoice or offer is this customer's (a custom
/// subscription must still be a draft). Errors: [`MailError::Invalid`] naming the field;
/// the customer not found in the business is `Store(NotFound)`.
pub async fn check(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
    request: &LinkRequest,
) -> Result<CheckedLink, MailError> {
    let customer = customers::get(conn, business_id, customer_id).await?;
    let kind = request
        .kind
        .ok_or_else(|| invalid("Kind", format!("Kind is required: one of {}", kind_names())))?;
    let name = kind_name(kind);
    let wanted = kind.target_kind();
    let given = [
        (
            "IdSubscription",
            request.subscription_id,
            TargetKind::Subscription,
        ),
        ("IdInvoice", request.invoice_id, TargetKind::Invoice),
        ("IdOffer", request.offer_id, TargetKind::Offer),
    ];
    for (field, id, target_kind) in given {
        if id.is_some() && wanted != Some(target_kind) {
            return Err(invalid(field, format!("a {name} link takes no {field}")));
        }
    }
    let target = target_of(
        kind,
        request.subscription_id,
        request.invoice_id,
        request.offer_id,
    );
    let not_found = |field: &str, what: &str, id: i64| {
        invalid(field, format!("{what} {id} is not this customer's"))
    };
    match (wanted, target) {
        (Some(t), None) if needs_target(kind) => {
            let field = match t {
                TargetKind::Subscription => "IdSubscription",
                TargetKind::Invoice => "IdInvoice",
                TargetKind::Offer => "IdOffer",
            };
            return Err(invalid(field, format!("a {name} link needs {field}")));
        }
        (Some(TargetKind::Subscription), Some(id)) => {
            let sub = match subscriptions::get(conn, business_id, id).await {
                Ok(sub) => sub,
                Err(StoreError::NotFound(_)) => {
                    return Err(not_found("IdSubscription", "subscription", id));
                }
                Err(e) => return Err(e.into()),
            };
            if sub.customer_id != customer.id && sub.customer_buyer_id != customer.id {
                return Err(not_found("IdSubscription", "subscription", id));
            }
            if kind == Purpose::SubscribeCustom && !sub.state.starts_with("Draft") {
                return Err(invalid(
                    "IdSubscription",
                    format!(
                        "subscription {id} is {}: a custom subscription link is for a draft",
                        sub.state
                    ),
                ));
            }
        }
        (Some(TargetKind::Invoice), Some(id)) => match invoices::get(conn, business_id, id).await {
            Ok(inv) if inv.customer_id == customer.id => {}
            Ok(_) | Err(StoreError::NotFound(_)) => {
                return Err(not_found("IdInvoice", "invoice", id));
            }
            Err(e) => return Err(e.into()),
        },
        (Some(TargetKind::Offer), Some(id)) => match offers::get(conn, business_id, id).await {
            Ok(offer) if offer.segment_id == customer.segment_id => {}
            Ok(_) | Err(StoreError::NotFound(_)) => {
                return Err(invalid(
                    "IdOffer",
                    format!("offer {id} is not offered to this customer's segment"),
                ));
            }
            Err(e) => return Err(e.into()),
        },
        _ => {}
    }
    Ok(CheckedLink {
        customer,
        kind,
        target,
    })
}

/// A link to show: what to publish, the direct hosted URL, and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownLink {
    pub kind: Purpose,
    pub href: String,
    pub hosted: String,
    pub expires_at_us: i64,
}

/// The link `request` asks for, signed for 7 days from `now_us` (rewritten through crylk
/// when the customer's segment integrates).
pub async fn show(
    conn: &mut AnyConnection,
    base_url: &str,
    business_id: i64,
    customer_id: i64,
    request: &LinkRequest,
    now_us: i64,
) -> Result<ShownLink, MailError> {
    let checked = check(conn, business_id, customer_id, request).await?;
    let link = abo_service::links::customer_link(
        conn,
        base_url,
        business_id,
        customer_id,
        checked.kind,
        checked.target,
        DEFAULT_LINK_TTL_SECS,
        now_us,
    )
    .await?;
    Ok(ShownLink {
        kind: checked.kind,
        href: link.url,
        hosted: link.hosted,
        // Tokens count whole seconds from the second they were signed in.
        expires_at_us: (now_us.div_euclid(1_000_000) + DEFAULT_LINK_TTL_SECS) * 1_000_000,
    })
}

/// The kinds a customer's links come in without a target (what `show` lists by default).
pub fn untargeted_kinds() -> impl Iterator<Item = Purpose> {
    Purpose::ALL
        .into_iter()
        .filter(|p| p.target_kind().is_none() || !needs_target(*p))
}

/// A queued send-link e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedLink {
    pub job_id: i64,
    pub recipient: String,
    /// False when `request_key` had been used already: the earlier job is answered.
    pub created: bool,
}

/// Queues the `HostedLinkSent` e-mail of `request` to the customer. `request_key` identifies
/// the merchant's request (their `Idempotency-Key`, else a fresh random key): the job's
/// natural key is made of it, so a retried request queues nothing more, and the outbox sends
/// each job's e-mail once (see `deliver`). Errors: as [`check`], and the customer has no
/// e-mail address (`Invalid` on `Email`).
pub async fn enqueue(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
    request: &LinkRequest,
    request_key: &str,
    now_us: i64,
) -> Result<QueuedLink, MailError> {
    let checked = check(conn, business_id, customer_id, request).await?;
    let recipient = checked
        .customer
        .email
        .clone()
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| invalid("Email", "the customer has no e-mail address"))?;
    let natural_key = format!("email:link:customer={customer_id}:{request_key}");
    let mut payload = json!({
        "Template": EmailType::HostedLinkSent.name(),
        "IdCustomer": customer_id,
        "To": recipient,
        "LinkKind": kind_name(checked.kind),
    });
    let field = match checked.kind.target_kind() {
        Some(TargetKind::Subscription) => "IdSubscription",
        Some(TargetKind::Invoice) => "IdInvoice",
        Some(TargetKind::Offer) => "IdOffer",
        None => "",
    };
    if let Some(target) = checked.target {
        payload[field] = json!(target);
    }
    if let Some(message) = request.message.as_deref().map(str::trim)
        && !message.is_empty()
    {
        payload["Message"] = json!(message);
    }
    let new = jobs::NewJob {
        business_id: Some(business_id),
        kind: crate::JOB_KIND.to_owned(),
        payload: payload.to_string(),
        run_at_us: now_us,
        max_attempts: 10,
        natural_key: Some(natural_key.clone()),
    };
    match jobs::enqueue(conn, &new, now_us).await? {
        Some(job_id) => Ok(QueuedLink {
            job_id,
            recipient,
            created: true,
        }),
        None => {
            let job = jobs::find_by_natural_key(conn, &natural_key)
                .await?
                .ok_or_else(|| MailError::Data(format!("job {natural_key} vanished")))?;
            if job.business_id != Some(business_id) {
                return Err(invalid("Idempotency-Key", "this key was used already"));
            }
            Ok(QueuedLink {
                job_id: job.id,
                recipient,
                created: false,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::EmailJob;
    use crate::render::{Context, render};
    use abo_core::Locale;

    #[test]
    fn every_kind_renders_in_every_language_with_its_own_subject() {
        for locale in [Locale::En, Locale::Fr] {
            let mut subjects = std::collections::HashSet::new();
            for purpose in Purpose::ALL {
                let ctx = Context {
                    lang: locale.to_string(),
                    seller_name: "Acme".into(),
                    customer_reference: "c".into(),
                    link: "https://abo.example/x?a=1&b=2".into(),
                    link_kind: Some(kind_name(purpose).into()),
                    invoice_number: Some("S-00042".into()),
                    message: Some("See you <soon>".into()),
                    ..Context::default()
                };
                let r = render(EmailType::HostedLinkSent, locale, &ctx, false, None).unwrap();
                assert!(
                    !r.subject.is_empty() && !r.subject.contains('{'),
                    "{purpose:?}"
                );
                assert!(
                    r.text.contains("https://abo.example/x?a=1&b=2"),
                    "{}",
                    r.text
                );
                assert!(r.text.contains("See you <soon>"), "{}", r.text);
                assert!(r.html.contains("See you &lt;soon&gt;"), "{}", r.html);
                subjects.insert(r.subject);
            }
            // Several kinds share a wording (the lists), but not all.
            assert!(subjects.len() >= 8, "{locale}: {subjects:?}");
        }
        let ctx = |kind: Purpose| Context {
            lang: "en".into(),
            seller_name: "Acme".into(),
            link_kind: Some(kind_name(kind).into()),
            invoice_number: Some("S-00042".into()),
            ..Context::default()
        };
        let subject = |kind| {
            render(
                EmailType::HostedLinkSent,
                Locale::En,
                &ctx(kind),
                false,
                None,
            )
            .unwrap()
            .subject
        };
        assert_eq!(
            subject(Purpose::SubscribeCustom),
            "Your custom offer from Acme"
        );
        assert_eq!(
            subject(Purpose::PaymentMethod),
            "Update your payment method"
        );
        assert_eq!(subject(Purpose::Charge), "Pay your invoice S-00042");
    }

    #[test]
    fn the_payload_names_the_link_and_its_target() {
        let job = EmailJob::parse(
            r#"{"Template":"HostedLinkSent","IdCustomer":3,"LinkKind":"SubscribeCustom","IdSubscription":9}"#,
        )
        .unwrap();
        assert_eq!(job.link(), (Purpose::SubscribeCustom, Some(9)));
        let job = EmailJob::parse(
            r#"{"Template":"HostedLinkSent","IdCustomer":3,"LinkKind":"Subscribe","IdOffer":4}"#,
        )
        .unwrap();
        assert_eq!(job.link(), (Purpose::Subscribe, Some(4)));
        assert!(EmailJob::parse(r#"{"Template":"HostedLinkSent","IdCustomer":3}"#).is_err());
        assert!(
            EmailJob::parse(
                r#"{"Template":"HostedLinkSent","IdCustomer":3,"LinkKind":"Teleport"}"#
            )
            .is_err()
        );
    }
}
