//! Search: turning text into index terms, and Zendesk's query syntax into a structured query.
//! The index itself is `suoja_store::search` (keyed token hashes only); this crate knows words
//! and queries, not storage.

pub mod query;
pub mod terms;

pub use query::{Query, parse};
pub use terms::{contact_terms, email_spans, terms};
