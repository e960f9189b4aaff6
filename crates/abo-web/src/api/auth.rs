//! HTTP Basic authentication of API Live: user = agent key, password = API
//! key. A short cache keeps the database off the hot path (15k req/s).

use super::error::ApiError;
use super::params::Params;
use crate::AppState;
use abo_store::businesses::Business;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use base64::Engine;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long a successful authentication is remembered. A revoked key keeps
/// working at most this long on a node that had just seen it.
const CACHE_TTL: Duration = Duration::from_secs(30);
const CACHE_MAX: usize = 10_000;

#[derive(Default)]
pub(crate) struct AuthCache {
    /// (agent key, SHA-256 of API key) → business, the credential's legacy
    /// state setting, and when it was checked.
    entries: RwLock<HashMap<(String, String), Cached>>,
}

struct Cached {
    business: Business,
    legacy_states: bool,
    checked_at: Instant,
}

/// The authenticated caller of an API Live request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub business: Business,
    /// "Now" for this business (its test clock when it has one).
    pub now_us: i64,
    /// Answer legacy subscription state names (`Running`, ...): set per API
    /// credential for pre-2022 clients, or per request with `LegacyStates=true`.
    pub legacy_states: bool,
}

impl Caller {
    pub fn business_id(&self) -> i64 {
        self.business.id
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (agent_key, api_key) = basic_credentials(parts)?;
        let hash = abo_service::business::hash_api_key(&api_key);
        let key = (agent_key, hash);
        let cached = state.auth.entries.read().ok().and_then(|m| {
            m.get(&key)
                .filter(|c| c.checked_at.elapsed() < CACHE_TTL)
                .map(|c| (c.business.clone(), c.legacy_states))
        });
        let (business, legacy_states) = match cached {
            Some(found) => found,
            None => {
                let mut conn = state.store.acquire().await?;
                let found = abo_store::credentials::authenticate(&mut conn, &key.0, &key.1).await;
                match found {
                    Ok((b, credential)) => {
                        if let Ok(mut map) = state.auth.entries.write() {
                            if map.len() >= CACHE_MAX {
                                map.clear();
                            }
                            let cached = Cached {
                                business: b.clone(),
                                legacy_states: credential.legacy_states,
                                checked_at: Instant::now(),
                            };
                            map.insert(key, cached);
                        }
                        (b, credential.legacy_states)
                    }
                    Err(e) if e.is_not_found() => {
                        return Err(ApiError::unauthorized("Invalid agent key or API key"));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        // The test clock moves: read it fresh rather than from the cache.
        let business = if business.is_test {
            let mut conn = state.store.acquire().await?;
            abo_store::businesses::get(&mut conn, business.id).await?
        } else {
            business
        };
        let now_us = state.now_us(&business);
        let legacy_states = Params::from_query(parts.uri.query().unwrap_or(""))
            .bool("LegacyStates")?
            .unwrap_or(legacy_states);
        Ok(Caller {
            business,
            now_us,
            legacy_states,
        })
    }
}

fn basic_credentials(parts: &Parts) -> Result<(String, String), ApiError> {
    let missing = || {
        ApiError::unauthorized(
            "Authentication required: HTTP Basic with your agent key and API key",
        )
    };
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(missing());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ApiError::unauthorized("Malformed Authorization header"))?;
    let text = String::from_utf8(decoded)
        .map_err(|_| ApiError::unauthorized("Malformed Authorization header"))?;
    let (agent, key) = text
        .split_once(':')
        .ok_or_else(|| ApiError::unauthorized("Malformed Authorization header"))?;
    if agent.is_empty() || key.is_empty() {
        return Err(missing());
    }
    Ok((agent.to_string(), key.to_string()))
}
