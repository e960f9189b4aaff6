//! Webhooks: the business's signing secret, its endpoints, and the deliveries (one per event and
//! endpoint, the notification history). Every function takes the business: one tenant never
//! reaches another's endpoints or history.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::row::RowExt;
use crate::{Page, PageRequest};

/// The business's webhook secret; `previous` still signs until `previous_until_us` (rotation).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    pub business_id: i64,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until_us: Option<i64>,
    pub created_at_us: i64,
    pub rotated_at_us: Option<i64>,
}

// Never print secrets, even in debug output.
impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecret")
            .field("business_id", &self.business_id)
            .field("rotated_at_us", &self.rotated_at_us)
            .finish_non_exhaustive()
    }
}

impl WebhookSecret {
    /// The secrets that sign at `now_us`: the current one first.
    pub fn signing_secrets(&self, now_us: i64) -> Vec<&str> {
        let mut all = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_until_us)
            && now_us < until
        {
            all.push(previous);
        }
        all
    }
}

fn secret_from_row(r: &AnyRow) -> sqlx::Result<WebhookSecret> {
    Ok(WebhookSecret {
        business_id: r.i("business_id")?,
        secret: r.s("secret")?,
        previous_secret: r.os("previous_secret")?,
        previous_until_us: r.oi("previous_until_us")?,
        created_at_us: r.i("created_at_us")?,
        rotated_at_us: r.oi("rotated_at_us")?,
    })
}

pub async fn get_secret(
    conn: &mut AnyConnection,
    business_id: i64,
) -> Result<Option<WebhookSecret>> {
    let row = sqlx::query("SELECT * FROM webhook_secrets WHERE business_id = $1")
        .bind(business_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(secret_from_row).transpose()?)
}

/// Stores `secret` unless the business already has one; returns the business's secret.
pub async fn ensure_secret(
    conn: &mut AnyConnection,
    business_id: i64,
    secret: &str,
    now_us: i64,
) -> Result<WebhookSecret> {
    sqlx::query(
        "INSERT INTO webhook_secrets (business_id, secret, created_at_us) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(business_id)
    .bind(secret)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    get_secret(conn, business_id)
        .await?
        .ok_or(StoreError::NotFound("webhook secret"))
}

/// Replaces the secret; the old one keeps signing until `previous_until_us`.
pub async fn rotate_secret(
    conn: &mut AnyConnection,
    business_id: i64,
    secret: &str,
    previous_until_us: i64,
    now_us: i64,
) -> Result<WebhookSecret> {
    let done = sqlx::query(
        "UPDATE webhook_secrets SET previous_secret = secret, previous_until_us = $1, \
         secret = $2, rotated_at_us = $3 WHERE business_id = $4",
    )
    .bind(previous_until_us)
    .bind(secret)
    .bind(now_us)
    .bind(business_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return ensure_secret(conn, business_id, secret, now_us).await;
    }
    get_secret(conn, business_id)
        .await?
        .ok_or(StoreError::NotFound("webhook secret"))
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    pub id: i64,
    pub business_id: i64,
    pub url: String,
    /// TypeTrigger names.
    pub triggers: Vec<String>,
    /// The code sent by the last handshake, not yet confirmed.
    #[serde(skip)]
    pub verification_code: Option<String>,
    pub date_created_us: i64,
    pub date_verified_us: Option<i64>,
    pub deleted_at_us: Option<i64>,
}

impl Endpoint {
    /// Receives deliveries: verified and not deleted.
    pub fn is_active(&self) -> bool {
        self.date_verified_us.is_some() && self.deleted_at_us.is_none()
    }
}

fn encode_triggers(triggers: &[String]) -> String {
    format!(",{},", triggers.join(","))
}

fn endpoint_from_row(r: &AnyRow) -> sqlx::Result<Endpoint> {
    let triggers = r.s("triggers")?;
    Ok(Endpoint {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        url: r.s("url")?,
        triggers: triggers
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        verification_code: r.os("verification_code")?,
        date_created_us: r.i("date_created_us")?,
        date_verified_us: r.oi("date_verified_us")?,
        deleted_at_us: r.oi("deleted_at_us")?,
    })
}

pub async fn create_endpoint(
    conn: &mut AnyConnection,
    business_id: i64,
    url: &str,
    triggers: &[String],
    now_us: i64,
) -> Result<Endpoint> {
    let row = sqlx::query(
        "INSERT INTO webhook_endpoints (business_id, url, triggers, date_created_us) \
         VALUES ($1, $2, $3, $4) RETURNING *",
    )
    .bind(business_id)
    .bind(url)
    .bind(encode_triggers(triggers))
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    Ok(endpoint_from_row(&row)?)
}

/// An endpoint of the business that is not deleted.
pub async fn get_endpoint(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Endpoint> {
    let row = sqlx::query(
        "SELECT * FROM webhook_endpoints WHERE business_id = $1 AND id = $2 \
         AND deleted_at_us IS NULL",
    )
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("webhook"))?;
    Ok(endpoint_from_row(&row)?)
}

/// The business's endpoints (not deleted), oldest first.
pub async fn list_endpoints(conn: &mut AnyConnection, business_id: i64) -> Result<Vec<Endpoint>> {
    let rows = sqlx::query(
        "SELECT * FROM webhook_endpoints WHERE business_id = $1 AND deleted_at_us IS NULL \
         ORDER BY id",
    )
    .bind(business_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(endpoint_from_row)
        .collect::<sqlx::Result<_>>()?)
}

/// The active endpoints subscribed to `trigger`.
pub async fn endpoints_for_trigger(
    conn: &mut AnyConnection,
    business_id: i64,
    trigger: &str,
) -> Result<Vec<Endpoint>> {
    let rows = sqlx::query(
        "SELECT * FROM webhook_endpoints WHERE business_id = $1 AND deleted_at_us IS NULL \
         AND date_verified_us IS NOT NULL AND triggers LIKE $2 ORDER BY id",
    )
    .bind(business_id)
    .bind(format!("%,{trigger},%"))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(endpoint_from_row)
        .collect::<sqlx::Result<_>>()?)
}

pub async fn delete_endpoint(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET deleted_at_us = $1 WHERE business_id = $2 AND id = $3 \
         AND deleted_at_us IS NULL",
    )
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("webhook"));
    }
    Ok(())
}

/// Remembers the code the handshake sent (accepted by the endpoint).
pub async fn set_verification_code(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    code: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_endpoints SET verification_code = $1 WHERE business_id = $2 AND id = $3",
    )
    .bind(code)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Activates the endpoint (the code was confirmed) and forgets the code.
pub async fn mark_verified(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<Endpoint> {
    sqlx::query(
        "UPDATE webhook_endpoints SET verification_code = NULL, \
         date_verified_us = COALESCE(date_verified_us, $1) WHERE business_id = $2 AND id = $3",
    )
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    get_endpoint(conn, business_id, id).await
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    pub id: i64,
    pub business_id: i64,
    pub endpoint_id: i64,
    /// The envelope's `Id` (`trg_...`).
    pub event_id: String,
    pub type_trigger: String,
    pub date_trigger_us: i64,
    /// The body sent, byte for byte.
    pub payload: String,
    /// `Pending`, `Delivered` or `Failed`.
    pub status: String,
    pub attempts: i64,
    pub last_http_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_attempt_us: Option<i64>,
    pub next_attempt_us: Option<i64>,
    pub delivered_at_us: Option<i64>,
    pub created_at_us: i64,
}

pub const PENDING: &str = "Pending";
pub const DELIVERED: &str = "Delivered";
pub const FAILED: &str = "Failed";

fn delivery_from_row(r: &AnyRow) -> sqlx::Result<Delivery> {
    Ok(Delivery {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        endpoint_id: r.i("endpoint_id")?,
        event_id: r.s("event_id")?,
        type_trigger: r.s("type_trigger")?,
        date_trigger_us: r.i("date_trigger_us")?,
        payload: r.s("payload")?,
        status: r.s("status")?,
        attempts: r.i("attempts")?,
        last_http_status: r.oi("last_http_status")?,
        last_error: r.os("last_error")?,
        last_attempt_us: r.oi("last_attempt_us")?,
        next_attempt_us: r.oi("next_attempt_us")?,
        delivered_at_us: r.oi("delivered_at_us")?,
        created_at_us: r.i("created_at_us")?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery<'a> {
    pub business_id: i64,
    pub endpoint_id: i64,
    pub event_id: &'a str,
    pub type_trigger: &'a str,
    pub date_trigger_us: i64,
    pub payload: &'a str,
}

/// Creates the delivery of an event to an endpoint, `Pending`. `None` when it already exists
/// (the event was fanned out before: natural key event × endpoint).
pub async fn create_delivery(
    conn: &mut AnyConnection,
    new: &NewDelivery<'_>,
    now_us: i64,
) -> Result<Option<Delivery>> {
    let row = sqlx::query(
        "INSERT INTO webhook_deliveries (business_id, endpoint_id, event_id, type_trigger, \
         date_trigger_us, payload, status, next_attempt_us, created_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING RETURNING *",
    )
    .bind(new.business_id)
    .bind(new.endpoint_id)
    .bind(new.event_id)
    .bind(new.type_trigger)
    .bind(new.date_trigger_us)
    .bind(new.payload)
    .bind(PENDING)
    .bind(now_us)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(delivery_from_row).transpose()?)
}

pub async fn get_delivery(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Delivery> {
    let row = sqlx::query("SELECT * FROM webhook_deliveries WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("webhook notification"))?;
    Ok(delivery_from_row(&row)?)
}

/// What one attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult<'a> {
    /// The attempt's number (1 for the first).
    pub attempt: i64,
    /// `Pending` (will retry at `next_attempt_us`), `Delivered` or `Failed` (given up).
    pub status: &'a str,
    pub http_status: Option<i64>,
    pub error: Option<&'a str>,
    pub next_attempt_us: Option<i64>,
}

/// Records an attempt. Only moves forward: returns false (nothing written) when an attempt with
/// this number or a later one was already recorded.
pub async fn record_attempt(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    result: &AttemptResult<'_>,
    now_us: i64,
) -> Result<bool> {
    let delivered = (result.status == DELIVERED).then_some(now_us);
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET attempts = $1, status = $2, last_http_status = $3, \
         last_error = $4, last_attempt_us = $5, next_attempt_us = $6, \
         delivered_at_us = COALESCE($7, delivered_at_us) \
         WHERE business_id = $8 AND id = $9 AND attempts < $1",
    )
    .bind(result.attempt)
    .bind(result.status)
    .bind(result.http_status)
    .bind(result.error)
    .bind(now_us)
    .bind(result.next_attempt_us)
    .bind(delivered)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A manual retry: the delivery is `Pending` again, next attempt at `now_us`.
pub async fn reopen(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, next_attempt_us = $2 \
         WHERE business_id = $3 AND id = $4",
    )
    .bind(PENDING)
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub endpoint_id: Option<i64>,
    pub type_trigger: Option<String>,
    pub status: Option<String>,
}

/// The business's notification history, newest first.
pub async fn list_deliveries(
    conn: &mut AnyConnection,
    business_id: i64,
    filter: &DeliveryFilter,
    page: PageRequest,
) -> Result<Page<Delivery>> {
    let (offset, limit) = page.clamped();
    let condition = "business_id = $1 AND ($2 IS NULL OR endpoint_id = $2) \
         AND ($3 IS NULL OR type_trigger = $3) AND ($4 IS NULL OR status = $4)";
    let total = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE {condition}"
    )))
    .bind(business_id)
    .bind(filter.endpoint_id)
    .bind(filter.type_trigger.as_deref())
    .bind(filter.status.as_deref())
    .fetch_one(&mut *conn)
    .await?
    .i("n")?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM webhook_deliveries WHERE {condition} ORDER BY id DESC LIMIT $5 OFFSET $6"
    )))
    .bind(business_id)
    .bind(filter.endpoint_id)
    .bind(filter.type_trigger.as_deref())
    .bind(filter.status.as_deref())
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Page {
        items: rows
            .iter()
            .map(delivery_from_row)
            .collect::<sqlx::Result<_>>()?,
        total,
    })
}

/// Deletes the business's history older than `before_us`. Returns how many rows went.
pub async fn purge_deliveries(
    conn: &mut AnyConnection,
    business_id: i64,
    before_us: i64,
) -> Result<u64> {
    let done =
        sqlx::query("DELETE FROM webhook_deliveries WHERE business_id = $1 AND created_at_us < $2")
            .bind(business_id)
            .bind(before_us)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}

/// The `triggers` lists (`,A,B,`) of the business's verified endpoints: whether any endpoint
/// listens to a trigger ([`listens`]), for many events at once.
pub async fn listened_triggers(conn: &mut AnyConnection, business_id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT triggers FROM webhook_endpoints WHERE business_id = $1 \
         AND deleted_at_us IS NULL AND date_verified_us IS NOT NULL",
    )
    .bind(business_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.s("triggers"))
        .collect::<sqlx::Result<_>>()?)
}

/// Whether one of `lists` ([`listened_triggers`]) names `trigger`. Ignores ASCII case, as the
/// `LIKE` of [`endpoints_for_trigger`] does on SQLite: when in doubt an event goes through the
/// full fan-out, which decides.
pub fn listens(lists: &[String], trigger: &str) -> bool {
    let needle = format!(",{},", trigger.to_ascii_lowercase());
    lists
        .iter()
        .any(|l| l.to_ascii_lowercase().contains(&needle))
}
