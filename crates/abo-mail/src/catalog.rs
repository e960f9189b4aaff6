//! The catalogue import with its e-mail part (`[segment.emails]`), in one transaction:
//! `abo_service::catalog::import_catalog_in` stores segments, offers and the rest, then each
//! segment's e-mail switches and templates are checked and stored here (this crate knows
//! the types and renders the templates). Anything wrong and nothing is changed.
//!
//! ```toml
//! [[segment]]
//! reference = "demo-eur"
//! currency = "EUR"
//! [segment.emails]
//! enabled = ["InvoiceNewPaid", "CardExpiresSoon"]   # or ["all"]; the others are off
//! [[segment.emails.template]]
//! type = "InvoiceNewPaid"
//! language = "fr"
//! subject = "Votre facture {{ invoice_number }} est réglée"
//! ```

use std::path::Path;

use abo_service::ServiceError;
use abo_service::catalog::file::{CatalogFile, SegmentEmails};
use abo_service::catalog::{ImportReport, import_catalog_in, parse_catalog};
use abo_store::emails::TemplateOverride;
use abo_store::{AnyConnection, Store, segments};

use crate::error::MailError;
use crate::settings::{self, TypeSettingsUpdate};
use crate::types::EmailType;

/// Reads and imports a catalogue file (what `abo import` runs).
pub async fn import_catalog_file(
    store: &Store,
    business_id: i64,
    path: &Path,
    now_us: i64,
) -> Result<ImportReport, MailError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServiceError::invalid(format!("cannot read {}: {e}", path.display())))?;
    let file = parse_catalog(&text).map_err(|e| match e {
        ServiceError::Invalid(m) => {
            ServiceError::Invalid(vec![format!("{}: {}", path.display(), m.join("; "))])
        }
        other => other,
    })?;
    import_catalog(store, business_id, &file, now_us).await
}

/// Imports a parsed catalogue, e-mail settings included, in one transaction.
pub async fn import_catalog(
    store: &Store,
    business_id: i64,
    file: &CatalogFile,
    now_us: i64,
) -> Result<ImportReport, MailError> {
    let mut tx = store.begin().await?;
    let conn: &mut AnyConnection = &mut tx;
    let report = import_catalog_in(conn, business_id, file, now_us).await?;
    for segment in &file.segment {
        if let Some(emails) = &segment.emails {
            let stored = segments::get_by_reference(conn, business_id, &segment.reference).await?;
            apply(conn, business_id, stored.id, emails, now_us)
                .await
                .map_err(|e| match e {
                    MailError::Invalid { field, message } => MailError::Invalid {
                        field,
                        message: format!("segment {} e-mails: {message}", segment.reference),
                    },
                    other => other,
                })?;
        }
    }
    tx.commit().await.map_err(abo_store::StoreError::from)?;
    Ok(report)
}

/// Makes the segment's e-mails exactly what `emails` says: the listed types on, the others
/// off; the listed templates stored, the others back to Abo's wording.
async fn apply(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
    emails: &SegmentEmails,
    now_us: i64,
) -> Result<(), MailError> {
    let all = emails.enabled.iter().any(|t| t.eq_ignore_ascii_case("all"));
    let mut enabled = Vec::new();
    for name in emails
        .enabled
        .iter()
        .filter(|t| !t.eq_ignore_ascii_case("all"))
    {
        let kind = settings::parse_type(name)?;
        if !kind.is_automatic() {
            return Err(MailError::Invalid {
                field: "enabled".into(),
                message: format!("{kind} is sent on request and is always on"),
            });
        }
        enabled.push(kind);
    }
    let mut templates: Vec<(EmailType, Vec<_>)> = Vec::new();
    for entry in &emails.template {
        let kind = settings::parse_type(&entry.email_type)?;
        let locale = settings::parse_language(&entry.language)?;
        let custom = TemplateOverride {
            subject: entry.subject.clone(),
            body_html: entry.body_html.clone(),
            body_text: entry.body_text.clone(),
        };
        match templates.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, list)) => list.push((locale, custom)),
            None => templates.push((kind, vec![(locale, custom)])),
        }
    }
    for kind in EmailType::ALL.into_iter().chain(EmailType::ON_REQUEST) {
        let update = TypeSettingsUpdate {
            enabled: kind.is_automatic().then(|| all || enabled.contains(&kind)),
            templates: Some(
                templates
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, list)| list.clone())
                    .unwrap_or_default(),
            ),
        };
        settings::update_type(conn, business_id, segment_id, kind, &update, now_us).await?;
    }
    Ok(())
}
