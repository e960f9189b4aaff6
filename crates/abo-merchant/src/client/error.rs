//! API errors as values: ProAbono's `{Code, Message}` bodies, the 422 array, and the
//! statuses clients branch on.

use serde::Deserialize;

/// One error object of the API (`{"Code": "...", "Message": "...", "Target": "..."}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ProAbonoError {
    /// Stable code to branch on, e.g. `Error.Customer.PaymentSettings.Missing`.
    pub code: String,
    /// Human-readable message (English).
    pub message: String,
    /// The request field concerned, on validation errors.
    pub target: Option<String>,
}

impl std::fmt::Display for ProAbonoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Everything an API call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: wrong or missing keys, or keys of another environment.
    #[error("401 unauthorized: {0}")]
    Unauthorized(ProAbonoError),
    /// 403: authenticated but refused for a business reason (`Code` says which), or a
    /// customer of another segment (`Error.Api.Customer.Unaccessible`).
    #[error("403 forbidden: {0}")]
    Forbidden(ProAbonoError),
    /// 404: no such resource.
    #[error("404 not found: {0}")]
    NotFound(ProAbonoError),
    /// 409: duplicate reference or state conflict.
    #[error("409 conflict: {0}")]
    Conflict(ProAbonoError),
    /// 422: every problem found in the request.
    #[error("422 invalid request: {}", list(.0))]
    Validation(Vec<ProAbonoError>),
    /// 429: rate limited; retry later.
    #[error("429 too many requests: {0}")]
    RateLimited(ProAbonoError),
    /// Any other non-success status (5xx included).
    #[error("HTTP {status}: {error}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The error body, or an empty one when the body was not an error object.
        error: ProAbonoError,
    },
    /// A success status with no body where one was expected.
    #[error("HTTP {0} without the expected body")]
    Empty(u16),
    /// The request could not be sent or the answer read (network, TLS, timeout).
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The answer is not the JSON the client expects.
    #[error("unexpected response body: {0}")]
    Decode(#[from] serde_json::Error),
    /// The client could not be built.
    #[error("client configuration: {0}")]
    Config(String),
}

fn list(errors: &[ProAbonoError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict(_) => 409,
            ApiError::Validation(_) => 422,
            ApiError::RateLimited(_) => 429,
            ApiError::Status { status, .. } | ApiError::Empty(status) => *status,
            ApiError::Transport(_) | ApiError::Decode(_) | ApiError::Config(_) => return None,
        })
    }

    /// The error code of a single-error answer, or of the first 422 entry.
    ///
    /// ```
    /// use abo_merchant::{ApiError, ProAbonoError};
    /// let e = ApiError::Forbidden(ProAbonoError {
    ///     code: "Error.Customer.PaymentSettings.Missing".into(),
    ///     ..Default::default()
    /// });
    /// assert_eq!(e.code(), Some("Error.Customer.PaymentSettings.Missing"));
    /// ```
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Unauthorized(e)
            | ApiError::Forbidden(e)
            | ApiError::NotFound(e)
            | ApiError::Conflict(e)
            | ApiError::RateLimited(e)
            | ApiError::Status { error: e, .. } => Some(e.code.as_str()).filter(|c| !c.is_empty()),
            ApiError::Validation(v) => v.first().map(|e| e.code.as_str()),
            _ => None,
        }
    }

    /// Builds the error for a non-success answer.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> ApiError {
        if status == 422 {
            // An array, by the contract; a single object from older servers is accepted too.
            if let Ok(v) = serde_json::from_slice::<Vec<ProAbonoError>>(body) {
                return ApiError::Validation(v);
            }
        }
        let error =
            serde_json::from_slice::<ProAbonoError>(body).unwrap_or_else(|_| ProAbonoError {
                code: String::new(),
                message: String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned(),
                target: None,
            });
        match status {
            401 => ApiError::Unauthorized(error),
            403 => ApiError::Forbidden(error),
            404 => ApiError::NotFound(error),
            409 => ApiError::Conflict(error),
            422 => ApiError::Validation(vec![error]),
            429 => ApiError::RateLimited(error),
            status => ApiError::Status { status, error },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_become_typed_errors() {
        let e = ApiError::from_response(
            422,
            br#"[{"Code":"Error.Api.Validation.Email","Message":"bad","Target":"Email"},{"Code":"X","Message":"y"}]"#,
        );
        match e {
            ApiError::Validation(v) => {
                assert_eq!(v.len(), 2);
                assert_eq!(v[0].target.as_deref(), Some("Email"));
            }
            other => panic!("{other:?}"),
        }
        let e = ApiError::from_response(404, br#"{"Code":"Error.Api.NotFound","Message":"no"}"#);
        assert!(matches!(e, ApiError::NotFound(_)));
        assert_eq!(e.code(), Some("Error.Api.NotFound"));
        let e = ApiError::from_response(502, b"<html>bad gateway</html>");
        assert_eq!(e.status(), Some(502));
        assert_eq!(e.code(), None);
    }
}
