//! The kinds of failure every crate's error enum maps to; `http` turns a kind into a status.

/// What kind of failure an error is, independent of where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The thing asked for does not exist in the caller's tenant.
    NotFound,
    /// The caller's input is wrong; the message says why.
    Invalid,
    /// The input conflicts with existing state (duplicate, concurrent change).
    Conflict,
    /// The caller is known but may not do this.
    Forbidden,
    /// The caller could not be authenticated.
    Unauthorized,
    /// A dependency is down or overloaded; retrying may help.
    Unavailable,
    /// A bug or an unexpected state on our side.
    Internal,
}
