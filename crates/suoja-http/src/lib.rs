//! HTTP: the Zendesk-compatible API under `/api/v2`, its OpenAPI document, and the middleware
//! around it (path normalisation, rate limits, request log without personal data). Handlers
//! translate between the wire and the helpdesk services and delegate; rules live below.

mod api_v2;
mod audit;
mod error;
mod extract;
mod middleware;
pub mod node;
mod openapi;
mod package_body;
mod routes;
mod uniform;
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
pub use routes::every_route;

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
    /// How long a client has to send a request's headers, and how long a kept-alive connection
    /// may wait idle for its next request.
    pub header_timeout: Duration,
    /// How long a client has to start sending a body (then it must keep up a minimum rate).
    pub body_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_json_bytes: 1024 * 1024,
            max_upload_bytes: suoja_helpdesk::uploads::MAX_UPLOAD_BYTES,
            rate_per_minute: 700,
            rate_per_client: 3_500,
            trusted_proxies: Vec::new(),
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler can reach: a handle to [`Shared`], cloned for every request (by each
/// extractor and middleware that takes the state) at the cost of one reference count. Cloned
/// whole, the services' handles, caches and settings took about a tenth of the server's time
/// under a load of new tickets.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The state every handler reaches through [`AppState`].
#[derive(Clone, Debug)]
pub struct Shared {
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
    /// The mail channel, when the installation sends or fetches mail.
    pub mail: Option<Arc<suoja_mail::Setup>>,
    /// This node: readiness, metrics, the nodes serving with it.
    pub node: Arc<node::Node>,
    /// The operator's pages, when an operator token is configured.
    pub operator: Option<Arc<OperatorAccess>>,
}

/// What opens the operator's pages (`/operator`) and where they create tenants.
#[derive(Clone)]
pub struct OperatorAccess {
    /// The configured operator token.
    pub token: String,
    /// The region this node creates tenants in (its own).
    pub region: String,
}

impl std::fmt::Debug for OperatorAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorAccess").field("region", &self.region).finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `privacy` (and the helpdesk under it) with `limits`.
    pub fn new(privacy: Privacy, public_url: String, limits: HttpLimits) -> Self {
        let rate = Arc::new(RateLimiter::new(limits.rate_per_minute, limits.rate_per_client));
        Self(Arc::new(Shared {
            helpdesk: privacy.helpdesk().clone(),
            privacy,
            public_url,
            limits,
            rate,
            mail: None,
            node: Arc::new(node::Node::new("suoja".into(), None)),
            operator: None,
        }))
    }

    /// The state to change while it is being built (copied if a handle was already cloned).
    fn building(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }

    /// With the operator's pages opened by `access` (none: not served).
    pub fn with_operator(mut self, access: Option<OperatorAccess>) -> Self {
        self.building().operator = access.map(Arc::new);
        self
    }

    /// As the node `node` (its name, metrics token and counters shared with the background work).
    pub fn with_node(mut self, node: Arc<node::Node>) -> Self {
        self.building().node = node;
        self
    }

    /// With the mail channel `mail` (the admins' mail page shows and tests it).
    pub fn with_mail(mut self, mail: Option<suoja_mail::Setup>) -> Self {
        self.building().mail = mail.map(Arc::new);
        self
    }
}

/// The application router (paths already normalised).
pub fn router(state: AppState) -> Router {
    routes::build(state)
}

/// Serves the application on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish (bounded by `grace`). Each connection speaks HTTP/1.1 with a header-read timeout that
/// also ends idle kept-alive connections, and every request body must arrive in time
/// ([`HttpLimits::body_timeout`], then [`middleware::MIN_BODY_BYTES_PER_SEC`]): a slow client
/// holds nothing for long.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static, grace: Duration) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::Service as _;
    let header_timeout = state.limits.header_timeout;
    let app = middleware::NormalizePathLayer.layer(router(state));
    let mut make = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<std::net::SocketAddr>(app);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(service) = make.call(peer).await;
        let service =
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(service, |req: axum::http::Request<hyper::body::Incoming>| {
                req.map(axum::body::Body::new)
            }));
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace.secs = grace.as_secs(), "in-flight requests did not finish in time");
        }
    }
    Ok(())
}
