//! HTTP: the Zendesk-compatible API under `/api/v2`, its OpenAPI document, and the middleware
//! around it (path normalisation, rate limits, request log without personal data). Handlers
//! translate between the wire and the helpdesk services and delegate; rules live below.

mod api_v2;
mod error;
mod extract;
mod middleware;
mod openapi;
mod routes;
mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use suoja_helpdesk::Helpdesk;
use suoja_privacy::Privacy;
use tokio::net::TcpListener;
use tower::Layer as _;

pub use error::ApiError;
pub use middleware::RateLimiter;

/// Limits applied to requests.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest JSON body, in bytes.
    pub max_json_bytes: usize,
    /// Largest upload, in bytes.
    pub max_upload_bytes: usize,
    /// Requests per minute per credential (the account it names).
    pub rate_per_minute: u32,
    /// Requests per minute per client address, whatever credentials it sends.
    pub rate_per_client: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_json_bytes: 1024 * 1024,
            max_upload_bytes: suoja_helpdesk::uploads::MAX_UPLOAD_BYTES,
            rate_per_minute: 700,
            rate_per_client: 3_500,
            trusted_proxies: Vec::new(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The helpdesk services.
    pub helpdesk: Helpdesk,
    /// The privacy services.
    pub privacy: Privacy,
    /// Where people reach this installation (links in messages never follow the request's host).
    pub public_url: String,
    /// Request limits.
    pub limits: HttpLimits,
    /// The rate limiter.
    pub rate: Arc<RateLimiter>,
}

impl AppState {
    /// State over `privacy` (and the helpdesk under it) with `limits`.
    pub fn new(privacy: Privacy, public_url: String, limits: HttpLimits) -> Self {
        let rate = Arc::new(RateLimiter::new(limits.rate_per_minute, limits.rate_per_client));
        Self {
            helpdesk: privacy.helpdesk().clone(),
            privacy,
            public_url,
            limits,
            rate,
        }
    }
}

/// The application router (paths already normalised).
pub fn router(state: AppState) -> Router {
    routes::build(state)
}

/// Serves the application on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish (bounded by `grace`).
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static, grace: Duration) -> std::io::Result<()> {
    let app = middleware::NormalizePathLayer.layer(router(state));
    let make = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<std::net::SocketAddr>(app);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, make).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = tx.send(());
    });
    let server = tokio::spawn(server.into_future());
    let _ = rx.await;
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(std::io::Error::other(join.to_string())),
        Err(_) => {
            tracing::warn!(grace.secs = grace.as_secs(), "in-flight requests did not finish in time");
            Ok(())
        }
    }
}
