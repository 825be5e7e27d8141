//! `JsonBody`: the request body read within the size limit, checked to be UTF-8 and a JSON
//! object, and `Obj`, typed access to its fields where every error names the field. Unknown
//! fields are refused by the route that knows which fields exist.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};
use suoja_core::values::Invalid;

use crate::{ApiError, AppState};

/// A request body that is a JSON object (or empty).
#[derive(Debug, Clone, Default)]
pub struct JsonBody(pub Map<String, Value>);

/// Reads the body within `limit` bytes.
pub async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
        let text = e.to_string();
        if text.contains("length limit") || std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("length limit")) {
            ApiError::TooLarge(limit)
        } else {
            ApiError::BadRequest("The request body could not be read".into())
        }
    })
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
            let ct = ct.to_ascii_lowercase();
            if !ct.is_empty()
                && !ct.starts_with("application/json")
                && !ct.contains("+json")
                && !ct.starts_with("text/plain")
                && !ct.starts_with("application/x-www-form-urlencoded")
            {
                return Err(ApiError::UnsupportedMediaType);
            }
        }
        let bytes = read_body(req, state.limits.max_json_bytes).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Map::new()));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::BadRequest("The request body is not valid UTF-8".into()))?;
        let value: Value = serde_json::from_str(text).map_err(|e| ApiError::BadRequest(format!("The request body is not valid JSON: {}", describe(&e))))?;
        match value {
            Value::Object(m) => Ok(JsonBody(m)),
            _ => Err(ApiError::BadRequest("The request body must be a JSON object".into())),
        }
    }
}

fn describe(e: &serde_json::Error) -> String {
    format!("syntax error at line {} column {}", e.line(), e.column())
}

/// A JSON object with typed, field-named accessors.
#[derive(Debug, Clone)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

fn wrong(field: &str, expected: &str) -> ApiError {
    ApiError::Field(field.to_string(), format!("{field}: must be {expected}"), "InvalidValue")
}

impl<'a> Obj<'a> {
    /// Wraps the root object.
    pub fn root(map: &'a Map<String, Value>) -> Self {
        Self { map, prefix: String::new() }
    }

    fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// The object under `key`, required.
    pub fn object(&self, key: &str) -> Result<Obj<'a>, ApiError> {
        match self.map.get(key) {
            Some(Value::Object(m)) => Ok(Obj {
                map: m,
                prefix: self.name(key),
            }),
            Some(_) => Err(wrong(&self.name(key), "an object")),
            None => Err(ApiError::Field(self.name(key), format!("{}: is required", self.name(key)), "BlankValue")),
        }
    }

    /// The object under `key`, if present and not null.
    pub fn opt_object(&self, key: &str) -> Result<Option<Obj<'a>>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Obj {
                map: m,
                prefix: self.name(key),
            })),
            Some(_) => Err(wrong(&self.name(key), "an object")),
        }
    }

    /// Refuses fields outside `known` (Zendesk's documented fields, read-only ones included).
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        for k in self.map.keys() {
            if !known.contains(&k.as_str()) {
                let name = self.name(k);
                let shown: String = name.chars().take(60).collect();
                return Err(ApiError::Field(shown.clone(), format!("{shown}: is not a known field"), "InvalidValue"));
            }
        }
        Ok(())
    }

    /// The raw value.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// A string: absent → `None`, null → `Some(None)`.
    pub fn nullable_str(&self, key: &str, max: usize) -> Result<Option<Option<String>>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => {
                if s.chars().count() > max {
                    return Err(ApiError::Field(
                        self.name(key),
                        format!("{}: is too long (maximum is {max} characters)", self.name(key)),
                        "InvalidValue",
                    ));
                }
                if s.contains('\0') {
                    return Err(ApiError::Field(
                        self.name(key),
                        format!("{}: cannot contain NUL characters", self.name(key)),
                        "InvalidValue",
                    ));
                }
                Ok(Some(Some(s.clone())))
            }
            Some(Value::Number(n)) => Ok(Some(Some(n.to_string()))),
            Some(_) => Err(wrong(&self.name(key), "a string")),
        }
    }

    /// A string, absent or null → `None`.
    pub fn opt_str(&self, key: &str, max: usize) -> Result<Option<String>, ApiError> {
        Ok(self.nullable_str(key, max)?.flatten())
    }

    /// An integer id: absent → `None`, null → `Some(None)`. Numeric strings are accepted.
    pub fn nullable_id(&self, key: &str) -> Result<Option<Option<i64>>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Number(n)) => n
                .as_i64()
                .filter(|i| *i > 0)
                .map(|i| Some(Some(i)))
                .ok_or_else(|| wrong(&self.name(key), "a positive integer id")),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|i| *i > 0)
                .map(|i| Some(Some(i)))
                .ok_or_else(|| wrong(&self.name(key), "a positive integer id")),
            Some(_) => Err(wrong(&self.name(key), "a positive integer id")),
        }
    }

    /// An integer id, absent or null → `None`.
    pub fn opt_id(&self, key: &str) -> Result<Option<i64>, ApiError> {
        Ok(self.nullable_id(key)?.flatten())
    }

    /// An integer within `[min, max]`, absent or null → `None`.
    pub fn opt_int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .filter(|i| (min..=max).contains(i))
                .map(Some)
                .ok_or_else(|| wrong(&self.name(key), &format!("a whole number from {min} to {max}"))),
            Some(_) => Err(wrong(&self.name(key), &format!("a whole number from {min} to {max}"))),
        }
    }

    /// A boolean.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(wrong(&self.name(key), "true or false")),
        }
    }

    /// A list of ids.
    pub fn opt_ids(&self, key: &str) -> Result<Option<Vec<i64>>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => {
                if a.len() > 100 {
                    return Err(wrong(&self.name(key), "at most 100 ids"));
                }
                a.iter()
                    .map(|v| {
                        v.as_i64()
                            .filter(|i| *i > 0)
                            .ok_or_else(|| wrong(&self.name(key), "a list of positive integer ids"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
            Some(_) => Err(wrong(&self.name(key), "a list of ids")),
        }
    }

    /// A list of strings (a single string is split on spaces and commas, as Zendesk does for tags).
    pub fn opt_strings(&self, key: &str, max_items: usize, max_len: usize) -> Result<Option<Vec<String>>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                // A string of words is a list too, held to the same limits.
                let out: Vec<String> = s.split([' ', ',']).filter(|x| !x.is_empty()).map(str::to_string).collect();
                if out.len() > max_items || out.iter().any(|x| x.chars().count() > max_len || x.contains('\0')) {
                    return Err(wrong(&self.name(key), &format!("at most {max_items} values of at most {max_len} characters")));
                }
                Ok(Some(out))
            }
            Some(Value::Array(a)) => {
                if a.len() > max_items {
                    return Err(wrong(&self.name(key), &format!("at most {max_items} values")));
                }
                let mut out = Vec::with_capacity(a.len());
                for v in a {
                    match v {
                        Value::String(s) if s.chars().count() <= max_len && !s.contains('\0') => out.push(s.clone()),
                        Value::Number(n) => out.push(n.to_string()),
                        _ => return Err(wrong(&self.name(key), &format!("a list of strings of at most {max_len} characters"))),
                    }
                }
                Ok(Some(out))
            }
            Some(_) => Err(wrong(&self.name(key), "a list of strings")),
        }
    }

    /// Maps an edge-parse failure onto this field.
    pub fn invalid(&self, key: &str, e: Invalid) -> ApiError {
        let name = self.name(key);
        ApiError::Field(name.clone(), format!("{name}: {}", e.0), "InvalidValue")
    }
}
