//! The helpdesk's error enum. Messages are for the API client and never contain personal values.

use suoja_core::ErrorKind;

/// What went wrong in a helpdesk service.
#[derive(Debug, thiserror::Error)]
pub enum HelpdeskError {
    /// No such record in the caller's tenant (or the caller may not know it exists).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field is invalid.
    #[error("{}", field_message(field, message))]
    Invalid {
        /// The field, as the client named it.
        field: String,
        /// What is wrong with it.
        message: String,
        /// Zendesk's error code for the field (`InvalidValue`, `DuplicateValue`, `BlankValue`).
        code: &'static str,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The caller could not be authenticated.
    #[error("Couldn't authenticate you")]
    Unauthorized,
    /// Too much of a costly kind of work is running (password checks); retry in a second.
    #[error("too many sign-ins at once; retry in a second")]
    Busy,
    /// A person's allowance of something costly (uploads, exports) is spent for now.
    #[error("{message}")]
    Limit {
        /// What is spent and when it comes back.
        message: String,
        /// Seconds until it can be tried again.
        retry_after: u64,
    },
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// A search query could not be parsed.
    #[error("{0}")]
    BadQuery(String),
    /// The vault failed (a destroyed key is reported as not found by the caller).
    #[error(transparent)]
    Vault(#[from] suoja_vault::VaultError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] suoja_store::StoreError),
    /// The request's host names a tenant another region serves (data residency): this node
    /// neither reads nor writes anything of it.
    #[error("this helpdesk is served in region '{region}'")]
    WrongRegion {
        /// The region serving it.
        region: String,
        /// Where that region is reached, when configured.
        url: Option<String>,
    },
    /// The request's host names a tenant being moved to another region: nothing of it is read
    /// or written until the move has switched its route (or is cancelled); try again.
    #[error("this helpdesk is being moved to another region; try again in a few minutes")]
    Moving,
    /// Something that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

/// `field: message`, the field named once when the message names it already.
fn field_message(field: &str, message: &str) -> String {
    if message.split_once(": ").is_some_and(|(p, _)| p.eq_ignore_ascii_case(field)) {
        message.to_string()
    } else {
        format!("{field}: {message}")
    }
}

impl HelpdeskError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HelpdeskError::NotFound(_) => ErrorKind::NotFound,
            HelpdeskError::Invalid { .. } | HelpdeskError::BadQuery(_) => ErrorKind::Invalid,
            HelpdeskError::Forbidden(_) | HelpdeskError::WrongRegion { .. } => ErrorKind::Forbidden,
            HelpdeskError::Unauthorized => ErrorKind::Unauthorized,
            HelpdeskError::Busy | HelpdeskError::Moving => ErrorKind::Unavailable,
            HelpdeskError::Conflict(_) | HelpdeskError::Limit { .. } => ErrorKind::Conflict,
            HelpdeskError::Vault(e) => e.kind(),
            HelpdeskError::Store(e) => e.kind(),
            HelpdeskError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A field error with code `InvalidValue`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        HelpdeskError::Invalid {
            field: field.to_string(),
            message: message.into(),
            code: "InvalidValue",
        }
    }

    /// A field error with code `DuplicateValue`.
    pub fn duplicate(field: &str, message: impl Into<String>) -> Self {
        HelpdeskError::Invalid {
            field: field.to_string(),
            message: message.into(),
            code: "DuplicateValue",
        }
    }
}

/// Result of a helpdesk call.
pub type Result<T> = std::result::Result<T, HelpdeskError>;

impl From<suoja_store::SqlError> for HelpdeskError {
    fn from(e: suoja_store::SqlError) -> Self {
        HelpdeskError::Store(e.into())
    }
}
