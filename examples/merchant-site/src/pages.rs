//! The shop's pages: home, sign-in, sign-out and the 'Subscription' page.

use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use abo_merchant::iframe::escape_attr_into;
use abo_merchant::{CustomerRequest, Expect, FallbackReason, IframeSnippet, crylk_from_query};

use crate::Site;
use crate::config::DemoUser;

pub(crate) fn routes() -> Router<Site> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/subscription", get(subscription))
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_attr_into(text, &mut out);
    out
}

/// Percent-encodes a query component (RFC 3986 unreserved bytes kept).
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A local path to return to after sign-in; anything else (another site, `//host`,
/// backslashes, control characters) becomes `/`, so the sign-in page is no open redirect.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b'\\') =>
        {
            n
        }
        _ => "/",
    }
}

fn see_other(location: &str, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

fn page(site: &Site, title: &str, user: Option<&DemoUser>, body: &str) -> Response {
    let shop = esc(&site.config().shop_name);
    let who = match user {
        Some(u) => format!(
            "<span class=\"who\">Signed in as <strong>{}</strong></span>\
             <form method=\"post\" action=\"/logout\"><button>Sign out</button></form>",
            esc(&u.name)
        ),
        None => "<a href=\"/login\">Sign in</a>".to_owned(),
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – {shop}</title><style>{STYLE}</style></head>\
         <body><header><a class=\"brand\" href=\"/\">{shop}</a>\
         <nav><a href=\"/\">Home</a><a href=\"/subscription\">Subscription</a></nav>{who}</header>\
         <main>{body}</main></body></html>",
        title = esc(title),
    );
    let mut response = Html(html).into_response();
    let h = response.headers_mut();
    // Defence in depth: even a bug here could frame nothing but Abo.
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; frame-src {}; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
        site.inner.frame_src
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    // The page carries live, customer-scoped links: never cache it.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin"),
    );
    response
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}\
header{display:flex;gap:1.5rem;align-items:center;padding:.8rem 1.5rem;background:#1d2330;color:#fff}\
header a{color:#fff;text-decoration:none}nav{display:flex;gap:1rem;flex:1}.brand{font-weight:700}\
header form{margin:0}main{max-width:1000px;margin:1.5rem auto;padding:0 1rem}\
.users{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:1rem}\
.users button{width:100%;padding:1rem;text-align:left;border:1px solid #ccd;border-radius:8px;background:#fff;cursor:pointer}\
.portal{background:#fff;border:1px solid #dde;border-radius:8px;overflow:hidden}\
.note{color:#556}";

fn current_user(site: &Site, headers: &HeaderMap) -> Option<DemoUser> {
    let reference = site.inner.sessions.user(headers)?;
    site.config()
        .users
        .iter()
        .find(|u| u.reference == reference)
        .cloned()
}

async fn home(State(site): State<Site>, headers: HeaderMap) -> Response {
    let user = current_user(&site, &headers);
    let body = match &user {
        Some(u) => format!(
            "<h1>Welcome back, {}</h1><p>Your plan, invoices and payment method are on the \
             <a href=\"/subscription\">Subscription</a> page.</p>",
            esc(&u.name)
        ),
        None => "<h1>Welcome to the Demo Shop</h1><p><a href=\"/login\">Sign in</a> as one of \
                 the demo customers to see their subscription.</p>"
            .to_owned(),
    };
    page(&site, "Home", user.as_ref(), &body)
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(site): State<Site>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    let mut body = String::from(
        "<h1>Sign in</h1><p class=\"note\">Pick a demo customer (no password in the demo).</p>\
         <div class=\"users\">",
    );
    for u in &site.config().users {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"user\" value=\"{}\">\
             <input type=\"hidden\" name=\"next\" value=\"{}\">\
             <button data-user=\"{}\"><strong>{}</strong><br>{}</button></form>",
            esc(&u.reference),
            esc(next),
            esc(&u.reference),
            esc(&u.name),
            esc(&u.email),
        ));
    }
    body.push_str("</div>");
    page(
        &site,
        "Sign in",
        current_user(&site, &headers).as_ref(),
        &body,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    next: Option<String>,
}

async fn login(State(site): State<Site>, Form(form): Form<LoginForm>) -> Response {
    if !site.config().users.iter().any(|u| u.reference == form.user) {
        return (StatusCode::BAD_REQUEST, "unknown user").into_response();
    }
    let cookie = site.inner.sessions.start(&form.user);
    see_other(safe_next(form.next.as_deref()), Some(cookie))
}

async fn logout(State(site): State<Site>, headers: HeaderMap) -> Response {
    let cookie = site.inner.sessions.end(&headers);
    see_other("/", Some(cookie))
}

/// The 'Subscription' page: part 1 (server-side upsert, `hosted-home`) and part 2 (`crylk`).
async fn subscription(
    State(site): State<Site>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(user) = current_user(&site, &headers) else {
        // Back here after sign-in, with the crylk of the e-mail link intact.
        let here = match &query {
            Some(q) => format!("/subscription?{q}"),
            None => "/subscription".to_owned(),
        };
        return see_other(&format!("/login?next={}", encode_component(&here)), None);
    };

    // Part 1: the customer exists in Abo and we have fresh links (they expire: never store).
    let mut request = CustomerRequest::new(&user.reference)
        .name(&user.name)
        .email(&user.email)
        .language(&user.language);
    request.reference_segment = site.config().segment.clone();
    let customer = match site.inner.abo.upsert_customer(&request).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(user = %user.reference, error = %e, "Abo API call failed");
            let body = "<h1>Your subscription</h1><p>Billing is unavailable right now; please \
                        try again in a minute.</p>";
            let mut r = page(&site, "Subscription", Some(&user), body);
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            return r;
        }
    };
    let Some(home) = customer.hosted_home() else {
        // A suspended customer gets no links: nothing to frame.
        let body = "<h1>Your subscription</h1><p>Your billing account is suspended; please \
                    contact us.</p>";
        return page(&site, "Subscription", Some(&user), body);
    };

    // Part 2: honour crylk through the SDK, else hosted-home.
    let crylk = query.as_deref().and_then(crylk_from_query);
    let expect = Expect::now().customer(customer.id);
    let link = site.inner.links.resolve_checked(crylk, home, &expect);
    match link.fallback_reason() {
        None | Some(FallbackReason::NoCrylk) => {}
        Some(reason) => {
            tracing::warn!(user = %user.reference, %reason, "crylk not framed; showing hosted-home")
        }
    }
    let source = if link.is_from_crylk() {
        "crylk"
    } else {
        "home"
    };
    let iframe = IframeSnippet::new(link.src())
        .title("Your subscription")
        .id("abo-portal")
        .height("760")
        .to_html();
    let body = format!(
        "<h1>Your subscription</h1><div class=\"portal\" data-portal-source=\"{source}\">{iframe}</div>"
    );
    page(&site, "Subscription", Some(&user), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_local_only() {
        assert_eq!(
            safe_next(Some("/subscription?crylk=x")),
            "/subscription?crylk=x"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/a b",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn components_are_encoded() {
        assert_eq!(
            encode_component("/s?crylk=a%2Fb&x"),
            "%2Fs%3Fcrylk%3Da%252Fb%26x"
        );
    }
}
