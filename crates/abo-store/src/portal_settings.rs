//! The hosted pages' per-segment settings (frame origins, CSS, header/footer HTML, logo), the
//! per-segment overrides of the portal's strings, and the payment-form failure counter that
//! grey-lists a customer.
//!
//! Validation (origins, sanitising HTML, logo size) is the service's job; this module stores
//! what it is given.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::Result;
use crate::row::RowExt;

/// A segment's portal look and framing. `Default` is "not customised".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PortalSettings {
    /// Extra origins allowed to frame the pages, space-separated.
    pub frame_origins: Option<String>,
    pub css: Option<String>,
    pub header_html: Option<String>,
    pub footer_html: Option<String>,
    pub logo_mime: Option<String>,
    #[serde(skip)]
    pub logo_base64: Option<String>,
}

fn from_row(r: &AnyRow) -> sqlx::Result<PortalSettings> {
    Ok(PortalSettings {
        frame_origins: r.os("frame_origins")?,
        css: r.os("css")?,
        header_html: r.os("header_html")?,
        footer_html: r.os("footer_html")?,
        logo_mime: r.os("logo_mime")?,
        logo_base64: r.os("logo_base64")?,
    })
}

/// The segment's settings (defaults when it never customised its portal).
pub async fn get(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<PortalSettings> {
    let row = sqlx::query(
        "SELECT * FROM portal_segment_settings WHERE business_id = $1 AND segment_id = $2",
    )
    .bind(business_id)
    .bind(segment_id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => from_row(&r)?,
        None => PortalSettings::default(),
    })
}

/// Replaces the segment's settings.
pub async fn put(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    s: &PortalSettings,
    now_us: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO portal_segment_settings (business_id, segment_id, frame_origins, css, \
         header_html, footer_html, logo_mime, logo_base64, updated_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (business_id, segment_id) DO UPDATE SET frame_origins = excluded.frame_origins, \
         css = excluded.css, header_html = excluded.header_html, footer_html = excluded.footer_html, \
         logo_mime = excluded.logo_mime, logo_base64 = excluded.logo_base64, \
         updated_at_us = excluded.updated_at_us",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(&s.frame_origins)
    .bind(&s.css)
    .bind(&s.header_html)
    .bind(&s.footer_html)
    .bind(&s.logo_mime)
    .bind(&s.logo_base64)
    .bind(now_us)
    .execute(conn)
    .await?;
    Ok(())
}

/// One overridden string.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortalText {
    pub language: String,
    pub key: String,
    pub value: String,
}

/// Every overridden string of the segment, all languages.
pub async fn texts(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<Vec<PortalText>> {
    let rows = sqlx::query(
        "SELECT language, text_key, value FROM portal_texts \
         WHERE business_id = $1 AND segment_id = $2 ORDER BY language, text_key",
    )
    .bind(business_id)
    .bind(segment_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PortalText {
                language: r.s("language")?,
                key: r.s("text_key")?,
                value: r.s("value")?,
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(Into::into)
}

/// Sets (or, with `None`, removes) the override of one string in one language.
pub async fn set_text(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    language: &str,
    key: &str,
    value: Option<&str>,
    now_us: i64,
) -> Result<()> {
    match value {
        Some(v) => {
            sqlx::query(
                "INSERT INTO portal_texts (business_id, segment_id, language, text_key, value, \
                 updated_at_us) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (business_id, segment_id, language, text_key) \
                 DO UPDATE SET value = excluded.value, updated_at_us = excluded.updated_at_us",
            )
            .bind(business_id)
            .bind(segment_id)
            .bind(language)
            .bind(key)
            .bind(v)
            .bind(now_us)
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query(
                "DELETE FROM portal_texts WHERE business_id = $1 AND segment_id = $2 \
                 AND language = $3 AND text_key = $4",
            )
            .bind(business_id)
            .bind(segment_id)
            .bind(language)
            .bind(key)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// Counts one more declined registration; returns the new count.
pub async fn add_payment_failure(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
    now_us: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO portal_payment_failures (business_id, customer_id, count, updated_at_us) \
         VALUES ($1, $2, 1, $3) ON CONFLICT (business_id, customer_id) \
         DO UPDATE SET count = portal_payment_failures.count + 1, \
         updated_at_us = excluded.updated_at_us RETURNING count",
    )
    .bind(business_id)
    .bind(customer_id)
    .bind(now_us)
    .fetch_one(conn)
    .await?;
    Ok(row.i("count")?)
}

/// Forgets the failures (a registration succeeded, or the merchant removed the grey-listing).
pub async fn reset_payment_failures(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM portal_payment_failures WHERE business_id = $1 AND customer_id = $2")
        .bind(business_id)
        .bind(customer_id)
        .execute(conn)
        .await?;
    Ok(())
}
