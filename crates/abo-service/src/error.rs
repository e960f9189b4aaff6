use abo_store::StoreError;

/// Why a use case failed. Every message reads as one line for the CLI and
/// maps to a ProAbono `{Code, Message}` at the API edge.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input is wrong; each entry names what and where.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The thing does not exist for this business (the string names it:
    /// "customer 'cust-42'").
    #[error("{0} not found")]
    NotFound(String),
    /// Authenticated, but the business rules refuse it. `code` is the
    /// ProAbono error code (`Error.Customer.Anonymize.HasDueInvoices`), shown
    /// to API clients with a 403.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// A duplicate or a state conflict (409).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid(vec![message.into()])
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::Refused {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> ServiceError {
        ServiceError::NotFound(what.into())
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        ServiceError::Store(StoreError::from(err))
    }
}

impl From<abo_core::CoreError> for ServiceError {
    fn from(err: abo_core::CoreError) -> Self {
        ServiceError::Invalid(vec![err.to_string()])
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
