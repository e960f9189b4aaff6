//! API errors in ProAbono's shape: `{"Code": "...", "Message": "..."}`, and
//! for 422 an **array** of them (clients parse it as a list).

use abo_service::ServiceError;
use abo_store::StoreError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One error object of the contract's `Error` schema.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug)]
pub enum ApiError {
    /// A single error with its status.
    One(StatusCode, ErrorBody),
    /// 422: every problem found in the request.
    Validation(Vec<ErrorBody>),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError::One(
            status,
            ErrorBody {
                code: code.into(),
                message: message.into(),
                target: None,
            },
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "Error.Api.Unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Error.Api.NotFound", message)
    }

    /// ProAbono's answer to a customer of another segment or environment.
    pub fn customer_unaccessible() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "Error.Api.Customer.Unaccessible",
            "You cannot access that Customer",
        )
    }

    /// A 422 about one field: `target` is the ProAbono field name.
    pub fn invalid(target: &str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![ErrorBody {
            code: format!("Error.Api.Validation.{target}"),
            message: message.into(),
            target: Some(target.into()),
        }])
    }

    /// Merges the problems of several validations into one 422.
    pub fn merge(errors: impl IntoIterator<Item = ApiError>) -> Option<ApiError> {
        let mut all = Vec::new();
        for e in errors {
            match e {
                ApiError::Validation(v) => all.extend(v),
                ApiError::One(_, body) => all.push(body),
            }
        }
        (!all.is_empty()).then_some(ApiError::Validation(all))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::One(status, _) => *status,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> ApiError {
        match err {
            ServiceError::Invalid(messages) => ApiError::Validation(
                messages
                    .into_iter()
                    .map(|message| ErrorBody {
                        code: "Error.Api.Validation".into(),
                        message,
                        target: None,
                    })
                    .collect(),
            ),
            ServiceError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            ServiceError::Refused { code, message } => {
                ApiError::new(StatusCode::FORBIDDEN, code, message)
            }
            ServiceError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "Error.Api.Conflict", message)
            }
            ServiceError::Store(err) => err.into(),
            ServiceError::Internal(message) => internal(&message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Conflict(what) => ApiError::new(
                StatusCode::CONFLICT,
                "Error.Api.Conflict",
                format!("conflict: {what}"),
            ),
            StoreError::Invalid(what) => ApiError::Validation(vec![ErrorBody {
                code: "Error.Api.Validation".into(),
                message: what,
                target: None,
            }]),
            other => internal(&other.to_string()),
        }
    }
}

/// Internal details go to the log, never to the client.
fn internal(detail: &str) -> ApiError {
    tracing::error!(error = %detail, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error.Api.Internal",
        "An internal error occurred; it has been logged.",
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::One(status, body) => {
                let mut response = (status, Json(body)).into_response();
                if status == StatusCode::UNAUTHORIZED {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"Abo API\""),
                    );
                }
                response
            }
            ApiError::Validation(list) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Json(list)).into_response()
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
