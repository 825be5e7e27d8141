//! The interface's own files — stylesheet, script, icon — compiled into the binary and served
//! from `/assets/`, so a page never asks another site for anything.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../assets/app.js")),
    ("icon.svg", "image/svg+xml", include_str!("../../assets/icon.svg")),
];

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, ty, body)) => {
            let mut r = (StatusCode::OK, *body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
            r
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
