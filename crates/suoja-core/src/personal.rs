//! `Personal<T>`: the only way personal values travel through Suoja. Its `Debug` and `Display`
//! print `[redacted]`, so a value that reaches a log line or an error message by accident is
//! not leaked. Read it with [`Personal::expose`], on purpose, where it is really needed.

use serde::{Deserialize, Serialize};

/// A personal value (name, e-mail, phone, free text about a person).
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Personal<T>(T);

impl<T> Personal<T> {
    /// Wraps a personal value.
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// Reads the value. Every call site is a place where personal data is used.
    pub fn expose(&self) -> &T {
        &self.0
    }
    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
    /// Maps the inner value, staying personal.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Personal<U> {
        Personal(f(self.0))
    }
}

impl<T> std::fmt::Debug for Personal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> std::fmt::Display for Personal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let p = Personal::new("alice@example.com".to_string());
        assert_eq!(format!("{p:?}"), "[redacted]");
        assert_eq!(format!("{p}"), "[redacted]");
        assert_eq!(p.expose(), "alice@example.com");
    }
}
