//! Middleware: the `.json` suffix made optional, per-credential rate limits with Zendesk's
//! headers, and a request log that names the route template, status and ids, never the URL
//! (queries carry e-mails) or bodies.

use std::future::Future as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use sha2::{Digest as _, Sha256};
use tower::Layer;
use tower::util::MapRequest;

use crate::{ApiError, AppState};

/// Strips a trailing `.json` from the path before routing, so `/api/v2/tickets.json` and
/// `/api/v2/tickets` reach the same handler.
#[derive(Debug, Clone, Copy)]
pub struct NormalizePathLayer;

impl<S> Layer<S> for NormalizePathLayer {
    type Service = MapRequest<S, fn(Request) -> Request>;
    fn layer(&self, inner: S) -> Self::Service {
        MapRequest::new(inner, strip_json as fn(Request) -> Request)
    }
}

fn strip_json(mut req: Request) -> Request {
    let path = req.uri().path();
    if let Some(stripped) = path.strip_suffix(".json") {
        let mut s = stripped.to_string();
        if let Some(q) = req.uri().query() {
            s.push('?');
            s.push_str(q);
        }
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = s.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// Slots of the rate limiter's table (a power of two): its memory is fixed, whatever the
/// number of clients or invented credentials.
const SLOTS: usize = 1 << 16;

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: [u8; 16],
    tokens: f64,
    last: Instant,
}

/// Token buckets, refilled continuously: one per client address and one per account a
/// credential names. The table has a fixed number of slots; a key lives in one of two slots
/// chosen by its hash, and a new key takes over the least recently used of the two — so memory
/// never grows and no request scans the table.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    per_client: u32,
    slots: Mutex<Vec<Option<Slot>>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests per account and `per_client` per client address.
    pub fn new(per_minute: u32, per_client: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            per_client: per_client.max(1),
            slots: Mutex::new(vec![None; SLOTS]),
        }
    }

    /// Takes one request from `key`'s bucket of `per_minute`, of which this node enforces its
    /// `share` (one of that many nodes): `Ok(remaining)` or `Err(retry_after_secs)`.
    fn take(&self, key: [u8; 16], per_minute: u32, share: u32) -> Result<u32, u64> {
        self.take_within(key, per_minute.div_ceil(share.max(1)), 60.0)
    }

    /// Takes one of the few anonymous attempts at `what` a client gets (see [`Sensitive`]):
    /// `Err(retry_after_secs)` when they are spent. These buckets live in the same fixed table.
    /// With `share` nodes serving, this node allows its share of them (rounded up).
    pub fn take_sensitive(&self, what: Sensitive, client: Option<std::net::IpAddr>, share: u32) -> Result<(), u64> {
        let client = client.map(|ip| ip.to_string()).unwrap_or_default();
        let (cap, window) = what.allowance();
        self.take_within(
            key(&[b"sensitive", what.name().as_bytes(), client.as_bytes()]),
            cap.div_ceil(share.max(1)),
            window,
        )
        .map(|_| ())
    }

    /// Takes one from `key`'s bucket holding `cap`, refilled over `window_secs`.
    fn take_within(&self, key: [u8; 16], cap: u32, window_secs: f64) -> Result<u32, u64> {
        let cap = f64::from(cap.max(1));
        let rate = cap / window_secs;
        let now = Instant::now();
        let index = |a: u8, b: u8| (usize::from(a) << 8 | usize::from(b)) & (SLOTS - 1);
        let (i1, i2) = (index(key[0], key[1]), index(key[2], key[3]));
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let pick = match (slots.get(i1).copied().flatten(), slots.get(i2).copied().flatten()) {
            (Some(s), _) if s.key == key => i1,
            (_, Some(s)) if s.key == key => i2,
            (None, _) => i1,
            (_, None) => i2,
            (Some(a), Some(b)) => {
                if a.last <= b.last {
                    i1
                } else {
                    i2
                }
            }
        };
        let Some(cell) = slots.get_mut(pick) else { return Ok(0) };
        let slot = match cell {
            Some(s) if s.key == key => s,
            other => other.insert(Slot { key, tokens: cap, last: now }),
        };
        slot.tokens = (slot.tokens + now.duration_since(slot.last).as_secs_f64() * rate).min(cap);
        slot.last = now;
        if slot.tokens >= 1.0 {
            slot.tokens -= 1.0;
            Ok(u32::try_from(suoja_core::num::floor_u64(slot.tokens.floor())).unwrap_or(u32::MAX))
        } else {
            Err(suoja_core::num::floor_u64(((1.0 - slot.tokens) / rate).ceil().max(1.0)))
        }
    }

    /// The limit per account.
    pub fn limit(&self) -> u32 {
        self.per_minute
    }
}

/// Anonymous operations that send mail or test a secret: each client address gets a few, on
/// top of the general limit, wherever the attempts are aimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitive {
    /// Trying the code of a privacy request's confirmation link: 10 per 10 minutes.
    Confirmation,
    /// Asking for a link by e-mail (sign-in link, privacy request without a session): 10 an hour.
    MailedLink,
    /// Trying the operator's token (`/operator`): 10 per 10 minutes.
    OperatorToken,
}

impl Sensitive {
    fn name(self) -> &'static str {
        match self {
            Sensitive::Confirmation => "confirmation",
            Sensitive::MailedLink => "mailed-link",
            Sensitive::OperatorToken => "operator-token",
        }
    }

    /// (attempts, over how many seconds).
    fn allowance(self) -> (u32, f64) {
        match self {
            Sensitive::Confirmation => (10, 600.0),
            Sensitive::MailedLink => (10, 3600.0),
            Sensitive::OperatorToken => (10, 600.0),
        }
    }
}

fn key(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
        h.update(b"\0");
    }
    let mut k = [0u8; 16];
    for (to, from) in k.iter_mut().zip(h.finalize()) {
        *to = from;
    }
    k
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the nearest address
/// in `X-Forwarded-For` that is not one of the trusted proxies.
pub fn client_addr(req: &Request, trusted: &[std::net::IpAddr]) -> Option<std::net::IpAddr> {
    client_addr_of(req.extensions(), req.headers(), trusted)
}

/// [`client_addr`] from a request's parts (for extractors). Every `X-Forwarded-For` line counts
/// (a proxy may add a line rather than extend one), read from the right: the first hop that is
/// not a trusted proxy is the client. A hop may carry a port (`203.0.113.5:4711`,
/// `[2001:db8::1]:4711`); IPv4 addresses mapped into IPv6 compare as IPv4.
pub fn client_addr_of(extensions: &axum::http::Extensions, headers: &axum::http::HeaderMap, trusted: &[std::net::IpAddr]) -> Option<std::net::IpAddr> {
    let canonical = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    };
    let is_trusted = |ip: std::net::IpAddr| trusted.iter().any(|t| canonical(*t) == canonical(ip));
    let peer = canonical(extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())?);
    if !is_trusted(peer) {
        return Some(peer);
    }
    let lines: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    let joined = lines.join(",");
    for hop in joined.rsplit(',') {
        let hop = hop.trim();
        if hop.is_empty() {
            continue;
        }
        let parsed = hop
            .parse::<std::net::IpAddr>()
            .ok()
            .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()));
        match parsed.map(canonical) {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return Some(ip),
            // A hop that is not an address: nothing left of it can be trusted; the proxy is the
            // client as far as Suoja can tell.
            None => return Some(peer),
        }
    }
    Some(peer)
}

/// The account a request's credentials name: the e-mail of Basic credentials (a password or
/// `email/token`), or the bearer token itself. Invented credentials for one address share its
/// bucket; a guessed address is limited wherever the guesses come from.
fn account(req: &Request) -> Option<Vec<u8>> {
    let v = req.headers().get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
            let email = user.strip_suffix("/token").unwrap_or(user);
            Some([b"basic:".as_slice(), email.to_lowercase().as_bytes()].concat())
        }
        _ => Some([b"other:".as_slice(), rest.trim().as_bytes()].concat()),
    }
}

/// `Strict-Transport-Security` on every answer when the installation is reached over HTTPS.
pub async fn transport_security(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if state.public_url.starts_with("https://") {
        res.headers_mut()
            .insert("strict-transport-security", HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

/// With several regions: a request whose host names a tenant another region serves is refused
/// (421, naming that region and where it is reached) before any handler reads or writes, whatever
/// credentials it carries. Health checks and metrics are the node's own.
pub async fn region_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.helpdesk.residency().is_none() || matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics") {
        return next.run(req).await;
    }
    let host = req.headers().get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    match state.helpdesk.check_region(host).await {
        Ok(()) => next.run(req).await,
        Err(e) => ApiError::Helpdesk(e).into_response(),
    }
}

/// Applies the rate limits (per client address, then per account) and adds `X-Rate-Limit`
/// headers; a refused request costs nothing more than this. Health checks are not limited. With several nodes serving one
/// database, each enforces its share of every limit (a balancer spreading requests evenly makes
/// the shares add up to the limit); the headers speak of the whole limit.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // A load balancer's health checks come from its own address, as often as it likes, and
    // must never be refused: they cost nothing (`/readyz` asks the database at most a few times
    // a second, whoever asks).
    if matches!(req.uri().path(), "/healthz" | "/readyz") {
        return next.run(req).await;
    }
    let limit = state.rate.limit();
    let share = state.node.nodes_alive();
    let client = client_addr(&req, &state.limits.trusted_proxies).map(|ip| ip.to_string()).unwrap_or_default();
    let taken = state
        .rate
        .take(key(&[b"client", client.as_bytes()]), state.rate.per_client, share)
        .and_then(|by_client| match account(&req) {
            Some(a) => state.rate.take(key(&[b"account", &a]), state.rate.per_minute, share),
            None => Ok(by_client),
        })
        .map(|remaining| remaining.saturating_mul(share).min(limit));
    match taken {
        Ok(remaining) => {
            let mut res = next.run(req).await;
            let h = res.headers_mut();
            h.insert("x-rate-limit", HeaderValue::from(limit));
            h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
            res
        }
        Err(retry) => {
            let mut res = ApiError::RateLimited(retry).into_response();
            res.headers_mut().insert("x-rate-limit", HeaderValue::from(limit));
            res.headers_mut().insert("x-rate-limit-remaining", HeaderValue::from(0u32));
            res
        }
    }
}

/// Logs each request by route template, status and duration, and counts it in the node's
/// metrics.
pub async fn request_log(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let _in_flight = state.node.request_started();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("request", http.method = %method, http.route = %route, tenant.id = tracing::field::Empty, actor.id = tracing::field::Empty);
    let res = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let status = res.status().as_u16();
    state.node.request_ended(method.as_str(), &route, status, started.elapsed());
    span.in_scope(|| {
        tracing::info!(
            http.status = status,
            latency.ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "request"
        )
    });
    res
}

/// After its first [`HttpLimits::body_timeout`](crate::HttpLimits) a request body must keep
/// arriving at this many bytes a second on average, or it fails: a slow upload goes on, a client
/// trickling a byte now and then does not hold the request.
pub const MIN_BODY_BYTES_PER_SEC: f64 = 16.0 * 1024.0;

/// A request body that fails once its deadline has passed; each frame that arrives moves the
/// deadline on by the time its bytes may take at [`MIN_BODY_BYTES_PER_SEC`].
struct DeadlineBody {
    inner: axum::body::Body,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(Some(Err(axum::Error::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let more = Duration::from_secs_f64(data.len() as f64 / MIN_BODY_BYTES_PER_SEC);
            let until = self.deadline.deadline() + more;
            self.deadline.as_mut().reset(until);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Gives every request body a deadline.
pub async fn body_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let timeout = state.limits.body_timeout;
    let req = req.map(|b| {
        axum::body::Body::new(DeadlineBody {
            inner: b,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        })
    });
    next.run(req).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot go on should panic")]
    use super::*;

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right_over_every_header_line() {
        let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        let client = |peer: &str, lines: &[&str]| {
            let mut ext = axum::http::Extensions::new();
            ext.insert(axum::extract::ConnectInfo(peer.parse::<std::net::SocketAddr>().unwrap()));
            let mut h = axum::http::HeaderMap::new();
            for l in lines {
                h.append("x-forwarded-for", l.parse().unwrap());
            }
            client_addr_of(&ext, &h, &[proxy]).unwrap().to_string()
        };
        // A forged first line does not win over the hop the proxy added.
        assert_eq!(client("10.0.0.2:80", &["203.0.113.5", "198.51.100.9"]), "198.51.100.9");
        assert_eq!(client("10.0.0.2:80", &["203.0.113.5, 198.51.100.9"]), "198.51.100.9");
        assert_eq!(client("10.0.0.2:80", &["198.51.100.9:4711"]), "198.51.100.9");
        assert_eq!(client("10.0.0.2:80", &["[2001:db8::1]:4711"]), "2001:db8::1");
        // The proxy on a dual-stack listener, and a client that is not behind it.
        assert_eq!(client("[::ffff:10.0.0.2]:80", &["198.51.100.9"]), "198.51.100.9");
        assert_eq!(client("192.0.2.1:80", &["203.0.113.5"]), "192.0.2.1");
        assert_eq!(client("10.0.0.2:80", &["not-an-address"]), "10.0.0.2");
    }

    #[test]
    fn buckets_hold_their_keys_in_fixed_memory() {
        let r = RateLimiter::new(5, 20);
        let k = key(&[b"account", b"a@b.fi"]);
        for _ in 0..5 {
            assert!(r.take(k, 5, 1).is_ok());
        }
        assert!(r.take(k, 5, 1).is_err(), "the sixth in a minute is refused");
        // A flood of other keys neither grows the table nor loses an active key for long: it
        // takes over least recently used slots.
        for i in 0..200_000u32 {
            let _ = r.take(key(&[b"client", &i.to_le_bytes()]), 20, 1);
        }
        assert_eq!(r.slots.lock().unwrap().len(), SLOTS);
    }

    #[test]
    fn each_of_several_nodes_enforces_its_share_rounded_up() {
        let r = RateLimiter::new(10, 50);
        let k = key(&[b"account", b"a@b.fi"]);
        // One of three nodes: 10 / 3, rounded up, is 4.
        for _ in 0..4 {
            assert!(r.take(k, 10, 3).is_ok());
        }
        assert!(r.take(k, 10, 3).is_err(), "the fifth on this node is refused");
        let alone = key(&[b"account", b"c@d.fi"]);
        for _ in 0..10 {
            assert!(r.take(alone, 10, 1).is_ok());
        }
        assert!(r.take(alone, 10, 1).is_err());
        // The few anonymous attempts are shared too, never down to none.
        let ip = Some("192.0.2.7".parse().unwrap());
        let (cap, _) = Sensitive::MailedLink.allowance();
        let mut allowed = 0;
        while r.take_sensitive(Sensitive::MailedLink, ip, 3).is_ok() {
            allowed += 1;
        }
        assert_eq!(allowed, cap.div_ceil(3));
        assert!(allowed >= 1);
    }
}
