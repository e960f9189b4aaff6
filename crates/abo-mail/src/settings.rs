//! Switching e-mail types on and off per segment (ProAbono: Settings → Client Emails →
//! Selection of Automatic Emails; all off by default).

use abo_store::{AnyConnection, emails};

use crate::error::MailError;
use crate::types::EmailType;

/// Switches `kind` on or off for the segment.
pub async fn set_enabled(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    kind: EmailType,
    enabled: bool,
    now_us: i64,
) -> Result<(), MailError> {
    abo_store::segments::get(conn, business_id, segment_id).await?;
    emails::set_enabled(conn, business_id, segment_id, kind.name(), enabled, now_us).await?;
    Ok(())
}

/// Switches every type on for the segment (what `abo demo` does).
pub async fn enable_all(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    now_us: i64,
) -> Result<(), MailError> {
    for kind in EmailType::ALL {
        set_enabled(conn, business_id, segment_id, kind, true, now_us).await?;
    }
    Ok(())
}

/// The types switched on for the segment.
pub async fn enabled(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<Vec<EmailType>, MailError> {
    Ok(emails::enabled_types(conn, business_id, segment_id)
        .await?
        .iter()
        .filter_map(|name| EmailType::parse(name))
        .collect())
}
