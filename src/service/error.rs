//! Errors a use case can end in. Each maps to exactly one gRPC status in `api`.

use crate::store::StoreError;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The request is wrong; names the field.
    #[error("{field}: {message}")]
    InvalidArgument {
        /// The request field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// No such object.
    #[error("{0}")]
    NotFound(String),
    /// The object exists already (a second live card, an idempotency key reused).
    #[error("{0}")]
    AlreadyExists(String),
    /// The object is not in a state that allows this.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller is identified but may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The caller must present a client certificate.
    #[error("{0}")]
    Unauthenticated(String),
    /// The credential did not verify; carries the verdict's reason.
    #[error("credential refused: {reason}: {detail}")]
    CredentialRefused {
        /// The verdict's reason code.
        reason: &'static str,
        /// Plain words.
        detail: String,
    },
    /// The period's allowance is used up, or a rate limit was hit.
    #[error("{0}")]
    Exhausted(String),
    /// The database cannot be reached; try again.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or broken data; details are logged (and shown at start-up), never returned to
    /// a caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// An INVALID_ARGUMENT naming `field`.
    pub fn invalid(field: &'static str, message: impl std::fmt::Display) -> Self {
        Self::InvalidArgument {
            field,
            message: message.to_string(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            // A conflict the database rolled back to let another writer pass is as
            // transient as an outage: the caller may try again.
            StoreError::Unavailable(source)
            | StoreError::Conflict {
                retryable: true,
                source,
            } => {
                tracing::warn!(error = %source, "database unavailable");
                Self::Unavailable("the database is unavailable; try again".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}
