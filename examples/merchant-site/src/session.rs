//! First-party sessions: a random id in an `HttpOnly; SameSite=Lax` cookie, the signed-in
//! user in memory. Enough for a demo; a real site uses its own sessions.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::http::HeaderMap;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "shop_session";

#[derive(Default)]
pub(crate) struct Sessions {
    users: RwLock<HashMap<String, String>>,
}

impl Sessions {
    /// Starts a session for `user_reference`; returns the `Set-Cookie` value.
    pub(crate) fn start(&self, user_reference: &str) -> String {
        // 122 random bits from the OS generator: not guessable.
        let id = uuid::Uuid::new_v4().simple().to_string();
        if let Ok(mut users) = self.users.write() {
            users.insert(id.clone(), user_reference.to_owned());
        }
        format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax")
    }

    /// The user of the request's session, if any.
    pub(crate) fn user(&self, headers: &HeaderMap) -> Option<String> {
        let id = session_id(headers)?;
        self.users.read().ok()?.get(&id).cloned()
    }

    /// Ends the request's session; returns the `Set-Cookie` value that clears the cookie.
    pub(crate) fn end(&self, headers: &HeaderMap) -> String {
        if let Some(id) = session_id(headers)
            && let Ok(mut users) = self.users.write()
        {
            users.remove(&id);
        }
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
}
