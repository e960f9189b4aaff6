//! The `<iframe>` that shows a hosted page inside the merchant's page.
//!
//! Every attribute value is HTML-escaped (`&`, `<`, `>`, `"`, `'`), so a hostile value
//! cannot close the attribute or the tag; and a `src` that is not an absolute `http(s)` URL
//! (`javascript:`, `data:`, relative paths) is replaced by `about:blank`, so even a `src`
//! that did not come from [`crate::PortalLinks`] cannot run script in the merchant's origin.
//!
//! The sandbox grants what hosted payment forms need and nothing else:
//! * `allow-scripts allow-forms`: the pages are interactive forms;
//! * `allow-same-origin`: the hosted page keeps *its own* origin (Abo's), which its session
//!   and CSRF cookies need. It never gains the merchant's origin: the frame is cross-origin;
//! * `allow-popups allow-popups-to-escape-sandbox`: 3-D Secure and bank pages may open a
//!   window, which must work normally;
//! * `allow-top-navigation-by-user-activation`: after a workflow, the "back to the site"
//!   button may take the whole tab to the merchant's return URL, but only on a click.
//!
//! `allow="payment"` lets the hosted page use the Payment Request API; `referrerpolicy`
//! keeps the merchant page's path and query (which may carry `crylk`) out of Abo's logs.
//!
//! ```
//! use abo_merchant::IframeSnippet;
//! let html = IframeSnippet::new("https://abo.example/portal-auth/TOKEN?a=1&b=\"2\"")
//!     .title("Your subscription")
//!     .to_html();
//! assert!(html.starts_with("<iframe src=\"https://abo.example/portal-auth/TOKEN?a=1&amp;b=&quot;2&quot;\""));
//! assert!(html.contains("sandbox=\"allow-scripts allow-forms allow-same-origin"));
//!
//! let evil = IframeSnippet::new("javascript:alert(1)").to_html();
//! assert!(evil.starts_with("<iframe src=\"about:blank\""));
//! ```

use std::fmt::Write as _;

/// The sandbox tokens granted to hosted pages (see the module documentation).
pub const SANDBOX: &str = "allow-scripts allow-forms allow-same-origin allow-popups \
                           allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation";

/// Builder of the `<iframe>` element for a hosted page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IframeSnippet {
    src: String,
    title: String,
    width: String,
    height: String,
    id: Option<String>,
    class: Option<String>,
}

impl IframeSnippet {
    /// An iframe on `src` (usually [`crate::PortalLink::src`]), full width, 700 px high,
    /// titled "Subscription" (screen readers announce frames by their title).
    pub fn new(src: impl Into<String>) -> Self {
        IframeSnippet {
            src: src.into(),
            title: "Subscription".into(),
            width: "100%".into(),
            height: "700".into(),
            id: None,
            class: None,
        }
    }

    /// The accessible title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// The `width` attribute (`100%`, `800`).
    pub fn width(mut self, width: impl Into<String>) -> Self {
        self.width = width.into();
        self
    }

    /// The `height` attribute.
    pub fn height(mut self, height: impl Into<String>) -> Self {
        self.height = height.into();
        self
    }

    /// An `id` attribute.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// A `class` attribute.
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }

    /// The `src` that will be written: the given one if it is an absolute `http(s)` URL,
    /// else `about:blank`.
    pub fn effective_src(&self) -> &str {
        let lower = self.src.get(..8).unwrap_or(&self.src).to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            &self.src
        } else {
            "about:blank"
        }
    }

    /// The element, ready to insert into a page.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(400 + self.src.len());
        out.push_str("<iframe");
        attr(&mut out, "src", self.effective_src());
        attr(&mut out, "title", &self.title);
        attr(&mut out, "width", &self.width);
        attr(&mut out, "height", &self.height);
        if let Some(id) = &self.id {
            attr(&mut out, "id", id);
        }
        if let Some(class) = &self.class {
            attr(&mut out, "class", class);
        }
        attr(&mut out, "sandbox", SANDBOX);
        attr(&mut out, "allow", "payment");
        attr(&mut out, "referrerpolicy", "strict-origin");
        attr(&mut out, "loading", "eager");
        attr(&mut out, "style", "border:0");
        out.push_str("></iframe>");
        out
    }
}

impl std::fmt::Display for IframeSnippet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_html())
    }
}

fn attr(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"");
    escape_attr_into(value, out);
    out.push('"');
}

/// Appends `value` escaped for a double- or single-quoted HTML attribute (and for text).
///
/// ```
/// let mut out = String::new();
/// abo_merchant::iframe::escape_attr_into("a&b<c>\"d'e", &mut out);
/// assert_eq!(out, "a&amp;b&lt;c&gt;&quot;d&#39;e");
/// ```
pub fn escape_attr_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_attributes_cannot_break_out() {
        let html = IframeSnippet::new("https://abo.example/\"><script>alert(1)</script>")
            .title("x\" onload=\"alert(1)")
            .id("a'b")
            .class("<c>")
            .to_html();
        assert!(!html.contains("<script"));
        assert!(!html.contains("\" onload"));
        assert_eq!(html.matches('<').count(), 2, "{html}");
        assert_eq!(html.matches('>').count(), 2, "{html}");
        assert!(html.contains("id=\"a&#39;b\""));
    }

    #[test]
    fn non_http_sources_become_blank() {
        for src in [
            "javascript:alert(1)",
            " JAVASCRIPT:alert(1)",
            "data:text/html,<b>x</b>",
            "file:///etc/passwd",
            "//evil.example/x",
            "/relative",
            "",
        ] {
            assert_eq!(
                IframeSnippet::new(src).effective_src(),
                "about:blank",
                "{src}"
            );
        }
        assert_eq!(
            IframeSnippet::new("HTTPS://abo.example/x").effective_src(),
            "HTTPS://abo.example/x"
        );
    }
}
