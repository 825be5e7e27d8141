//! The privacy engine's error enum. Messages are for the operator or the person and never
//! contain personal values.

use suoja_core::ErrorKind;
use suoja_helpdesk::HelpdeskError;

/// What went wrong in a privacy service.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// No such record in the caller's tenant.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The request conflicts with the current state (already verified, past the due date…).
    #[error("{0}")]
    Conflict(String),
    /// A confirmation link that cannot be used, for whatever reason (one answer for all).
    #[error("this link cannot be used: it may be mistyped, used already, expired (links last 24 hours) or locked after wrong attempts")]
    InvalidLink,
    /// A helpdesk service failed.
    #[error(transparent)]
    Helpdesk(#[from] HelpdeskError),
    /// Something that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
    /// Work this node was doing was taken over by another node (it was silent too long); this
    /// node stops it and leaves it alone.
    #[error("the work was taken over by another node")]
    Superseded,
}

impl PrivacyError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PrivacyError::NotFound(_) => ErrorKind::NotFound,
            PrivacyError::Invalid { .. } | PrivacyError::InvalidLink => ErrorKind::Invalid,
            PrivacyError::Forbidden(_) => ErrorKind::Forbidden,
            PrivacyError::Conflict(_) | PrivacyError::Superseded => ErrorKind::Conflict,
            PrivacyError::Helpdesk(e) => e.kind(),
            PrivacyError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A field error.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        PrivacyError::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<suoja_store::StoreError> for PrivacyError {
    fn from(e: suoja_store::StoreError) -> Self {
        PrivacyError::Helpdesk(e.into())
    }
}

impl From<suoja_vault::VaultError> for PrivacyError {
    fn from(e: suoja_vault::VaultError) -> Self {
        PrivacyError::Helpdesk(e.into())
    }
}

impl From<suoja_store::SqlError> for PrivacyError {
    fn from(e: suoja_store::SqlError) -> Self {
        PrivacyError::Helpdesk(e.into())
    }
}

/// Result of a privacy call.
pub type Result<T> = std::result::Result<T, PrivacyError>;
