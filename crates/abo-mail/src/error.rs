//! The crate's one error type.

/// Everything that can go wrong while rendering or sending a customer e-mail.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Store(#[from] abo_store::StoreError),
    #[error(transparent)]
    Service(#[from] abo_service::ServiceError),
    /// The outbox payload is not an e-mail job we understand (never retried with success).
    #[error("e-mail job payload: {0}")]
    Payload(String),
    /// Stored data an e-mail needs is missing or inconsistent.
    #[error("e-mail data: {0}")]
    Data(String),
    /// A default or merchant template does not compile or render.
    #[error("e-mail template: {0}")]
    Template(String),
    /// A merchant's request (send link, e-mail settings) is wrong: `field` names the input.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("invoice PDF: {0}")]
    Pdf(String),
    /// Invalid SMTP settings or addresses.
    #[error("e-mail settings: {0}")]
    Config(String),
    /// The SMTP server refused or could not be reached; `permanent` for a 5xx answer.
    #[error("SMTP: {message}")]
    Smtp { message: String, permanent: bool },
}
