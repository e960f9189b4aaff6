//! Responses of hosted pages: the security headers every page carries, and the common page
//! frame ([`Chrome`]) the layout template reads.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::i18n::Texts;
use super::look::Look;

/// An HTML page with the portal's headers:
/// * `Content-Security-Policy: frame-ancestors 'self' <segment origins>`: only the merchant's
///   configured sites may frame the page;
/// * `Referrer-Policy: no-referrer`: session tokens in URLs never leak through `Referer`;
/// * `Cache-Control: no-store`: pages are personal;
/// * `X-Content-Type-Options: nosniff`.
pub fn html_response(status: StatusCode, csp: &str, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(h, csp);
    r
}

/// The security headers of every hosted response (pages, PDFs, redirects).
pub fn secure_headers(h: &mut axum::http::HeaderMap, csp: &str) {
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// A `303 See Other` to `location`, with the security headers.
pub fn see_other(location: &str, csp: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    secure_headers(r.headers_mut(), csp);
    r
}

/// The page frame every portal template extends (`portal/layout.html`): language, strings,
/// navigation, CSRF token, segment look. Templates reach it as `c`.
pub struct Chrome {
    pub lang: &'static str,
    pub texts: Texts,
    /// `/portal/s/{session}`: prefix of every link of the page.
    pub base: String,
    pub csrf: String,
    /// Which navigation entry is current: `subscriptions`, `invoices`, `billing`, `payment`,
    /// `offers` (or `` for none).
    pub section: &'static str,
    pub look: Arc<Look>,
    /// A test business: the sandbox banner is shown.
    pub sandbox: bool,
    /// A confirmation to show at the top (a catalogue key), after a form succeeded.
    pub notice: Option<&'static str>,
    /// The merchant's name (business name).
    pub merchant: String,
}

impl Chrome {
    /// The string for `key` in the page's language.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.texts.get(key)
    }

    /// The string for `key` with one `{name}` placeholder filled.
    pub fn tf(&self, key: &str, name: &str, value: &str) -> String {
        self.texts.fmt(key, &[(name, value)])
    }

    /// A link inside the session: `rel` is relative (`invoices`, `subscriptions/3`).
    pub fn url(&self, rel: &str) -> String {
        format!("{}/{}", self.base, rel)
    }

    /// `aria-current` for a navigation entry.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }

    pub fn css(&self) -> Option<&str> {
        self.look.css.as_deref()
    }

    pub fn header_html(&self) -> Option<&str> {
        self.look.header_html.as_deref()
    }

    pub fn footer_html(&self) -> Option<&str> {
        self.look.footer_html.as_deref()
    }

    pub fn has_logo(&self) -> bool {
        self.look.logo.is_some()
    }
}
