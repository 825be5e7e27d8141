//! Sending a message now, not through the outbox: the one message that must leave before the
//! address it goes to is erased (the confirmation that a person's erasure is done). The mail
//! channel implements it; without one, no confirmation is sent and the erasure says so.

use std::future::Future;
use std::pin::Pin;

/// What a courier's send returns: done, or why not (a status code, never the server's words).
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Sends one plain-text message right away.
pub trait Courier: Send + Sync + std::fmt::Debug {
    /// Sends `text` under `subject` to `to`, marked as automatic.
    fn send<'a>(&'a self, to: &'a str, subject: &'a str, text: &'a str) -> Sending<'a>;
}

/// The confirmation of a completed erasure, in the person's language: subject and text.
pub fn erasure_confirmation(finnish: bool, controller: &str) -> (String, String) {
    if finnish {
        (
            "Tietosi on poistettu".into(),
            format!(
                "Hei,\n\npyyntösi mukaisesti tietosi on poistettu palvelusta, jota ylläpitää {controller}. Tämä osoite poistetaan heti tämän viestin jälkeen, eikä siihen lähetetä enää mitään.\n"
            ),
        )
    } else {
        (
            "Your data has been erased".into(),
            format!(
                "Hello,\n\nas you asked, your data has been erased from the helpdesk run by {controller}. This address is erased right after this message, and nothing more will be sent to it.\n"
            ),
        )
    }
}
