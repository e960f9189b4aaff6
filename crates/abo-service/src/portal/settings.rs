//! A segment's portal settings: extra frame origins, CSS, header and footer HTML (sanitised
//! with an allowlist), logo, and per-language overrides of the portal's strings.

use abo_store::Store;
use abo_store::portal_settings;
use abo_store::segments;
use base64::Engine as _;

use crate::error::{Result, ServiceError};

/// Largest logo accepted (bytes).
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// Largest CSS or HTML fragment accepted (characters).
pub const MAX_FRAGMENT_CHARS: usize = 64 * 1024;
/// Largest overridden string (characters).
pub const MAX_TEXT_CHARS: usize = 2000;

/// What a merchant sets; `None` leaves a field unchanged, `Some("")` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortalSettingsInput {
    /// Space- or comma-separated origins (`https://app.example`).
    pub frame_origins: Option<String>,
    pub css: Option<String>,
    pub header_html: Option<String>,
    pub footer_html: Option<String>,
    /// The logo file's bytes; the type is sniffed (PNG, JPEG, WebP, SVG is refused: it can
    /// carry scripts).
    pub logo: Option<Vec<u8>>,
}

/// `scheme://host[:port]` of an origin as browsers compare them (lower case, no path);
/// `None` when it is not an http(s) origin. `http` only for loopback hosts.
pub fn normalise_origin(value: &str) -> Option<String> {
    let v = value.trim().trim_end_matches('/');
    let url = abo_links::validate_integrated_url(v).ok()?;
    // An origin has no path, query or fragment.
    (url.origin().eq_ignore_ascii_case(v)).then(|| url.origin().to_owned())
}

/// Header/footer HTML through an allowlist: formatting, links (`rel="noopener noreferrer"`)
/// and images; no scripts, no event handlers, no `style` attributes, no forms or frames.
pub fn sanitise_html(html: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
        .clean(html)
        .to_string()
}

/// CSS is placed inside a `<style>` element: a `<` could close it and start markup, so it is
/// escaped the CSS way (`\3c `), which keeps selectors and strings working.
pub fn sanitise_css(css: &str) -> String {
    css.replace('<', "\\3c ")
}

fn logo_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Updates the settings of the segment `segment_reference` (the default segment when
/// `None`).
pub async fn update_settings(
    store: &Store,
    business_id: i64,
    segment_reference: Option<&str>,
    input: &PortalSettingsInput,
    now_us: i64,
) -> Result<i64> {
    let mut tx = store.begin().await?;
    let segment = match segment_reference {
        Some(r) => segments::find_by_reference(&mut tx, business_id, r)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("segment '{r}'")))?,
        None => segments::get_default(&mut tx, business_id).await?,
    };
    let mut s = portal_settings::get(&mut tx, business_id, segment.id).await?;
    let mut problems = Vec::new();
    let fragment = |name: &str, v: &str, problems: &mut Vec<String>| -> Option<String> {
        if v.chars().count() > MAX_FRAGMENT_CHARS {
            problems.push(format!(
                "{name}: longer than {MAX_FRAGMENT_CHARS} characters"
            ));
            return None;
        }
        (!v.trim().is_empty()).then(|| v.to_owned())
    };
    if let Some(origins) = &input.frame_origins {
        let mut ok = Vec::new();
        for o in origins
            .split([' ', ',', '\n'])
            .filter(|o| !o.trim().is_empty())
        {
            match normalise_origin(o) {
                Some(n) => ok.push(n),
                None => problems.push(format!(
                    "FrameOrigins: '{}' is not an https origin (scheme://host[:port])",
                    o.trim()
                )),
            }
        }
        s.frame_origins = (!ok.is_empty()).then(|| ok.join(" "));
    }
    if let Some(css) = &input.css {
        s.css = fragment("Css", css, &mut problems);
    }
    if let Some(h) = &input.header_html {
        s.header_html = fragment("HeaderHtml", h, &mut problems).map(|h| sanitise_html(&h));
    }
    if let Some(h) = &input.footer_html {
        s.footer_html = fragment("FooterHtml", h, &mut problems).map(|h| sanitise_html(&h));
    }
    if let Some(logo) = &input.logo {
        if logo.is_empty() {
            s.logo_mime = None;
            s.logo_base64 = None;
        } else if logo.len() > MAX_LOGO_BYTES {
            problems.push(format!("Logo: larger than {MAX_LOGO_BYTES} bytes"));
        } else if let Some(mime) = logo_mime(logo) {
            s.logo_mime = Some(mime.to_owned());
            s.logo_base64 = Some(base64::engine::general_purpose::STANDARD.encode(logo));
        } else {
            problems.push("Logo: must be a PNG, JPEG or WebP image".to_owned());
        }
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    portal_settings::put(&mut tx, business_id, segment.id, &s, now_us).await?;
    tx.commit().await?;
    Ok(segment.id)
}

/// Overrides one portal string for one language of a segment (`None` restores the
/// built-in one). `is_known` tells whether the key exists (the catalogue lives with the
/// pages).
#[allow(clippy::too_many_arguments)]
pub async fn set_text(
    store: &Store,
    business_id: i64,
    segment_reference: Option<&str>,
    language: &str,
    key: &str,
    value: Option<&str>,
    is_known: impl Fn(&str) -> bool,
    now_us: i64,
) -> Result<i64> {
    let language = abo_core::Locale::parse(language)
        .ok_or_else(|| ServiceError::invalid(format!("Language: '{language}' is not en or fr")))?;
    if !is_known(key) {
        return Err(ServiceError::invalid(format!(
            "Key: unknown portal string '{key}'"
        )));
    }
    if value.is_some_and(|v| v.chars().count() > MAX_TEXT_CHARS) {
        return Err(ServiceError::invalid(format!(
            "Value: longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    let mut tx = store.begin().await?;
    let segment = match segment_reference {
        Some(r) => segments::find_by_reference(&mut tx, business_id, r)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("segment '{r}'")))?,
        None => segments::get_default(&mut tx, business_id).await?,
    };
    portal_settings::set_text(
        &mut tx,
        business_id,
        segment.id,
        language.as_str(),
        key,
        value,
        now_us,
    )
    .await?;
    tx.commit().await?;
    Ok(segment.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            normalise_origin("https://App.Example/").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            normalise_origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(normalise_origin("https://app.example/page"), None);
        assert_eq!(normalise_origin("javascript:alert(1)"), None);
        assert_eq!(normalise_origin("http://evil.example"), None);
    }

    #[test]
    fn html_is_sanitised() {
        let dirty = r#"<p onclick="x()">Hi <b>there</b><script>alert(1)</script>
            <a href="javascript:alert(1)">x</a><a href="https://m.example">site</a>
            <iframe src="https://evil"></iframe><img src="https://m.example/l.png" alt="l"></p>"#;
        let clean = sanitise_html(dirty);
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("javascript"), "{clean}");
        assert!(!clean.contains("iframe"), "{clean}");
        assert!(clean.contains("<b>there</b>"), "{clean}");
        assert!(clean.contains(r#"rel="noopener noreferrer""#), "{clean}");
        assert!(clean.contains("<img"), "{clean}");
    }

    #[test]
    fn css_cannot_close_its_element() {
        let css = sanitise_css("body{color:red}</style><script>alert(1)</script>");
        assert!(!css.contains('<'));
    }
}
