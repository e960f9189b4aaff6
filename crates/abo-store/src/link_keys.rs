//! Signing keys for customer links, rotatable: new links are signed with the newest active
//! key; retired keys stop verifying.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{OrNotFound, Result};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkKey {
    pub id: i64,
    pub business_id: i64,
    /// Key id carried in tokens; unique per business.
    pub kid: String,
    /// The secret, hex-encoded.
    #[serde(skip)]
    pub secret_hex: String,
    pub created_at_us: i64,
    pub retired_at_us: Option<i64>,
}

fn from_row(r: &AnyRow) -> sqlx::Result<LinkKey> {
    Ok(LinkKey {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        kid: r.s("kid")?,
        secret_hex: r.s("secret_hex")?,
        created_at_us: r.i("created_at_us")?,
        retired_at_us: r.oi("retired_at_us")?,
    })
}

/// Duplicate kid in the business → `Conflict`.
pub async fn create(
    conn: &mut AnyConnection,
    business_id: i64,
    kid: &str,
    secret_hex: &str,
    now_us: i64,
) -> Result<LinkKey> {
    let row = sqlx::query(
        "INSERT INTO link_keys (business_id, kid, secret_hex, created_at_us) \
         VALUES ($1, $2, $3, $4) RETURNING *",
    )
    .bind(business_id)
    .bind(kid)
    .bind(secret_hex)
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    Ok(from_row(&row)?)
}

/// The newest non-retired key (used to sign new links).
pub async fn current(conn: &mut AnyConnection, business_id: i64) -> Result<LinkKey> {
    let row = sqlx::query(
        "SELECT * FROM link_keys WHERE business_id = $1 AND retired_at_us IS NULL \
         ORDER BY created_at_us DESC, id DESC LIMIT 1",
    )
    .bind(business_id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("link key")?;
    Ok(from_row(&row)?)
}

/// A key by kid, retired or not (the caller decides whether a retired key still verifies).
pub async fn get_by_kid(conn: &mut AnyConnection, business_id: i64, kid: &str) -> Result<LinkKey> {
    let row = sqlx::query("SELECT * FROM link_keys WHERE business_id = $1 AND kid = $2")
        .bind(business_id)
        .bind(kid)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("link key")?;
    Ok(from_row(&row)?)
}

pub async fn list(conn: &mut AnyConnection, business_id: i64) -> Result<Vec<LinkKey>> {
    let rows = sqlx::query("SELECT * FROM link_keys WHERE business_id = $1 ORDER BY id")
        .bind(business_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

pub async fn retire(
    conn: &mut AnyConnection,
    business_id: i64,
    kid: &str,
    now_us: i64,
) -> Result<LinkKey> {
    let row = sqlx::query(
        "UPDATE link_keys SET retired_at_us = COALESCE(retired_at_us, $1) \
         WHERE business_id = $2 AND kid = $3 RETURNING *",
    )
    .bind(now_us)
    .bind(business_id)
    .bind(kid)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("link key")?;
    Ok(from_row(&row)?)
}
