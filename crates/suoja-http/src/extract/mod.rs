//! Extractors: who is calling (`Auth`), from which address (`Client`), where they called (`BaseUrl`), the body as a checked
//! JSON object (`JsonBody`), the query string (`Params`), and pagination (`Paging`).

mod auth;
mod client;
mod json;
mod params;

pub use auth::{Auth, MaybeAuth};
pub use client::Client;
pub use json::{JsonBody, Obj, read_body};
pub use params::{BaseUrl, PageParams, Params, parse_id};

/// Cursor and link helpers.
pub mod params_helpers {
    pub use super::params::{decode_cursor, encode_cursor, with_params};
}
