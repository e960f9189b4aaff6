use sqlx::error::ErrorKind;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another business).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique constraint was violated; the string names the constraint (Postgres) or the
    /// columns (SQLite).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request cannot be stored as is (bad URL, foreign key to a missing or foreign row,
    /// check constraint, wrong state...).
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound(_))
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = err {
            return StoreError::NotFound("row");
        }
        if let Some(db) = err.as_database_error() {
            let what = || {
                db.constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned())
            };
            match db.kind() {
                ErrorKind::UniqueViolation => return StoreError::Conflict(what()),
                ErrorKind::ForeignKeyViolation => {
                    return StoreError::Invalid(format!("foreign key: {}", what()));
                }
                ErrorKind::NotNullViolation | ErrorKind::CheckViolation => {
                    return StoreError::Invalid(what());
                }
                _ => {}
            }
        }
        StoreError::Database(err)
    }
}

/// Turn `Option<T>` from `fetch_optional` into `NotFound(what)`.
pub(crate) trait OrNotFound<T> {
    fn or_not_found(self, what: &'static str) -> Result<T>;
}

impl<T> OrNotFound<T> for Option<T> {
    fn or_not_found(self, what: &'static str) -> Result<T> {
        self.ok_or(StoreError::NotFound(what))
    }
}
