//! Discounts: reference unique per segment; target UpFront/Recurrence/Feature, flat or percent.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::Written;
use crate::error::{OrNotFound, Result};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Discount {
    pub id: i64,
    pub business_id: i64,
    pub segment_id: i64,
    pub reference: String,
    pub name: String,
    /// "UpFront", "Recurrence" or "Feature".
    pub target: String,
    pub feature_id: Option<i64>,
    /// "Flat" or "Percent".
    pub value_kind: String,
    /// Minor units, for Flat.
    pub amount: Option<i64>,
    /// Decimal text (e.g. "12.5"), for Percent.
    pub percent: Option<String>,
    /// None = every recurrence.
    pub count_recurrences: Option<i64>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDiscount {
    pub business_id: i64,
    pub segment_id: i64,
    pub reference: String,
    pub name: String,
    pub target: String,
    pub feature_id: Option<i64>,
    pub value_kind: String,
    pub amount: Option<i64>,
    pub percent: Option<String>,
    pub count_recurrences: Option<i64>,
}

fn from_row(r: &AnyRow) -> sqlx::Result<Discount> {
    Ok(Discount {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        segment_id: r.i("segment_id")?,
        reference: r.s("reference")?,
        name: r.s("name")?,
        target: r.s("target")?,
        feature_id: r.oi("feature_id")?,
        value_kind: r.s("value_kind")?,
        amount: r.oi("amount")?,
        percent: r.os("percent")?,
        count_recurrences: r.oi("count_recurrences")?,
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

/// Duplicate reference in the segment → `Conflict`.
pub async fn create(conn: &mut AnyConnection, new: &NewDiscount, now_us: i64) -> Result<Discount> {
    let row = sqlx::query(
        "INSERT INTO discounts (business_id, segment_id, reference, name, target, feature_id, \
         value_kind, amount, percent, count_recurrences, created_at_us, updated_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING *",
    )
    .bind(new.business_id)
    .bind(new.segment_id)
    .bind(&new.reference)
    .bind(&new.name)
    .bind(&new.target)
    .bind(new.feature_id)
    .bind(&new.value_kind)
    .bind(new.amount)
    .bind(new.percent.as_deref())
    .bind(new.count_recurrences)
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    Ok(from_row(&row)?)
}

/// Idempotent catalogue upsert by (segment, reference).
pub async fn upsert(
    conn: &mut AnyConnection,
    new: &NewDiscount,
    now_us: i64,
) -> Result<(Discount, Written)> {
    let Some(d) = find_by_reference(conn, new.business_id, new.segment_id, &new.reference).await?
    else {
        return Ok((create(conn, new, now_us).await?, Written::Created));
    };
    if d.name == new.name
        && d.target == new.target
        && d.feature_id == new.feature_id
        && d.value_kind == new.value_kind
        && d.amount == new.amount
        && d.percent == new.percent
        && d.count_recurrences == new.count_recurrences
    {
        return Ok((d, Written::Unchanged));
    }
    let row = sqlx::query(
        "UPDATE discounts SET name = $1, target = $2, feature_id = $3, value_kind = $4, \
         amount = $5, percent = $6, count_recurrences = $7, updated_at_us = $8 \
         WHERE business_id = $9 AND id = $10 RETURNING *",
    )
    .bind(&new.name)
    .bind(&new.target)
    .bind(new.feature_id)
    .bind(&new.value_kind)
    .bind(new.amount)
    .bind(new.percent.as_deref())
    .bind(new.count_recurrences)
    .bind(now_us)
    .bind(d.business_id)
    .bind(d.id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((from_row(&row)?, Written::Updated))
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Discount> {
    let row = sqlx::query("SELECT * FROM discounts WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("discount")?;
    Ok(from_row(&row)?)
}

pub async fn find_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    reference: &str,
) -> Result<Option<Discount>> {
    let row = sqlx::query(
        "SELECT * FROM discounts WHERE business_id = $1 AND segment_id = $2 AND reference = $3",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(reference)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn get_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    reference: &str,
) -> Result<Discount> {
    find_by_reference(conn, business_id, segment_id, reference)
        .await?
        .or_not_found("discount")
}

pub async fn list(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<Vec<Discount>> {
    let rows = sqlx::query(
        "SELECT * FROM discounts WHERE business_id = $1 AND segment_id = $2 ORDER BY id",
    )
    .bind(business_id)
    .bind(segment_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}
