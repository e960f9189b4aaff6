//! A segment's customer e-mails (spec §1.12), as an admin API in the style of ProAbono's
//! Backoffice API (our addition), authenticated like API Live:
//!
//! - `GET /Organization/Segments/{ReferenceSegment}/Emails` → every type's settings;
//! - `GET /Organization/Segments/{ReferenceSegment}/Emails/{Type}` → one type's:
//!   `{Type, Automatic, Enabled, Templates: [{Language, Subject, BodyHtml, BodyText}]}`;
//! - `PUT` on the same path `{Enabled?, Templates?}` switches the type on or off and replaces
//!   the merchant's wording (`Templates` is the complete set: a language left out goes back
//!   to Abo's). An unknown type or language is a 422 naming it; a template that does not
//!   render is a 422 carrying minijinja's message, and nothing is stored.
//!
//! Paths are matched as spelled here and in lower case.

use crate::AppState;
use crate::api::auth::Caller;
use crate::api::body::JsonBody;
use crate::api::error::{ApiError, ApiResult};
use abo_mail::EmailType;
use abo_mail::settings::{self, TypeSettings, TypeSettingsUpdate};
use abo_store::emails::TemplateOverride;
use abo_store::{StoreError, segments};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    let paths: [(&str, axum::routing::MethodRouter<AppState>); 2] = [
        ("/Organization/Segments/{segment}/Emails", get(list)),
        (
            "/Organization/Segments/{segment}/Emails/{kind}",
            get(show).put(update),
        ),
    ];
    for (path, method) in paths {
        router = router.route(path, method.clone());
        router = router.route(&path.to_ascii_lowercase(), method);
    }
    router
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TemplateDto {
    language: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    body_html: Option<String>,
    #[serde(default)]
    body_text: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EmailSettingsDto {
    #[serde(rename = "Type")]
    kind: &'static str,
    /// Sent on events (and switchable), or sent on request (`HostedLinkSent`).
    automatic: bool,
    enabled: bool,
    templates: Vec<TemplateDto>,
}

impl From<TypeSettings> for EmailSettingsDto {
    fn from(s: TypeSettings) -> EmailSettingsDto {
        EmailSettingsDto {
            kind: s.kind.name(),
            automatic: s.kind.is_automatic(),
            enabled: s.enabled,
            templates: s
                .templates
                .into_iter()
                .map(|(locale, t)| TemplateDto {
                    language: locale.to_string(),
                    subject: t.subject,
                    body_html: t.body_html,
                    body_text: t.body_text,
                })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    templates: Option<Vec<TemplateDto>>,
}

async fn segment_id(state: &AppState, business_id: i64, reference: &str) -> ApiResult<i64> {
    let mut conn = state.store.acquire().await?;
    match segments::get_by_reference(&mut conn, business_id, reference).await {
        Ok(segment) => Ok(segment.id),
        Err(StoreError::NotFound(_)) => Err(ApiError::not_found(format!(
            "segment {reference:?} not found"
        ))),
        Err(e) => Err(e.into()),
    }
}

fn kind_of(name: &str) -> ApiResult<EmailType> {
    Ok(settings::parse_type(name)?)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(segment): Path<String>,
) -> ApiResult<Json<Vec<EmailSettingsDto>>> {
    let segment_id = segment_id(&state, caller.business_id(), &segment).await?;
    let mut conn = state.store.acquire().await?;
    let mut all = Vec::new();
    for kind in EmailType::ALL.into_iter().chain(EmailType::ON_REQUEST) {
        let found =
            settings::type_settings(&mut conn, caller.business_id(), segment_id, kind).await?;
        all.push(found.into());
    }
    Ok(Json(all))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((segment, kind)): Path<(String, String)>,
) -> ApiResult<Json<EmailSettingsDto>> {
    let kind = kind_of(&kind)?;
    let segment_id = segment_id(&state, caller.business_id(), &segment).await?;
    let mut conn = state.store.acquire().await?;
    let found = settings::type_settings(&mut conn, caller.business_id(), segment_id, kind).await?;
    Ok(Json(found.into()))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((segment, kind)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult<Json<EmailSettingsDto>> {
    let kind = kind_of(&kind)?;
    let body: UpdateBody = body.parse()?;
    let templates = match body.templates {
        Some(list) => {
            let mut parsed = Vec::with_capacity(list.len());
            for t in list {
                let locale = settings::parse_language(&t.language)?;
                let custom = TemplateOverride {
                    subject: t.subject,
                    body_html: t.body_html,
                    body_text: t.body_text,
                };
                parsed.push((locale, custom));
            }
            Some(parsed)
        }
        None => None,
    };
    let segment_id = segment_id(&state, caller.business_id(), &segment).await?;
    let update = TypeSettingsUpdate {
        enabled: body.enabled,
        templates,
    };
    // Switch and templates change together or not at all.
    let mut tx = state.store.begin().await?;
    let stored = settings::update_type(
        &mut tx,
        caller.business_id(),
        segment_id,
        kind,
        &update,
        caller.now_us,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Json(stored.into()))
}

/// These routes in the OpenAPI document served at `/v1/openapi.json`.
pub fn openapi_paths() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let types: Vec<&str> = EmailType::ALL
        .into_iter()
        .chain(EmailType::ON_REQUEST)
        .map(EmailType::name)
        .collect();
    let template = json!({"type": "object", "required": ["Language"], "properties": {
        "Language": {"type": "string", "enum": ["en", "fr"]},
        "Subject": {"type": "string", "nullable": true, "description": "A minijinja template; null keeps Abo's"},
        "BodyHtml": {"type": "string", "nullable": true, "description": "A minijinja template of the whole HTML body; variables are escaped"},
        "BodyText": {"type": "string", "nullable": true, "description": "A minijinja template of the whole plain-text body"}
    }});
    let settings = json!({"type": "object", "properties": {
        "Type": {"type": "string", "enum": types},
        "Automatic": {"type": "boolean", "description": "Sent on events and switchable; false for HostedLinkSent (sent on request, always on)"},
        "Enabled": {"type": "boolean"},
        "Templates": {"type": "array", "items": template}
    }});
    let segment = json!({"name": "segment", "in": "path", "required": true,
                         "description": "The segment's ReferenceSegment", "schema": {"type": "string"}});
    let kind = json!({"name": "kind", "in": "path", "required": true,
                      "schema": {"type": "string", "enum": types}});
    vec![
        (
            "/Organization/Segments/{segment}/Emails",
            json!({"get": {
                "operationId": "aboSegmentEmails",
                "tags": ["Abo"],
                "summary": "Every customer e-mail type's settings in a segment (Abo's addition)",
                "parameters": [segment],
                "responses": {
                    "200": {"description": "The settings", "content": {"application/json": {"schema": {"type": "array", "items": settings}}}},
                    "404": {"description": "No such segment"}
                }
            }}),
        ),
        (
            "/Organization/Segments/{segment}/Emails/{kind}",
            json!({
                "get": {
                    "operationId": "aboSegmentEmail",
                    "tags": ["Abo"],
                    "summary": "One e-mail type's settings in a segment (Abo's addition)",
                    "parameters": [segment, kind],
                    "responses": {
                        "200": {"description": "The settings", "content": {"application/json": {"schema": settings}}},
                        "404": {"description": "No such segment"},
                        "422": {"description": "Unknown type"}
                    }
                },
                "put": {
                    "operationId": "aboUpdateSegmentEmail",
                    "tags": ["Abo"],
                    "summary": "Switch an e-mail type on or off and set its wording per language (Abo's addition)",
                    "description": "Templates is the complete set: a language left out goes back to Abo's wording. Templates are rendered before they are stored: one that does not render is a 422 with minijinja's message, and nothing is stored.",
                    "parameters": [segment, kind],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "properties": {
                            "Enabled": {"type": "boolean"},
                            "Templates": {"type": "array", "items": template}
                        }
                    }}}},
                    "responses": {
                        "200": {"description": "The stored settings", "content": {"application/json": {"schema": settings}}},
                        "404": {"description": "No such segment"},
                        "422": {"description": "Unknown type or language, a template that does not render, or HostedLinkSent switched off"}
                    }
                }
            }),
        ),
    ]
}
