//! Pricing tables ("offer grids"): reference unique per segment, ordered list of offers.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::Written;
use crate::error::{OrNotFound, Result};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PricingTable {
    pub id: i64,
    pub business_id: i64,
    pub segment_id: i64,
    pub reference: String,
    pub name: String,
    /// Offer ids in display order.
    pub offer_ids: Vec<i64>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPricingTable {
    pub business_id: i64,
    pub segment_id: i64,
    pub reference: String,
    pub name: String,
    /// Offers of the same business, in display order.
    pub offer_ids: Vec<i64>,
}

fn from_row(r: &AnyRow) -> sqlx::Result<PricingTable> {
    Ok(PricingTable {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        segment_id: r.i("segment_id")?,
        reference: r.s("reference")?,
        name: r.s("name")?,
        offer_ids: Vec::new(),
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

async fn load_offers(conn: &mut AnyConnection, table: &mut PricingTable) -> Result<()> {
    let rows = sqlx::query(
        "SELECT offer_id FROM pricing_table_offers WHERE business_id = $1 \
         AND pricing_table_id = $2 ORDER BY position, offer_id",
    )
    .bind(table.business_id)
    .bind(table.id)
    .fetch_all(&mut *conn)
    .await?;
    table.offer_ids = rows
        .iter()
        .map(|r| r.i("offer_id"))
        .collect::<sqlx::Result<_>>()?;
    Ok(())
}

async fn write_offers(
    conn: &mut AnyConnection,
    business_id: i64,
    table_id: i64,
    offer_ids: &[i64],
) -> Result<()> {
    sqlx::query(
        "DELETE FROM pricing_table_offers WHERE business_id = $1 AND pricing_table_id = $2",
    )
    .bind(business_id)
    .bind(table_id)
    .execute(&mut *conn)
    .await?;
    for (position, offer_id) in offer_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO pricing_table_offers (business_id, pricing_table_id, offer_id, position) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(business_id)
        .bind(table_id)
        .bind(*offer_id)
        .bind(position as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Duplicate reference in the segment → `Conflict`; an offer of another business → `Invalid`.
pub async fn create(
    conn: &mut AnyConnection,
    new: &NewPricingTable,
    now_us: i64,
) -> Result<PricingTable> {
    let row = sqlx::query(
        "INSERT INTO pricing_tables (business_id, segment_id, reference, name, created_at_us, \
         updated_at_us) VALUES ($1, $2, $3, $4, $5, $5) RETURNING *",
    )
    .bind(new.business_id)
    .bind(new.segment_id)
    .bind(&new.reference)
    .bind(&new.name)
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    let mut table = from_row(&row)?;
    write_offers(conn, table.business_id, table.id, &new.offer_ids).await?;
    table.offer_ids = new.offer_ids.clone();
    Ok(table)
}

/// Idempotent catalogue upsert by (segment, reference).
pub async fn upsert(
    conn: &mut AnyConnection,
    new: &NewPricingTable,
    now_us: i64,
) -> Result<(PricingTable, Written)> {
    let Some(existing) =
        find_by_reference(conn, new.business_id, new.segment_id, &new.reference).await?
    else {
        return Ok((create(conn, new, now_us).await?, Written::Created));
    };
    if existing.name == new.name && existing.offer_ids == new.offer_ids {
        return Ok((existing, Written::Unchanged));
    }
    let row = sqlx::query(
        "UPDATE pricing_tables SET name = $1, updated_at_us = $2 \
         WHERE business_id = $3 AND id = $4 RETURNING *",
    )
    .bind(&new.name)
    .bind(now_us)
    .bind(existing.business_id)
    .bind(existing.id)
    .fetch_one(&mut *conn)
    .await?;
    let mut table = from_row(&row)?;
    if existing.offer_ids != new.offer_ids {
        write_offers(conn, table.business_id, table.id, &new.offer_ids).await?;
    }
    table.offer_ids = new.offer_ids.clone();
    Ok((table, Written::Updated))
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<PricingTable> {
    let row = sqlx::query("SELECT * FROM pricing_tables WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("pricing table")?;
    let mut table = from_row(&row)?;
    load_offers(conn, &mut table).await?;
    Ok(table)
}

pub async fn find_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    reference: &str,
) -> Result<Option<PricingTable>> {
    let row = sqlx::query(
        "SELECT * FROM pricing_tables WHERE business_id = $1 AND segment_id = $2 \
         AND reference = $3",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(reference)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut table = from_row(&row)?;
    load_offers(conn, &mut table).await?;
    Ok(Some(table))
}

pub async fn get_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    reference: &str,
) -> Result<PricingTable> {
    find_by_reference(conn, business_id, segment_id, reference)
        .await?
        .or_not_found("pricing table")
}

pub async fn list(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<Vec<PricingTable>> {
    let rows = sqlx::query(
        "SELECT * FROM pricing_tables WHERE business_id = $1 AND segment_id = $2 ORDER BY id",
    )
    .bind(business_id)
    .bind(segment_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut table = from_row(r)?;
        load_offers(conn, &mut table).await?;
        out.push(table);
    }
    Ok(out)
}

/// Delete a pricing table (its offers become private; the offers themselves stay).
pub async fn delete(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<()> {
    sqlx::query(
        "DELETE FROM pricing_table_offers WHERE business_id = $1 AND pricing_table_id = $2",
    )
    .bind(business_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query("DELETE FROM pricing_tables WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::NotFound("pricing table"));
    }
    Ok(())
}
