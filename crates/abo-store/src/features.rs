//! Features (business-wide): `OnOff`, `Limitation`, `Consumption`. Reference unique per business.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::Written;
use crate::error::{OrNotFound, Result};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Feature {
    pub id: i64,
    pub business_id: i64,
    pub reference: String,
    pub name: String,
    pub description: Option<String>,
    /// "OnOff", "Limitation" or "Consumption".
    pub type_feature: String,
    pub is_visible: bool,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeature {
    pub business_id: i64,
    pub reference: String,
    pub name: String,
    pub description: Option<String>,
    pub type_feature: String,
    pub is_visible: bool,
}

fn from_row(r: &AnyRow) -> sqlx::Result<Feature> {
    Ok(Feature {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        reference: r.s("reference")?,
        name: r.s("name")?,
        description: r.os("description")?,
        type_feature: r.s("type_feature")?,
        is_visible: r.b("is_visible")?,
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

/// Duplicate reference → `Conflict`.
pub async fn create(conn: &mut AnyConnection, new: &NewFeature, now_us: i64) -> Result<Feature> {
    let row = sqlx::query(
        "INSERT INTO features (business_id, reference, name, description, type_feature, \
         is_visible, created_at_us, updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         RETURNING *",
    )
    .bind(new.business_id)
    .bind(&new.reference)
    .bind(&new.name)
    .bind(new.description.as_deref())
    .bind(&new.type_feature)
    .bind(new.is_visible)
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    Ok(from_row(&row)?)
}

/// Idempotent catalogue upsert by reference: `Unchanged` when the stored feature already
/// matches `new`.
pub async fn upsert(
    conn: &mut AnyConnection,
    new: &NewFeature,
    now_us: i64,
) -> Result<(Feature, Written)> {
    let Some(existing) = find_by_reference(conn, new.business_id, &new.reference).await? else {
        return Ok((create(conn, new, now_us).await?, Written::Created));
    };
    if existing.name == new.name
        && existing.description == new.description
        && existing.type_feature == new.type_feature
        && existing.is_visible == new.is_visible
    {
        return Ok((existing, Written::Unchanged));
    }
    let row = sqlx::query(
        "UPDATE features SET name = $1, description = $2, type_feature = $3, is_visible = $4, \
         updated_at_us = $5 WHERE business_id = $6 AND id = $7 RETURNING *",
    )
    .bind(&new.name)
    .bind(new.description.as_deref())
    .bind(&new.type_feature)
    .bind(new.is_visible)
    .bind(now_us)
    .bind(existing.business_id)
    .bind(existing.id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((from_row(&row)?, Written::Updated))
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Feature> {
    let row = sqlx::query("SELECT * FROM features WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("feature")?;
    Ok(from_row(&row)?)
}

pub async fn find_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    reference: &str,
) -> Result<Option<Feature>> {
    let row = sqlx::query("SELECT * FROM features WHERE business_id = $1 AND reference = $2")
        .bind(business_id)
        .bind(reference)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn get_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    reference: &str,
) -> Result<Feature> {
    find_by_reference(conn, business_id, reference)
        .await?
        .or_not_found("feature")
}

pub async fn list(conn: &mut AnyConnection, business_id: i64) -> Result<Vec<Feature>> {
    let rows = sqlx::query("SELECT * FROM features WHERE business_id = $1 ORDER BY id")
        .bind(business_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}
