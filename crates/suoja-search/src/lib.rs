//! Search: turning text into index terms, Zendesk's query syntax into a structured query, and
//! the index those terms are kept in (one API over an engine per database; see [`index`]).

pub mod index;
pub mod query;
pub mod terms;

pub use index::{DocKind, DocTokens};
pub use query::{Query, parse};
pub use terms::{contact_terms, email_spans, terms};
