//! The business's webhook secret: created on first use, shown to the
//! merchant (API, CLI), rotatable. After a rotation the previous secret keeps
//! signing (a second `v1=` in `abo-signature`) for [`ROTATION_OVERLAP_US`].

use abo_store::webhooks::{self, WebhookSecret};
use abo_store::{AnyConnection, Store};

use crate::{Result, sign};

/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP_US: i64 = 24 * 3_600_000_000;

/// The business's secret, generated the first time it is needed.
pub async fn get_or_create(
    conn: &mut AnyConnection,
    business_id: i64,
    now_us: i64,
) -> Result<WebhookSecret> {
    if let Some(secret) = webhooks::get_secret(conn, business_id).await? {
        return Ok(secret);
    }
    Ok(webhooks::ensure_secret(conn, business_id, &sign::new_secret(), now_us).await?)
}

/// The business's secret (created if needed).
pub async fn secret(store: &Store, business_id: i64, now_us: i64) -> Result<WebhookSecret> {
    let mut conn = store.acquire().await?;
    get_or_create(&mut conn, business_id, now_us).await
}

/// Replaces the secret with a new one; returns it.
pub async fn rotate(store: &Store, business_id: i64, now_us: i64) -> Result<WebhookSecret> {
    let mut tx = store.begin().await?;
    get_or_create(&mut tx, business_id, now_us).await?;
    let rotated = webhooks::rotate_secret(
        &mut tx,
        business_id,
        &sign::new_secret(),
        now_us + ROTATION_OVERLAP_US,
        now_us,
    )
    .await?;
    tx.commit().await.map_err(abo_store::StoreError::from)?;
    Ok(rotated)
}
