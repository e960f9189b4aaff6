//! Businesses: one merchant environment (sandbox and production are two businesses).

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{OrNotFound, Result};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Business {
    pub id: i64,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub default_language: String,
    pub is_test: bool,
    /// When set, the business's clock is frozen/moved to this instant (test clock API).
    pub test_clock_us: Option<i64>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBusiness {
    pub name: String,
    pub country: String,
    pub default_language: String,
    pub is_test: bool,
}

fn from_row(r: &AnyRow) -> sqlx::Result<Business> {
    Ok(Business {
        id: r.i("id")?,
        name: r.s("name")?,
        country: r.s("country")?,
        default_language: r.s("default_language")?,
        is_test: r.b("is_test")?,
        test_clock_us: r.oi("test_clock_us")?,
        created_at_us: r.i("created_at_us")?,
    })
}

pub async fn create(conn: &mut AnyConnection, new: &NewBusiness, now_us: i64) -> Result<Business> {
    let row = sqlx::query(
        "INSERT INTO businesses (name, country, default_language, is_test, created_at_us) \
         VALUES ($1, $2, $3, $4, $5) RETURNING *",
    )
    .bind(&new.name)
    .bind(&new.country)
    .bind(&new.default_language)
    .bind(new.is_test)
    .bind(now_us)
    .fetch_one(conn)
    .await?;
    Ok(from_row(&row)?)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Business> {
    let row = sqlx::query("SELECT * FROM businesses WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .or_not_found("business")?;
    Ok(from_row(&row)?)
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<Business>> {
    let rows = sqlx::query("SELECT * FROM businesses ORDER BY id")
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// Set (Some) or clear (None) the business's test clock.
pub async fn set_test_clock(
    conn: &mut AnyConnection,
    id: i64,
    test_clock_us: Option<i64>,
) -> Result<Business> {
    let row = sqlx::query("UPDATE businesses SET test_clock_us = $1 WHERE id = $2 RETURNING *")
        .bind(test_clock_us)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .or_not_found("business")?;
    Ok(from_row(&row)?)
}
