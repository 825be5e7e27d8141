//! Middleware: the `.json` suffix made optional, per-credential rate limits with Zendesk's
//! headers, and a request log that names the route template, status and ids, never the URL
//! (queries carry e-mails) or bodies.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

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

/// A token bucket per credential: `per_minute` requests, refilled continuously.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<[u8; 16], (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests per key.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket: `Ok(remaining)` or `Err(retry_after_secs)`.
    pub fn take(&self, key: [u8; 16]) -> Result<u32, u64> {
        let cap = f64::from(self.per_minute);
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if b.len() > 100_000 {
            b.retain(|_, (_, t)| now.duration_since(*t).as_secs() < 60);
        }
        let (tokens, last) = b.entry(key).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(tokens.floor() as u32)
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// The configured limit.
    pub fn limit(&self) -> u32 {
        self.per_minute
    }
}

fn rate_key(req: &Request) -> [u8; 16] {
    let mut h = Sha256::new();
    match req.headers().get(axum::http::header::AUTHORIZATION) {
        Some(v) => h.update(v.as_bytes()),
        None => {
            let addr = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default();
            h.update(b"anon:");
            h.update(addr.as_bytes());
        }
    }
    let mut k = [0u8; 16];
    k.copy_from_slice(&h.finalize()[..16]);
    k
}

/// Applies the rate limit and adds `X-Rate-Limit` headers.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.rate.limit();
    match state.rate.take(rate_key(&req)) {
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

/// Logs each request by route template, status and duration.
pub async fn request_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("request", http.method = %method, http.route = %route, tenant.id = tracing::field::Empty, actor.id = tracing::field::Empty);
    let res = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let status = res.status().as_u16();
    span.in_scope(|| tracing::info!(http.status = status, latency.ms = started.elapsed().as_millis() as u64, "request"));
    res
}
