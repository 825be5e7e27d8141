//! Noting staff reads of personal data: the helpdesk reports each read to the read log it was
//! given ([`suoja_core::reads::ReadLog`], the privacy engine's consultation log), which decides
//! what is kept and writes it.

use suoja_core::{Scope, UserId};

use crate::Helpdesk;

impl Helpdesk {
    /// Notes that `scope` read the data of `subjects` (`action` such as `ticket.viewed`) for
    /// `purpose`.
    pub fn consulted(&self, scope: &Scope, subjects: &[UserId], action: &str, purpose: &str) {
        self.reads.note(scope, subjects, action, purpose, self.now());
    }
}
