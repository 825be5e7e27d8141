//! What Zendesk's bulk requests look like, parsed at the edge: a list of 1 to 100 objects under
//! one key (`create_many`), and the two forms of `update_many` — `?ids=1,2` with one object of
//! changes for each, or a list of objects each carrying its `id`. The services run the items
//! (`suoja_helpdesk`'s `run_job`); this only turns the body into typed inputs or refuses it
//! whole, so a malformed item changes nothing.

use serde_json::{Map, Value};

use crate::ApiError;
use crate::extract::{JsonBody, Obj, Params};

/// The items of `{"<list>": [{…}, …]}` (1 to 100 objects), each parsed by `parse`; nothing
/// else may be in the body.
pub fn items<T>(body: &JsonBody, list: &str, parse: impl Fn(&Obj<'_>) -> Result<T, ApiError>) -> Result<Vec<T>, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&[list])?;
    objects(root.raw(list), list)?.into_iter().map(|m| parse(&Obj::root(m))).collect()
}

/// The changes of an `update_many`: `?ids=` with `{"<one>": {…}}` (the same change for each
/// id, in the order given, each once), or `{"<list>": [{"id": 1, …}, …]}` (a change each, `id`
/// required). One form or the other, never both; at most 100 ids.
pub fn changes<T: Clone>(
    body: &JsonBody,
    params: &Params,
    one: &str,
    list: &str,
    parse: impl Fn(&Obj<'_>) -> Result<T, ApiError>,
) -> Result<Vec<(i64, T)>, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&[one, list])?;
    if params.get("ids").is_some() {
        if root.raw(list).is_some() {
            return Err(ApiError::BadRequest(format!(
                "give ids with one {one} object, or a {list} list without ids, not both"
            )));
        }
        let mut ids = params.ids("ids")?;
        if ids.is_empty() {
            return Err(ApiError::BadRequest("ids: name 1 to 100 ids, comma-separated".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        ids.retain(|id| seen.insert(*id));
        let change = parse(&root.object(one)?)?;
        return Ok(ids.into_iter().map(|id| (id, change.clone())).collect());
    }
    if root.raw(one).is_some() {
        return Err(ApiError::BadRequest(format!("a {one} object applies to the ids given as ?ids=1,2")));
    }
    let mut out = Vec::new();
    for m in objects(root.raw(list), list)? {
        let id = match m.get("id") {
            Some(Value::Number(n)) => n.as_i64().filter(|i| *i > 0),
            _ => None,
        }
        .ok_or_else(|| ApiError::Field(format!("{list}.id"), format!("{list}.id: each item needs its id"), "BlankValue"))?;
        let mut rest = m.clone();
        rest.remove("id");
        out.push((id, parse(&Obj::root(&rest))?));
    }
    Ok(out)
}

fn objects<'a>(v: Option<&'a Value>, list: &str) -> Result<Vec<&'a Map<String, Value>>, ApiError> {
    let Some(Value::Array(items)) = v else {
        return Err(ApiError::Field(list.into(), format!("{list}: must be a list of objects"), "InvalidValue"));
    };
    if items.is_empty() || items.len() > 100 {
        return Err(ApiError::Field(list.into(), format!("{list}: 1 to 100 items per request"), "TooManyValues"));
    }
    items
        .iter()
        .map(|it| match it {
            Value::Object(m) => Ok(m),
            _ => Err(ApiError::Field(list.into(), format!("{list}: each item must be an object"), "InvalidValue")),
        })
        .collect()
}
