//! The query string as typed parameters, the base URL the client used (for absolute links),
//! and pagination parameters (offset `page`/`per_page` or cursor `page[size]`/`page[after]`).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;

use crate::{ApiError, AppState};

/// Query parameters; unknown ones are ignored, as the clients send junk (`include=None`).
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).map_err(|_| ApiError::BadRequest("The query string is not valid".into()))?;
        Ok(Params(pairs.into_iter().collect()))
    }
}

impl Params {
    /// A parameter's value.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    /// An integer parameter within `[min, max]`.
    pub fn int(&self, k: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.get(k) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .map(Some)
                .ok_or_else(|| ApiError::BadRequest(format!("{k} must be a whole number from {min} to {max}"))),
        }
    }

    /// A comma-separated id list.
    pub fn ids(&self, k: &str) -> Result<Vec<i64>, ApiError> {
        let Some(v) = self.get(k) else {
            return Err(ApiError::BadRequest(format!("{k} is required")));
        };
        let ids: Vec<i64> = v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError::BadRequest(format!("{k} must be a comma-separated list of ids")))
            })
            .collect::<Result<_, _>>()?;
        if ids.len() > 100 {
            return Err(ApiError::BadRequest(format!("{k} takes at most 100 ids")));
        }
        Ok(ids)
    }

    /// Pagination parameters.
    pub fn paging(&self) -> Result<PageParams, ApiError> {
        let cursor = self.get("page[size]").is_some() || self.get("page[after]").is_some() || self.get("page[before]").is_some();
        if cursor {
            let size = self.int("page[size]", 1, 100)?.unwrap_or(100);
            let after = self.get("page[after]").filter(|s| !s.is_empty()).map(decode_cursor).transpose()?;
            let before = self.get("page[before]").filter(|s| !s.is_empty()).map(decode_cursor).transpose()?;
            Ok(PageParams::Cursor { size, after, before })
        } else {
            let page = self.int("page", 1, 100_000)?.unwrap_or(1);
            let per_page = self.int("per_page", 1, 100)?.unwrap_or(100);
            if (page - 1) * per_page >= 10_000 {
                return Err(ApiError::BadRequest(
                    "Offset pagination is limited to the first 10,000 records; use cursor pagination".into(),
                ));
            }
            Ok(PageParams::Offset { page, per_page })
        }
    }
}

/// Pagination asked for.
#[derive(Debug, Clone, Copy)]
pub enum PageParams {
    /// Offset pagination.
    Offset {
        /// 1-based page.
        page: i64,
        /// Page size.
        per_page: i64,
    },
    /// Cursor pagination.
    Cursor {
        /// Page size.
        size: i64,
        /// After this id.
        after: Option<i64>,
        /// Before this id.
        before: Option<i64>,
    },
}

impl PageParams {
    /// The service-level paging.
    pub fn to_paging(self) -> suoja_helpdesk::users::Paging {
        match self {
            PageParams::Offset { page, per_page } => suoja_helpdesk::users::Paging::Offset { page, per_page },
            PageParams::Cursor { size, after, before } => suoja_helpdesk::users::Paging::Cursor { after, before, size },
        }
    }
}

/// Encodes an id as an opaque cursor.
pub fn encode_cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("i{id}"))
}

pub fn decode_cursor(s: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::BadRequest("The pagination cursor is not valid; use the links the previous page returned".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix('i').and_then(|n| n.parse::<i64>().ok()).ok_or_else(bad)
}

/// Parses a path id; anything but a positive integer is a missing record.
pub fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>().ok().filter(|i| *i > 0).ok_or(ApiError::NotFound)
}

/// `scheme://host` as the client called us (honouring `X-Forwarded-Proto`/`-Host`).
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

fn clean_host(h: &str) -> Option<&str> {
    let h = h.split(',').next()?.trim();
    (!h.is_empty() && h.len() < 256 && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))).then_some(h)
}

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let h = &parts.headers;
        let host = h
            .get("x-forwarded-host")
            .and_then(|v| v.to_str().ok())
            .and_then(clean_host)
            .or_else(|| h.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).and_then(clean_host))
            .unwrap_or("127.0.0.1");
        let scheme = match h.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
            Some(p) if p.trim().eq_ignore_ascii_case("https") => "https",
            _ => "http",
        };
        Ok(BaseUrl(format!("{scheme}://{host}")))
    }
}

impl BaseUrl {
    /// An absolute API URL for `path` (which starts with `/`).
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v2{path}", self.0)
    }
}

/// Builds a URL with `params` replaced or added.
pub fn with_params(base: &str, path: &str, keep: &Params, set: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = keep
        .0
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k) && !k.starts_with("page[") && k.as_str() != "page" && k.as_str() != "cursor")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    pairs.sort();
    for (k, v) in set {
        pairs.push(((*k).to_string(), v.clone()));
    }
    let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{base}/api/v2{path}.json?{q}")
}

// Fuzzing: cursors and ids come back from clients as they please. Any text decodes or is
// refused as the client's mistake; what encodes, decodes to itself.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_cursor_decodes_or_is_refused(s in prop_oneof!["\\PC{0,60}", "[A-Za-z0-9_=-]{0,40}", any::<String>()]) {
            match decode_cursor(&s) {
                Ok(id) => prop_assert_eq!(decode_cursor(&encode_cursor(id)).ok(), Some(id)),
                Err(e) => prop_assert!(axum::response::IntoResponse::into_response(e).status().is_client_error()),
            }
        }

        #[test]
        fn cursors_round_trip(id in any::<i64>()) {
            prop_assert_eq!(decode_cursor(&encode_cursor(id)).ok(), Some(id));
        }

        #[test]
        fn any_path_id_is_positive_or_missing(s in prop_oneof!["\\PC{0,30}", "-?[0-9]{0,25}"]) {
            if let Ok(id) = parse_id(&s) {
                prop_assert!(id > 0);
            }
        }
    }
}
