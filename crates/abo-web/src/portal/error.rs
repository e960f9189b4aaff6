//! The portal's error page: a clear explanation in the customer's language, the right status,
//! never a stack trace. Internal details are logged, never shown.

use std::sync::Arc;

use abo_core::Locale;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::i18n::Texts;
use super::look::{CSP_SELF_ONLY, Look};
use super::render::html_response;

/// Why a portal page cannot be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed, forged or altered link (or one for another page/business).
    InvalidLink,
    /// The link's lifetime is over.
    ExpiredLink,
    /// The link was revoked (links epoch bumped: revocation, invalidation, anonymisation).
    RevokedLink,
    /// The customer is suspended.
    Suspended,
    /// The portal session is older than its sliding hour (or not ours).
    SessionExpired,
    /// A POST without the session's CSRF token.
    Csrf,
    /// The subscription/invoice does not exist or is not this customer's.
    NotFound,
    /// Anything else (logged).
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::InvalidLink => StatusCode::BAD_REQUEST,
            ErrorKind::ExpiredLink | ErrorKind::SessionExpired => StatusCode::GONE,
            ErrorKind::RevokedLink | ErrorKind::Suspended | ErrorKind::Csrf => {
                StatusCode::FORBIDDEN
            }
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code, also put in the page (`data-error`) for tests and
    /// for merchants' scripts.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidLink => "invalid",
            ErrorKind::ExpiredLink => "expired",
            ErrorKind::RevokedLink => "revoked",
            ErrorKind::Suspended => "suspended",
            ErrorKind::SessionExpired => "session",
            ErrorKind::Csrf => "csrf",
            ErrorKind::NotFound => "notfound",
            ErrorKind::Internal => "internal",
        }
    }

    fn keys(self) -> (&'static str, &'static str) {
        match self {
            ErrorKind::InvalidLink => ("error.invalid.title", "error.invalid.text"),
            ErrorKind::ExpiredLink => ("error.expired.title", "error.expired.text"),
            ErrorKind::RevokedLink => ("error.revoked.title", "error.revoked.text"),
            ErrorKind::Suspended => ("error.suspended.title", "error.suspended.text"),
            ErrorKind::SessionExpired => ("error.session.title", "error.session.text"),
            ErrorKind::Csrf => ("error.csrf.title", "error.csrf.text"),
            ErrorKind::NotFound => ("error.notfound.title", "error.notfound.text"),
            ErrorKind::Internal => ("error.internal.title", "error.internal.text"),
        }
    }
}

/// An error page to render: the kind, the language, and the segment when known (for its
/// framing policy, look and overridden strings).
#[derive(Clone)]
pub struct PortalError {
    pub kind: ErrorKind,
    pub locale: Locale,
    pub look: Option<Arc<Look>>,
    /// A link back into the portal, when the session is still good.
    pub back: Option<String>,
}

impl std::fmt::Debug for PortalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalError")
            .field("kind", &self.kind)
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

impl PortalError {
    pub fn new(kind: ErrorKind, locale: Locale) -> PortalError {
        PortalError {
            kind,
            locale,
            look: None,
            back: None,
        }
    }

    pub fn with_look(mut self, look: Arc<Look>) -> PortalError {
        self.look = Some(look);
        self
    }

    pub fn with_back(mut self, back: String) -> PortalError {
        self.back = Some(back);
        self
    }

    /// Logs an internal failure and returns the generic error page.
    pub fn internal(detail: impl std::fmt::Display, locale: Locale) -> PortalError {
        tracing::error!(error = %detail, "portal page failed");
        PortalError::new(ErrorKind::Internal, locale)
    }
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage<'a> {
    lang: &'a str,
    texts: Texts,
    code: &'a str,
    title_key: &'a str,
    text_key: &'a str,
    back: Option<&'a str>,
    css: Option<&'a str>,
}

impl ErrorPage<'_> {
    fn t<'k>(&'k self, key: &'k str) -> &'k str {
        self.texts.get(key)
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let texts = match &self.look {
            Some(look) => look.texts(self.locale),
            None => Texts::builtin(self.locale),
        };
        let (title_key, text_key) = self.kind.keys();
        let page = ErrorPage {
            lang: self.locale.as_str(),
            texts,
            code: self.kind.code(),
            title_key,
            text_key,
            back: self.back.as_deref(),
            css: self.look.as_ref().and_then(|l| l.css.as_deref()),
        };
        let csp = self
            .look
            .as_ref()
            .map(|l| l.csp.as_str())
            .unwrap_or(CSP_SELF_ONLY);
        match page.render() {
            Ok(html) => html_response(self.kind.status(), csp, html),
            Err(e) => {
                tracing::error!(error = %e, "portal error page failed to render");
                (self.kind.status(), self.kind.code()).into_response()
            }
        }
    }
}

impl From<abo_service::ServiceError> for PortalErrorKindOnly {
    fn from(e: abo_service::ServiceError) -> Self {
        match e {
            abo_service::ServiceError::NotFound(_) => PortalErrorKindOnly(ErrorKind::NotFound),
            other => {
                tracing::error!(error = %other, "portal use case failed");
                PortalErrorKindOnly(ErrorKind::Internal)
            }
        }
    }
}

/// A service error reduced to the error page it shows (`NotFound` → 404, anything else is
/// logged and shown as the generic page); see `Ctx::fail`.
pub struct PortalErrorKindOnly(pub ErrorKind);
