//! `Client`: the address a request came from (through trusted proxies only), for the limits on
//! anonymous operations that send mail or test a secret.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::middleware::{Sensitive, client_addr_of};
use crate::{ApiError, AppState};

/// The client's address, when the connection has one.
#[derive(Debug, Clone, Copy)]
pub struct Client(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Client(client_addr_of(&parts.extensions, &parts.headers, &state.limits.trusted_proxies)))
    }
}

impl Client {
    /// Spends one of this client's attempts at `what`; `429` with `Retry-After` when none is left.
    pub fn attempt(&self, state: &AppState, what: Sensitive) -> Result<(), ApiError> {
        state.rate.take_sensitive(what, self.0, state.node.nodes_alive()).map_err(ApiError::RateLimited)
    }
}
