//! Segments: a business's sub-division with its own currency, customers and catalogue.
//! `reference` is unique per business; at most one default segment per business.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::Written;
use crate::error::{OrNotFound, Result, StoreError};
use crate::row::RowExt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    pub id: i64,
    pub business_id: i64,
    pub reference: String,
    pub name: String,
    /// ISO 4217; fixed for the segment's lifetime.
    pub currency: String,
    pub time_zone: String,
    pub locale: String,
    pub is_default: bool,
    pub url_integrated_form: Option<String>,
    pub url_integrated_portal: Option<String>,
    pub block_renewal_without_payment_method: bool,
    pub upgrade_at_renewal: bool,
    pub invoice_prefix: String,
    pub credit_note_prefix: String,
    pub next_invoice_number: i64,
    pub next_credit_note_number: i64,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSegment {
    pub business_id: i64,
    pub reference: String,
    pub name: String,
    pub currency: String,
    /// Default 'Europe/Paris'.
    pub time_zone: Option<String>,
    /// Default 'en'.
    pub locale: Option<String>,
    pub is_default: bool,
    /// Default 'S-'. Full invoice numbers are unique per business, so segments of one business
    /// need distinct prefixes.
    pub invoice_prefix: Option<String>,
    /// Default 'C-'.
    pub credit_note_prefix: Option<String>,
}

/// Partial update of a segment's settings: `None` leaves a field unchanged; for the nullable
/// URLs `Some(None)` clears them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentSettingsPatch {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub locale: Option<String>,
    pub url_integrated_form: Option<Option<String>>,
    pub url_integrated_portal: Option<Option<String>>,
    pub block_renewal_without_payment_method: Option<bool>,
    pub upgrade_at_renewal: Option<bool>,
    pub invoice_prefix: Option<String>,
    pub credit_note_prefix: Option<String>,
}

pub(crate) fn from_row(r: &AnyRow) -> sqlx::Result<Segment> {
    Ok(Segment {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        reference: r.s("reference")?,
        name: r.s("name")?,
        currency: r.s("currency")?,
        time_zone: r.s("time_zone")?,
        locale: r.s("locale")?,
        is_default: r.b("is_default")?,
        url_integrated_form: r.os("url_integrated_form")?,
        url_integrated_portal: r.os("url_integrated_portal")?,
        block_renewal_without_payment_method: r.b("block_renewal_without_payment_method")?,
        upgrade_at_renewal: r.b("upgrade_at_renewal")?,
        invoice_prefix: r.s("invoice_prefix")?,
        credit_note_prefix: r.s("credit_note_prefix")?,
        next_invoice_number: r.i("next_invoice_number")?,
        next_credit_note_number: r.i("next_credit_note_number")?,
        created_at_us: r.i("created_at_us")?,
        updated_at_us: r.i("updated_at_us")?,
    })
}

/// Create a segment. If `is_default`, any previous default of the business is unset first.
/// Duplicate reference → `Conflict`.
pub async fn create(conn: &mut AnyConnection, new: &NewSegment, now_us: i64) -> Result<Segment> {
    if new.is_default {
        clear_default(conn, new.business_id, now_us).await?;
    }
    let row = sqlx::query(
        "INSERT INTO segments (business_id, reference, name, currency, time_zone, locale, \
         is_default, invoice_prefix, credit_note_prefix, created_at_us, updated_at_us) \
         VALUES ($1, $2, $3, $4, COALESCE($5, 'Europe/Paris'), COALESCE($6, 'en'), $7, \
         COALESCE($8, 'S-'), COALESCE($9, 'C-'), $10, $10) RETURNING *",
    )
    .bind(new.business_id)
    .bind(&new.reference)
    .bind(&new.name)
    .bind(&new.currency)
    .bind(new.time_zone.as_deref())
    .bind(new.locale.as_deref())
    .bind(new.is_default)
    .bind(new.invoice_prefix.as_deref())
    .bind(new.credit_note_prefix.as_deref())
    .bind(now_us)
    .fetch_one(&mut *conn)
    .await?;
    Ok(from_row(&row)?)
}

/// Create the segment, or bring name/time zone/locale/default flag/prefixes in line with `new`.
/// Changing the currency of an existing segment is refused (`Invalid`).
pub async fn upsert(
    conn: &mut AnyConnection,
    new: &NewSegment,
    now_us: i64,
) -> Result<(Segment, Written)> {
    let Some(existing) = find_by_reference(conn, new.business_id, &new.reference).await? else {
        return Ok((create(conn, new, now_us).await?, Written::Created));
    };
    if existing.currency != new.currency {
        return Err(StoreError::Invalid(format!(
            "segment {} is in {}; its currency cannot change to {}",
            existing.reference, existing.currency, new.currency
        )));
    }
    let time_zone = new
        .time_zone
        .clone()
        .unwrap_or_else(|| "Europe/Paris".into());
    let locale = new.locale.clone().unwrap_or_else(|| "en".into());
    let invoice_prefix = new.invoice_prefix.clone().unwrap_or_else(|| "S-".into());
    let credit_note_prefix = new
        .credit_note_prefix
        .clone()
        .unwrap_or_else(|| "C-".into());
    if existing.name == new.name
        && existing.time_zone == time_zone
        && existing.locale == locale
        && existing.is_default == new.is_default
        && existing.invoice_prefix == invoice_prefix
        && existing.credit_note_prefix == credit_note_prefix
    {
        return Ok((existing, Written::Unchanged));
    }
    if new.is_default && !existing.is_default {
        clear_default(conn, new.business_id, now_us).await?;
    }
    let row = sqlx::query(
        "UPDATE segments SET name = $1, time_zone = $2, locale = $3, is_default = $4, \
         invoice_prefix = $5, credit_note_prefix = $6, updated_at_us = $7 \
         WHERE business_id = $8 AND id = $9 RETURNING *",
    )
    .bind(&new.name)
    .bind(&time_zone)
    .bind(&locale)
    .bind(new.is_default)
    .bind(&invoice_prefix)
    .bind(&credit_note_prefix)
    .bind(now_us)
    .bind(existing.business_id)
    .bind(existing.id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((from_row(&row)?, Written::Updated))
}

async fn clear_default(conn: &mut AnyConnection, business_id: i64, now_us: i64) -> Result<()> {
    sqlx::query(
        "UPDATE segments SET is_default = FALSE, updated_at_us = $1 \
         WHERE business_id = $2 AND is_default = TRUE",
    )
    .bind(now_us)
    .bind(business_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Make `id` the business's default segment.
pub async fn set_default(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    now_us: i64,
) -> Result<Segment> {
    get(conn, business_id, id).await?;
    clear_default(conn, business_id, now_us).await?;
    let row = sqlx::query(
        "UPDATE segments SET is_default = TRUE, updated_at_us = $1 \
         WHERE business_id = $2 AND id = $3 RETURNING *",
    )
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(from_row(&row)?)
}

pub async fn get(conn: &mut AnyConnection, business_id: i64, id: i64) -> Result<Segment> {
    let row = sqlx::query("SELECT * FROM segments WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("segment")?;
    Ok(from_row(&row)?)
}

pub async fn find_by_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    reference: &str,
) -> Result<Option<Segment>> {
    let row = sqlx::query("SELECT * FROM segments WHERE business_id = $1 AND reference = $2")
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
) -> Result<Segment> {
    find_by_reference(conn, business_id, reference)
        .await?
        .or_not_found("segment")
}

/// The business's default segment (what an API call without `ReferenceSegment` targets).
pub async fn get_default(conn: &mut AnyConnection, business_id: i64) -> Result<Segment> {
    let row = sqlx::query("SELECT * FROM segments WHERE business_id = $1 AND is_default = TRUE")
        .bind(business_id)
        .fetch_optional(&mut *conn)
        .await?
        .or_not_found("default segment")?;
    Ok(from_row(&row)?)
}

pub async fn list(conn: &mut AnyConnection, business_id: i64) -> Result<Vec<Segment>> {
    let rows = sqlx::query("SELECT * FROM segments WHERE business_id = $1 ORDER BY id")
        .bind(business_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

pub async fn update_settings(
    conn: &mut AnyConnection,
    business_id: i64,
    id: i64,
    patch: &SegmentSettingsPatch,
    now_us: i64,
) -> Result<Segment> {
    let current = get(conn, business_id, id).await?;
    let row = sqlx::query(
        "UPDATE segments SET name = $1, time_zone = $2, locale = $3, url_integrated_form = $4, \
         url_integrated_portal = $5, block_renewal_without_payment_method = $6, \
         upgrade_at_renewal = $7, invoice_prefix = $8, credit_note_prefix = $9, \
         updated_at_us = $10 WHERE business_id = $11 AND id = $12 RETURNING *",
    )
    .bind(patch.name.as_ref().unwrap_or(&current.name))
    .bind(patch.time_zone.as_ref().unwrap_or(&current.time_zone))
    .bind(patch.locale.as_ref().unwrap_or(&current.locale))
    .bind(
        patch
            .url_integrated_form
            .as_ref()
            .unwrap_or(&current.url_integrated_form)
            .as_deref(),
    )
    .bind(
        patch
            .url_integrated_portal
            .as_ref()
            .unwrap_or(&current.url_integrated_portal)
            .as_deref(),
    )
    .bind(
        patch
            .block_renewal_without_payment_method
            .unwrap_or(current.block_renewal_without_payment_method),
    )
    .bind(
        patch
            .upgrade_at_renewal
            .unwrap_or(current.upgrade_at_renewal),
    )
    .bind(
        patch
            .invoice_prefix
            .as_ref()
            .unwrap_or(&current.invoice_prefix),
    )
    .bind(
        patch
            .credit_note_prefix
            .as_ref()
            .unwrap_or(&current.credit_note_prefix),
    )
    .bind(now_us)
    .bind(business_id)
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(from_row(&row)?)
}
