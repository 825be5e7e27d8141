//! The one place errors become responses: a status and a Zendesk-shaped JSON body
//! (`{"error", "description", "details"}`). Internal detail is logged here, once, and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use suoja_core::ErrorKind;
use suoja_helpdesk::HelpdeskError;
use suoja_privacy::PrivacyError;

/// An error on its way to the client.
#[derive(Debug)]
pub enum ApiError {
    /// From a service.
    Helpdesk(HelpdeskError),
    /// The request itself is malformed (body, query, headers).
    BadRequest(String),
    /// A field of the body is wrong: (field, message, Zendesk code).
    Field(String, String, &'static str),
    /// The body is over the limit.
    TooLarge(usize),
    /// No such route or record.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// Too many requests; retry after the given seconds.
    RateLimited(u64),
    /// Wrong content type for a body.
    UnsupportedMediaType,
    /// From a privacy service.
    Privacy(PrivacyError),
}

impl From<PrivacyError> for ApiError {
    fn from(e: PrivacyError) -> Self {
        match e {
            PrivacyError::Helpdesk(h) => ApiError::Helpdesk(h),
            other => ApiError::Privacy(other),
        }
    }
}

impl From<suoja_mail::MailError> for ApiError {
    fn from(e: suoja_mail::MailError) -> Self {
        use suoja_mail::MailError as M;
        match e {
            M::Helpdesk(h) => ApiError::Helpdesk(h),
            M::Store(s) => ApiError::Helpdesk(HelpdeskError::Store(s)),
            M::Vault(v) => ApiError::Helpdesk(HelpdeskError::Vault(v)),
            M::Refused(r) => ApiError::BadRequest(r.to_string()),
            other @ (M::Tenant(_) | M::Config(_) | M::Server(_)) => ApiError::Helpdesk(HelpdeskError::Internal(other.to_string())),
        }
    }
}

impl From<HelpdeskError> for ApiError {
    fn from(e: HelpdeskError) -> Self {
        ApiError::Helpdesk(e)
    }
}

fn body(status: StatusCode, v: Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    r
}

fn record_invalid(field: &str, message: &str, code: &str) -> Value {
    json!({
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": { field: [{ "description": message, "error": code }] }
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::BadRequest(m) => body(StatusCode::BAD_REQUEST, json!({"error": "BadRequest", "description": m})),
            ApiError::Field(f, m, c) => body(StatusCode::UNPROCESSABLE_ENTITY, record_invalid(&f, &m, c)),
            ApiError::TooLarge(limit) => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "RequestTooLarge", "description": format!("The request body is larger than {limit} bytes")}),
            ),
            ApiError::NotFound => body(StatusCode::NOT_FOUND, json!({"error": "RecordNotFound", "description": "Not found"})),
            ApiError::MethodNotAllowed => body(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "MethodNotAllowed", "description": "This endpoint does not support that method"}),
            ),
            ApiError::UnsupportedMediaType => body(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({"error": "UnsupportedMediaType", "description": "Send the body as application/json"}),
            ),
            ApiError::RateLimited(secs) => {
                let mut r = body(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"error": "TooManyRequests", "description": format!("Rate limit exceeded; retry in {secs} seconds")}),
                );
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            ApiError::Helpdesk(e) => helpdesk_response(e),
            ApiError::Privacy(e) => privacy_response(e),
        }
    }
}

fn privacy_response(e: PrivacyError) -> Response {
    match e {
        PrivacyError::Helpdesk(h) => helpdesk_response(h),
        PrivacyError::NotFound(_) => ApiError::NotFound.into_response(),
        PrivacyError::Invalid { field, message } => body(StatusCode::UNPROCESSABLE_ENTITY, record_invalid(field, &message, "InvalidValue")),
        PrivacyError::Forbidden(m) => body(StatusCode::FORBIDDEN, json!({"error": "Forbidden", "description": m})),
        PrivacyError::Conflict(m) => body(StatusCode::CONFLICT, json!({"error": "Conflict", "description": m})),
        PrivacyError::Superseded => body(
            StatusCode::CONFLICT,
            json!({"error": "Conflict", "description": PrivacyError::Superseded.to_string()}),
        ),
        PrivacyError::InvalidLink => body(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "InvalidLink", "description": PrivacyError::InvalidLink.to_string()}),
        ),
        PrivacyError::Internal(m) => {
            tracing::error!(error = %m, "internal error");
            body(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "InternalError", "description": "Something went wrong on our side; it has been logged"}),
            )
        }
    }
}

fn helpdesk_response(e: HelpdeskError) -> Response {
    match &e {
        HelpdeskError::NotFound(_) => return ApiError::NotFound.into_response(),
        HelpdeskError::Busy => return ApiError::RateLimited(1).into_response(),
        HelpdeskError::Limit { message, retry_after } => {
            let mut r = body(StatusCode::TOO_MANY_REQUESTS, json!({"error": "TooManyRequests", "description": message}));
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        HelpdeskError::Invalid { field, message, code } => return body(StatusCode::UNPROCESSABLE_ENTITY, record_invalid(field, message, code)),
        HelpdeskError::BadQuery(m) => return body(StatusCode::UNPROCESSABLE_ENTITY, json!({"error": "invalid", "description": m})),
        HelpdeskError::WrongRegion { region, url } => {
            return body(
                StatusCode::MISDIRECTED_REQUEST,
                json!({"error": "WrongRegion", "description": e.to_string(), "region": region, "url": url}),
            );
        }
        HelpdeskError::Moving => {
            let mut r = body(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "TenantMoving", "description": e.to_string()}));
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            return r;
        }
        HelpdeskError::Vault(suoja_vault_error) if suoja_vault_error.kind() == ErrorKind::NotFound => return ApiError::NotFound.into_response(),
        _ => {}
    }
    match e.kind() {
        ErrorKind::Unauthorized => body(StatusCode::UNAUTHORIZED, json!({"error": "Couldn't authenticate you"})),
        ErrorKind::Forbidden => body(StatusCode::FORBIDDEN, json!({"error": "Forbidden", "description": e.to_string()})),
        ErrorKind::Conflict => body(StatusCode::CONFLICT, json!({"error": "Conflict", "description": e.to_string()})),
        ErrorKind::Invalid => body(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "RecordInvalid", "description": e.to_string()}),
        ),
        ErrorKind::NotFound => ApiError::NotFound.into_response(),
        ErrorKind::Unavailable => {
            tracing::warn!(error = %e, "dependency unavailable");
            let mut r = body(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "Unavailable", "description": "The service is busy; try again shortly"}),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        ErrorKind::Internal => {
            tracing::error!(error = %e, "internal error");
            body(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "InternalError", "description": "Something went wrong on our side; it has been logged"}),
            )
        }
    }
}
