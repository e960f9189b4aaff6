//! Endpoint use cases: register, list, delete, the verification handshake,
//! the notification history and manual retry. Every one takes the business:
//! a merchant only ever sees and acts on its own webhooks.

use abo_store::webhooks::{self, Delivery, DeliveryFilter, Endpoint};
use abo_store::{Page, PageRequest, Store};
use serde_json::json;

use crate::guard::TargetPolicy;
use crate::{Result, WebhookError, deliver, secrets, send, sign, triggers};

/// Registers an endpoint for `triggers` (catalogue names, aliases accepted).
/// Inactive until verified. The URL must be a target `policy` accepts (the
/// SSRF guard; checked again at every delivery).
pub async fn create(
    store: &Store,
    policy: TargetPolicy,
    business_id: i64,
    url: &str,
    trigger_names: &[String],
    now_us: i64,
) -> Result<Endpoint> {
    let url = validate_url(url)?;
    policy
        .check_registration(&url)
        .await
        .map_err(WebhookError::InvalidUrl)?;
    let mut chosen: Vec<String> = Vec::new();
    for name in trigger_names {
        let t = triggers::canonical(name)
            .ok_or_else(|| WebhookError::Invalid(format!("unknown TypeTrigger {name:?}")))?;
        if !chosen.iter().any(|c| c == t) {
            chosen.push(t.to_owned());
        }
    }
    if chosen.is_empty() {
        return Err(WebhookError::Invalid(
            "Triggers must name at least one TypeTrigger".into(),
        ));
    }
    let mut tx = store.begin().await?;
    // The secret exists from the first endpoint on, so the merchant can read it.
    secrets::get_or_create(&mut tx, business_id, now_us).await?;
    let endpoint = webhooks::create_endpoint(&mut tx, business_id, &url, &chosen, now_us).await?;
    tx.commit().await.map_err(abo_store::StoreError::from)?;
    Ok(endpoint)
}

/// An absolute http(s) URL without credentials.
fn validate_url(url: &str) -> Result<String> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| WebhookError::InvalidUrl("Url must be an absolute http(s) URL".into()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(WebhookError::InvalidUrl(
            "Url must be an absolute http(s) URL".into(),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(WebhookError::InvalidUrl(
            "Url must not carry credentials".into(),
        ));
    }
    if url.len() > 2000 {
        return Err(WebhookError::InvalidUrl("Url is too long".into()));
    }
    Ok(url.to_owned())
}

pub async fn list(store: &Store, business_id: i64) -> Result<Vec<Endpoint>> {
    let mut conn = store.acquire().await?;
    Ok(webhooks::list_endpoints(&mut conn, business_id).await?)
}

pub async fn get(store: &Store, business_id: i64, id: i64) -> Result<Endpoint> {
    let mut conn = store.acquire().await?;
    Ok(webhooks::get_endpoint(&mut conn, business_id, id).await?)
}

pub async fn delete(store: &Store, business_id: i64, id: i64, now_us: i64) -> Result<()> {
    let mut conn = store.acquire().await?;
    Ok(webhooks::delete_endpoint(&mut conn, business_id, id, now_us).await?)
}

/// The handshake's first half: POSTs `{"Code": ...}` (no `TypeTrigger`) to
/// the endpoint, signed like a delivery. The code is kept only when the
/// endpoint answers 2xx; otherwise [`WebhookError::VerificationFailed`].
pub async fn send_code(
    store: &Store,
    policy: TargetPolicy,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<Endpoint> {
    let (endpoint, secret) = {
        let mut conn = store.acquire().await?;
        let endpoint = webhooks::get_endpoint(&mut conn, business_id, id).await?;
        let secret = secrets::get_or_create(&mut conn, business_id, now_us).await?;
        (endpoint, secret)
    };
    let code = sign::random_token();
    let body = json!({
        "Code": code,
        "IdBusiness": business_id,
        "IdWebhook": endpoint.id,
    })
    .to_string();
    let event_id = format!("vrf_{}_{}", endpoint.id, now_us);
    let outcome = send::post(
        policy,
        &endpoint.url,
        &event_id,
        &secret.signing_secrets(now_us),
        &body,
    )
    .await;
    if let Some(error) = outcome.error {
        return Err(WebhookError::VerificationFailed(error));
    }
    let mut conn = store.acquire().await?;
    webhooks::set_verification_code(&mut conn, business_id, id, &code).await?;
    Ok(webhooks::get_endpoint(&mut conn, business_id, id).await?)
}

/// The handshake's second half: the merchant gives back the code; the
/// endpoint becomes active.
pub async fn verify(
    store: &Store,
    business_id: i64,
    id: i64,
    code: &str,
    now_us: i64,
) -> Result<Endpoint> {
    let mut conn = store.acquire().await?;
    let endpoint = webhooks::get_endpoint(&mut conn, business_id, id).await?;
    if endpoint.is_active() {
        return Ok(endpoint);
    }
    let matches = endpoint
        .verification_code
        .as_deref()
        .is_some_and(|expected| constant_time_eq(expected.as_bytes(), code.trim().as_bytes()));
    if !matches {
        return Err(WebhookError::WrongCode);
    }
    Ok(webhooks::mark_verified(&mut conn, business_id, id, now_us).await?)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The notification history (60 days), newest first.
pub async fn history(
    store: &Store,
    business_id: i64,
    filter: &DeliveryFilter,
    page: PageRequest,
) -> Result<Page<Delivery>> {
    let mut conn = store.acquire().await?;
    Ok(webhooks::list_deliveries(&mut conn, business_id, filter, page).await?)
}

pub async fn notification(store: &Store, business_id: i64, id: i64) -> Result<Delivery> {
    let mut conn = store.acquire().await?;
    Ok(webhooks::get_delivery(&mut conn, business_id, id).await?)
}

/// "Retry delivery": one more attempt now, whatever the delivery's status
/// (a delivered notification is sent again). Further automatic attempts
/// follow only while the delivery is younger than the give-up limit.
pub async fn retry(store: &Store, business_id: i64, id: i64, now_us: i64) -> Result<Delivery> {
    let mut tx = store.begin().await?;
    let delivery = webhooks::get_delivery(&mut tx, business_id, id).await?;
    webhooks::reopen(&mut tx, business_id, id, now_us).await?;
    let tag = format!("manual-{now_us}");
    deliver::enqueue_attempt(
        &mut tx,
        &delivery,
        delivery.attempts + 1,
        now_us,
        Some(&tag),
    )
    .await?;
    let delivery = webhooks::get_delivery(&mut tx, business_id, id).await?;
    tx.commit().await.map_err(abo_store::StoreError::from)?;
    Ok(delivery)
}
