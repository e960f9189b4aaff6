//! [`Ctx`]: the extractor of every page under `/portal/s/{session}/...`, and [`PortalForm`],
//! the one of every POST (it checks the CSRF token before the handler runs).
//!
//! The extractor verifies the session token, loads the business and the customer, refuses
//! a revoked session (links epoch changed) or a suspended customer, picks the language
//! (customer, then segment, then business) and signs the refreshed session token that every
//! link of the page will carry (sliding expiry).

use std::sync::Arc;

use abo_core::Locale;
use abo_store::businesses::{self, Business};
use abo_store::customers::{self, Customer};
use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use jiff::tz::TimeZone;
use serde::de::DeserializeOwned;

use super::error::{ErrorKind, PortalError, PortalErrorKindOnly};
use super::format;
use super::i18n::{self, Texts};
use super::look::Look;
use super::render::{Chrome, html_response, see_other};
use super::session::{SESSION_TTL_SECS, SessionClaims};
use crate::AppState;

/// Path prefix of session pages.
pub const SESSION_PREFIX: &str = "/portal/s/";

/// Everything a portal handler needs about the request's customer.
pub struct Ctx {
    pub state: AppState,
    pub business: Business,
    pub customer: Customer,
    pub look: Arc<Look>,
    pub claims: SessionClaims,
    /// The refreshed session token (links of this page carry it).
    pub session: String,
    pub csrf: String,
    pub locale: Locale,
    pub texts: Texts,
    /// The segment's time zone (dates are shown in it).
    pub tz: TimeZone,
    /// Business time (its test clock when it has one), epoch microseconds.
    pub now_us: i64,
}

impl Ctx {
    /// `/portal/s/{session}`.
    pub fn base(&self) -> String {
        format!("{SESSION_PREFIX}{}", self.session)
    }

    /// A link inside the session (`rel` relative, e.g. `invoices`).
    pub fn url(&self, rel: &str) -> String {
        format!("{SESSION_PREFIX}{}/{rel}", self.session)
    }

    /// The page frame for a section (`subscriptions`, `invoices`, `billing`, `payment`,
    /// `offers`, or `""`).
    pub fn chrome(&self, section: &'static str) -> Chrome {
        Chrome {
            lang: self.locale.as_str(),
            texts: self.texts.clone(),
            base: self.base(),
            csrf: self.csrf.clone(),
            section,
            look: self.look.clone(),
            sandbox: self.business.is_test,
            notice: None,
            merchant: self.business.name.clone(),
        }
    }

    /// An error page for this customer (its language, its segment's framing), with a link
    /// back to the portal home.
    pub fn error(&self, kind: ErrorKind) -> PortalError {
        PortalError::new(kind, self.locale)
            .with_look(self.look.clone())
            .with_back(self.url("home"))
    }

    /// The error page of a failed use case (`NotFound` → 404, anything else logged → 500).
    pub fn fail(&self, e: abo_service::ServiceError) -> PortalError {
        let PortalErrorKindOnly(kind) = e.into();
        self.error(kind)
    }

    /// Renders a template as a 200 page with the portal's headers.
    pub fn render<T: Template>(&self, page: &T) -> Response {
        self.render_status(StatusCode::OK, page)
    }

    pub fn render_status<T: Template>(&self, status: StatusCode, page: &T) -> Response {
        match page.render() {
            Ok(html) => html_response(status, &self.look.csp, html),
            Err(e) => {
                axum::response::IntoResponse::into_response(PortalError::internal(e, self.locale))
            }
        }
    }

    /// `303` to a page of the session (after a POST: post/redirect/get).
    pub fn redirect(&self, rel: &str) -> Response {
        see_other(&self.url(rel), &self.look.csp)
    }

    /// An amount in the page's language.
    pub fn money(&self, minor: i64, currency: &str) -> String {
        format::money(minor, currency, self.locale)
    }

    /// An instant as a local date of the segment, in the page's language.
    pub fn date_us(&self, us: i64) -> String {
        format::instant(us, &self.tz, self.locale)
    }

    pub fn date(&self, d: jiff::civil::Date) -> String {
        format::date(d, self.locale)
    }

    /// Re-reads the customer (after a use case changed it).
    pub async fn reload_customer(&mut self) -> Result<(), PortalError> {
        let mut conn = self
            .state
            .store
            .acquire()
            .await
            .map_err(|e| PortalError::internal(e, self.locale))?;
        self.customer = customers::get(&mut conn, self.business.id, self.customer.id)
            .await
            .map_err(|e| PortalError::internal(e, self.locale))?;
        Ok(())
    }
}

/// The node's clock in unix seconds (sessions expire in real time, whatever a business's
/// test clock says).
pub(crate) fn node_now_s(state: &AppState) -> i64 {
    state.clock.now().as_second()
}

/// Signs a new session for a customer (at landing).
pub async fn start_session(state: &AppState, customer: &Customer) -> Option<String> {
    let claims = SessionClaims {
        business_id: customer.business_id,
        customer_id: customer.id,
        epoch: abo_service::customers::links_epoch(customer),
        nonce: super::session::new_nonce(),
        expires_at: node_now_s(state) + SESSION_TTL_SECS,
    };
    state.portal.sessions.sign(state, &claims).await
}

fn session_token(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(SESSION_PREFIX)?;
    Some(rest.split('/').next().unwrap_or(rest))
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, PortalError> {
        let accept = parts
            .headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let fallback = i18n::from_accept_language(accept);
        let session_expired = || PortalError::new(ErrorKind::SessionExpired, fallback);
        let token = session_token(parts.uri.path()).ok_or_else(session_expired)?;
        let claims = state
            .portal
            .sessions
            .verify(state, token, node_now_s(state))
            .await
            .map_err(|_| session_expired())?;
        let internal = |e: &dyn std::fmt::Display| PortalError::internal(e, fallback);
        let mut conn = state.store.acquire().await.map_err(|e| internal(&e))?;
        let business = businesses::get(&mut conn, claims.business_id)
            .await
            .map_err(|_| session_expired())?;
        let customer = customers::get(&mut conn, claims.business_id, claims.customer_id)
            .await
            .map_err(|_| session_expired())?;
        drop(conn);
        let look = state
            .portal
            .looks
            .get(state, business.id, customer.segment_id)
            .await
            .map_err(|e| internal(&e))?;
        let locale = i18n::choose_locale(
            customer.language.as_deref(),
            Some(look.segment.locale.as_str()),
            Some(business.default_language.as_str()),
        );
        let page_error = |kind| PortalError::new(kind, locale).with_look(look.clone());
        if claims.epoch != abo_service::customers::links_epoch(&customer) {
            return Err(page_error(ErrorKind::RevokedLink));
        }
        if !abo_service::customers::can_open_links(&customer) {
            return Err(page_error(ErrorKind::Suspended));
        }
        let refreshed = SessionClaims {
            expires_at: node_now_s(state) + SESSION_TTL_SECS,
            ..claims
        };
        let session = state
            .portal
            .sessions
            .sign(state, &refreshed)
            .await
            .ok_or_else(|| page_error(ErrorKind::Internal))?;
        let csrf = state
            .portal
            .sessions
            .csrf(state, &claims)
            .await
            .ok_or_else(|| page_error(ErrorKind::Internal))?;
        let now_us = state.now_us(&business);
        Ok(Ctx {
            texts: look.texts(locale),
            tz: format::time_zone(&look.segment.time_zone),
            state: state.clone(),
            business,
            customer,
            look,
            claims,
            session,
            csrf,
            locale,
            now_us,
        })
    }
}

/// A POST form of a portal page: the [`Ctx`] and the form, after checking the `csrf` field
/// against the session (403 page otherwise). Every portal form must carry
/// `<input type="hidden" name="csrf" value="{{ c.csrf }}">`.
pub struct PortalForm<T>(pub Ctx, pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PortalForm<T> {
    type Rejection = PortalError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PortalError> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
            .await
            .map_err(|_| ctx.error(ErrorKind::Csrf))?;
        let field: CsrfField =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| ctx.error(ErrorKind::Csrf))?;
        if field.csrf.is_empty()
            || !state
                .portal
                .sessions
                .check_csrf(state, &ctx.claims, &field.csrf)
                .await
        {
            return Err(ctx.error(ErrorKind::Csrf));
        }
        let form: T = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            tracing::debug!(error = %e, "portal form did not parse");
            ctx.error(ErrorKind::Csrf)
        })?;
        Ok(PortalForm(ctx, form))
    }
}
