//! Writing into JSON objects without indexing: `serde_json`'s `value["key"] = …` panics when
//! the value is not an object, and the workspace forbids indexing that may panic.

use serde_json::{Map, Value};

/// Sets `key` in the object `v` (a null becomes an empty object first, as indexing would do);
/// any other kind of value is left as it is.
pub fn set(v: &mut Value, key: &str, value: Value) {
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_string(), value);
    }
}

/// The member `key` of the object `v`, made (null) if missing; `None` when `v` is neither an
/// object nor null.
pub fn member<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    v.as_object_mut().map(|o| o.entry(key.to_string()).or_insert(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_into_objects_and_nulls_only() {
        let mut v = Value::Null;
        set(&mut v, "a", json!(1));
        assert_eq!(v, json!({"a": 1}));
        if let Some(inner) = member(&mut v, "b") {
            set(inner, "c", json!(true));
        }
        assert_eq!(v, json!({"a": 1, "b": {"c": true}}));
        let mut list = json!([1]);
        set(&mut list, "a", json!(2));
        assert_eq!(list, json!([1]));
    }
}
