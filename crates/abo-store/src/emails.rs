//! Customer e-mails (spec §1.12): which types a segment sends, the merchant's own wording of
//! them, and the record of every e-mail job's outcome.
//!
//! The record's natural key is the outbox job's: it is written once per e-mail, whatever the
//! number of nodes, and a job that runs again finds it and sends nothing.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::Result;
use crate::row::RowExt;

/// Whether e-mail type `template` is switched on for the segment (off unless a row says so).
pub async fn is_enabled(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    template: &str,
) -> Result<bool> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM segment_email_types \
         WHERE business_id = $1 AND segment_id = $2 AND template = $3",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(template)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// The e-mail types switched on for the segment, sorted.
pub async fn enabled_types(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT template FROM segment_email_types WHERE business_id = $1 AND segment_id = $2 \
         ORDER BY template",
    )
    .bind(business_id)
    .bind(segment_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.s("template"))
        .collect::<sqlx::Result<_>>()?)
}

/// Switches type `template` on or off for the segment. Idempotent.
pub async fn set_enabled(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    template: &str,
    enabled: bool,
    now_us: i64,
) -> Result<()> {
    if enabled {
        sqlx::query(
            "INSERT INTO segment_email_types (business_id, segment_id, template, created_at_us) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(business_id)
        .bind(segment_id)
        .bind(template)
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(
            "DELETE FROM segment_email_types \
             WHERE business_id = $1 AND segment_id = $2 AND template = $3",
        )
        .bind(business_id)
        .bind(segment_id)
        .bind(template)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A merchant's wording of one type in one language; `None` parts keep Abo's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TemplateOverride {
    pub subject: Option<String>,
    pub body_html: Option<String>,
    pub body_text: Option<String>,
}

/// The segment's override of `template` in `language`, if any.
pub async fn template_override(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    template: &str,
    language: &str,
) -> Result<Option<TemplateOverride>> {
    let row = sqlx::query(
        "SELECT subject, body_html, body_text FROM segment_email_templates \
         WHERE business_id = $1 AND segment_id = $2 AND template = $3 AND language = $4",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(template)
    .bind(language)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row
        .map(|r| -> sqlx::Result<TemplateOverride> {
            Ok(TemplateOverride {
                subject: r.os("subject")?,
                body_html: r.os("body_html")?,
                body_text: r.os("body_text")?,
            })
        })
        .transpose()?)
}

/// Stores (replaces) the segment's override of `template` in `language`; an override with
/// every part `None` removes it.
pub async fn set_template_override(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    template: &str,
    language: &str,
    value: &TemplateOverride,
    now_us: i64,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM segment_email_templates \
         WHERE business_id = $1 AND segment_id = $2 AND template = $3 AND language = $4",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(template)
    .bind(language)
    .execute(&mut *conn)
    .await?;
    if value == &TemplateOverride::default() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO segment_email_templates (business_id, segment_id, template, language, \
         subject, body_html, body_text, updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(business_id)
    .bind(segment_id)
    .bind(template)
    .bind(language)
    .bind(value.subject.as_deref())
    .bind(value.body_html.as_deref())
    .bind(value.body_text.as_deref())
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What became of one e-mail job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SentEmail {
    pub id: i64,
    pub business_id: i64,
    pub natural_key: String,
    pub job_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub template: String,
    pub language: String,
    /// `Sent`, `Disabled` or `NoRecipient`.
    pub state: String,
    pub recipient: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSentEmail {
    pub business_id: i64,
    pub natural_key: String,
    pub job_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub template: String,
    pub language: String,
    pub state: String,
    pub recipient: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
}

fn from_row(r: &AnyRow) -> sqlx::Result<SentEmail> {
    Ok(SentEmail {
        id: r.i("id")?,
        business_id: r.i("business_id")?,
        natural_key: r.s("natural_key")?,
        job_id: r.oi("job_id")?,
        customer_id: r.oi("customer_id")?,
        template: r.s("template")?,
        language: r.s("language")?,
        state: r.s("state")?,
        recipient: r.os("recipient")?,
        subject: r.os("subject")?,
        message_id: r.os("message_id")?,
        created_at_us: r.i("created_at_us")?,
    })
}

/// Records an e-mail job's outcome. `false` when one was already recorded under this natural
/// key (nothing written).
pub async fn record(conn: &mut AnyConnection, new: &NewSentEmail, now_us: i64) -> Result<bool> {
    let row = sqlx::query(
        "INSERT INTO sent_emails (business_id, natural_key, job_id, customer_id, template, \
         language, state, recipient, subject, message_id, created_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (business_id, natural_key) DO NOTHING RETURNING id",
    )
    .bind(new.business_id)
    .bind(&new.natural_key)
    .bind(new.job_id)
    .bind(new.customer_id)
    .bind(&new.template)
    .bind(&new.language)
    .bind(&new.state)
    .bind(new.recipient.as_deref())
    .bind(new.subject.as_deref())
    .bind(new.message_id.as_deref())
    .bind(now_us)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// The record of the e-mail job with this natural key, if it ran.
pub async fn find_by_natural_key(
    conn: &mut AnyConnection,
    business_id: i64,
    natural_key: &str,
) -> Result<Option<SentEmail>> {
    let row = sqlx::query("SELECT * FROM sent_emails WHERE business_id = $1 AND natural_key = $2")
        .bind(business_id)
        .bind(natural_key)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// A customer's e-mail history, newest first.
pub async fn list_for_customer(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
    limit: i64,
) -> Result<Vec<SentEmail>> {
    let rows = sqlx::query(
        "SELECT * FROM sent_emails WHERE business_id = $1 AND customer_id = $2 \
         ORDER BY created_at_us DESC, id DESC LIMIT $3",
    )
    .bind(business_id)
    .bind(customer_id)
    .bind(limit.clamp(1, 1000))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}
