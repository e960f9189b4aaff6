//! API credentials: an agent key (public, unique) and the SHA-256 hex of the API key.
//! API keys are random 128-bit+ secrets, so a fast hash is right (no password stretching
//! needed) and keeps authentication cheap. The clear key is never stored.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::businesses::{self, Business};
use crate::error::{OrNotFound, Result};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiCredential {
    pub id: i64,
    pub business_id: i64,
    pub agent_key: String,
    pub api_key_hash: String,
    pub label: String,
    pub created_at_us: i64,
    pub revoked_at_us: Option<i64>,
    /// Answer legacy subscription state names (`Running`) to this client.
    pub legacy_states: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiCredential {
    pub business_id: i64,
    pub agent_key: String,
    /// Lower-case SHA-256 hex of the API key.
    pub api_key_hash: String,
    pub label: String,
}

fn from_row(r: &AnyRow) -> sqlx::Result<ApiCredential> {
    Ok(ApiCredential {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        agent_key: r.s("agent_key")?,
        api_key_hash: r.s("api_key_hash")?,
        label: r.s("label")?,
        created_at_us: r.i("created_at_us")?,
        revoked_at_us: r.oi("revoked_at_us")?,
        legacy_states: r.b("legacy_states")?,
    })
}

/// Duplicate agent key → `Conflict`.
pub async fn create(
    conn: &mut AnyConnection,
    new: &NewApiCredential,
    now_us: i64,
) -> Result<ApiCredential> {
    let row = sqlx::query(
        "INSERT INTO api_credentials (business_id, agent_key, api_key_hash, label, created_at_us) \
         VALUES ($1, $2, $3, $4, $5) RETURNING *",
    )
    .bind(new.business_id)
    .bind(&new.agent_key)
    .bind(&new.api_key_hash)
    .bind(&new.label)
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    Ok(from_row(&row)?)
}

/// The business owning a live (not revoked) credential with this agent key and key hash.
/// `NotFound("credentials")` otherwise — the caller answers 401 without saying which part
/// was wrong.
pub async fn find_business_by_credentials(
    conn: &mut AnyConnection,
    agent_key: &str,
    api_key_hash: &str,
) -> Result<Business> {
    Ok(authenticate(conn, agent_key, api_key_hash).await?.0)
}

/// Like [`find_business_by_credentials`], with the credential itself (its settings).
pub async fn authenticate(
    conn: &mut AnyConnection,
    agent_key: &str,
    api_key_hash: &str,
) -> Result<(Business, ApiCredential)> {
    let row = sqlx::query(
        "SELECT * FROM api_credentials \
         WHERE agent_key = $1 AND api_key_hash = $2 AND revoked_at_us IS NULL",
    )
    .bind(agent_key)
    .bind(api_key_hash)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("credentials")?;
    let credential = from_row(&row)?;
    Ok((
        businesses::get(conn, credential.business_id).await?,
        credential,
    ))
}

/// Chooses the subscription state vocabulary answered to this credential.
pub async fn set_legacy_states(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    legacy_states: bool,
) -> Result<ApiCredential> {
    let row = sqlx::query(
        "UPDATE api_credentials SET legacy_states = $1 WHERE business_id = $2 AND id = $3 \
         RETURNING *",
    )
    .bind(legacy_states)
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("credentials")?;
    Ok(from_row(&row)?)
}

pub async fn list(conn: &mut AnyConnection, business_id: i64) -> Result<Vec<ApiCredential>> {
    let rows = sqlx::query("SELECT * FROM api_credentials WHERE business_id = $1 ORDER BY id")
        .bind(business_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

pub async fn revoke(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<ApiCredential> {
    let row = sqlx::query(
        "UPDATE api_credentials SET revoked_at_us = COALESCE(revoked_at_us, $1) \
         WHERE business_id = $2 AND id = $3 RETURNING *",
    )
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .or_not_found("credentials")?;
    Ok(from_row(&row)?)
}
