//! A segment's portal look, framing policy and string overrides, cached per node.
//!
//! Loaded from `segments` and `portal_segment_settings` / `portal_texts`, and kept for
//! [`LOOK_TTL`]: a portal page then costs no settings query, and a change made on another
//! node shows within that delay (the node that saved it drops its copy at once).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use abo_core::Locale;
use abo_store::portal_settings::{self, PortalSettings};
use abo_store::segments::{self, Segment};
use base64::Engine as _;

use super::i18n::Texts;
use crate::AppState;

/// How long a node serves a segment's look before reloading it.
pub const LOOK_TTL: Duration = Duration::from_secs(10);

/// Everything a page needs from its segment.
pub struct Look {
    pub segment: Segment,
    /// The full `Content-Security-Policy` value: `frame-ancestors 'self' <origins>`.
    pub csp: String,
    /// Origins allowed to frame the pages (besides the server itself).
    pub frame_origins: Vec<String>,
    pub css: Option<String>,
    /// Sanitised when saved, and again when loaded (defence in depth).
    pub header_html: Option<String>,
    pub footer_html: Option<String>,
    pub logo: Option<(String, Vec<u8>)>,
    overrides_en: Arc<HashMap<String, String>>,
    overrides_fr: Arc<HashMap<String, String>>,
}

impl Look {
    /// The strings of a page in `locale`, with this segment's overrides.
    pub fn texts(&self, locale: Locale) -> Texts {
        let o = match locale {
            Locale::En => &self.overrides_en,
            Locale::Fr => &self.overrides_fr,
        };
        Texts::new(locale, o.clone())
    }
}

/// The `Content-Security-Policy` of pages whose segment is unknown (an invalid link): only
/// this server may frame them.
pub const CSP_SELF_ONLY: &str = "frame-ancestors 'self'";

/// Builds the CSP value from the segment's URLs and extra origins.
pub fn frame_ancestors(segment: &Segment, settings: &PortalSettings) -> (String, Vec<String>) {
    let mut origins: Vec<String> = Vec::new();
    let mut add = |o: String| {
        if !origins.contains(&o) {
            origins.push(o);
        }
    };
    for url in [&segment.url_integrated_form, &segment.url_integrated_portal]
        .into_iter()
        .flatten()
    {
        if let Ok(u) = abo_links::validate_integrated_url(url) {
            add(u.origin().to_owned());
        }
    }
    for o in settings
        .frame_origins
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
    {
        if let Some(o) = abo_service::portal::settings::normalise_origin(o) {
            add(o);
        }
    }
    let mut csp = String::from("frame-ancestors 'self'");
    for o in &origins {
        csp.push(' ');
        csp.push_str(o);
    }
    (csp, origins)
}

/// A cached look and when it was loaded.
type Cached = (Instant, Arc<Look>);

/// The per-node cache of looks, by (business, segment).
#[derive(Default)]
pub struct LookCache {
    by_segment: RwLock<HashMap<(i64, i64), Cached>>,
}

impl LookCache {
    /// The segment's look (cached).
    pub async fn get(
        &self,
        state: &AppState,
        business_id: i64,
        segment_id: i64,
    ) -> Result<Arc<Look>, abo_store::StoreError> {
        let key = (business_id, segment_id);
        if let Some((at, look)) = self
            .by_segment
            .read()
            .ok()
            .and_then(|m| m.get(&key).cloned())
            && at.elapsed() < LOOK_TTL
        {
            return Ok(look);
        }
        let look = Arc::new(load(state, business_id, segment_id).await?);
        if let Ok(mut m) = self.by_segment.write() {
            m.insert(key, (Instant::now(), look.clone()));
        }
        Ok(look)
    }

    /// Drops a segment's cached look (after a change on this node).
    pub fn forget(&self, business_id: i64, segment_id: i64) {
        if let Ok(mut m) = self.by_segment.write() {
            m.remove(&(business_id, segment_id));
        }
    }
}

async fn load(
    state: &AppState,
    business_id: i64,
    segment_id: i64,
) -> Result<Look, abo_store::StoreError> {
    let mut conn = state.store.acquire().await?;
    let segment = segments::get(&mut conn, business_id, segment_id).await?;
    let settings = portal_settings::get(&mut conn, business_id, segment_id).await?;
    let texts = portal_settings::texts(&mut conn, business_id, segment_id).await?;
    let (csp, frame_origins) = frame_ancestors(&segment, &settings);
    let mut en = HashMap::new();
    let mut fr = HashMap::new();
    for t in texts {
        match Locale::parse(&t.language) {
            Some(Locale::En) => en.insert(t.key, t.value),
            Some(Locale::Fr) => fr.insert(t.key, t.value),
            None => None,
        };
    }
    let sanitise = |h: Option<String>| {
        h.map(|h| abo_service::portal::settings::sanitise_html(&h))
            .filter(|h| !h.trim().is_empty())
    };
    let logo = match (settings.logo_mime, settings.logo_base64) {
        (Some(mime), Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .ok()
            .map(|bytes| (mime, bytes)),
        _ => None,
    };
    Ok(Look {
        segment,
        csp,
        frame_origins,
        css: settings
            .css
            .map(|c| abo_service::portal::settings::sanitise_css(&c)),
        header_html: sanitise(settings.header_html),
        footer_html: sanitise(settings.footer_html),
        logo,
        overrides_en: Arc::new(en),
        overrides_fr: Arc::new(fr),
    })
}
