//! The history part of an exported ticket: its audits (who changed what, when), with other
//! people shown by their placeholders, their identifiers replaced in the values, and comments
//! named only when the export shows them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::super::iso;
use super::super::people::People;
use super::{Withheld, int, json_text, text};
use crate::graph::{Field, Record};
use suoja_helpdesk::tickets::audits::PEOPLE_FIELDS;

/// The people an audit names by id (its author, and ids in its events), for placeholders.
pub(super) fn people_in(r: &Record, out: &mut BTreeSet<i64>) {
    out.extend(int(r, "author_id"));
    let Some(events) = r.get("events").text().and_then(|e| serde_json::from_str::<Vec<Value>>(e).ok()) else {
        return;
    };
    for e in &events {
        let named = e.get("field_name").and_then(Value::as_str).is_some_and(|f| PEOPLE_FIELDS.contains(&f));
        for key in ["value", "previous_value", "recipients"] {
            let Some(v) = e.get(key) else { continue };
            if key == "recipients" || named {
                match v {
                    Value::Number(n) => out.extend(n.as_i64()),
                    Value::Array(items) => out.extend(items.iter().filter_map(Value::as_i64)),
                    _ => {}
                }
            }
        }
    }
}

/// The values an audit keeps sealed, by event index (`None` when unreadable).
fn sealed_values(r: &Record) -> Option<Map<String, Value>> {
    match r.get("values_enc") {
        Field::Text(s) => match serde_json::from_str(s) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        },
        _ => None,
    }
}

/// The texts an audit keeps (past subjects, field values), so people named in them get labels.
pub(super) fn texts_in(r: &Record, out: &mut Vec<String>) {
    for pair in sealed_values(r).into_iter().flat_map(|m| m.into_values()) {
        for key in ["value", "previous_value"] {
            strings(pair.get(key).unwrap_or(&Value::Null), &mut |s| out.push(s.to_string()));
        }
    }
}

fn strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|x| strings(x, f)),
        _ => {}
    }
}

/// A value as the export shows it: people's ids as placeholders, other people's identifiers
/// replaced in text.
fn shown(field: &str, v: &Value, people: &People, withheld: &mut Withheld) -> Value {
    if PEOPLE_FIELDS.contains(&field) {
        return match v {
            Value::Number(n) => people.label(n.as_i64()),
            Value::Array(items) => Value::Array(items.iter().map(|i| people.label(i.as_i64())).collect()),
            other => other.clone(),
        };
    }
    match v {
        Value::String(s) => {
            let (text, n) = people.redact(s);
            withheld.replaced(n);
            Value::String(text)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| shown(field, i, people, withheld)).collect()),
        other => other.clone(),
    }
}

/// An audit's events and its opened values.
type Parsed = (Vec<Value>, Option<Map<String, Value>>);

/// A ticket's history for its export, oldest first. `ticket` is its row; `comments` the ids of
/// the comments the export shows.
pub(super) fn render(audits: &[&Record], ticket: &Record, comments: &BTreeSet<i64>, people: &People, me: i64, withheld: &mut Withheld) -> Vec<Value> {
    let mut audits = audits.to_vec();
    audits.sort_by_key(|r| int(r, "id"));
    let parsed: Vec<Parsed> = audits
        .iter()
        .map(|r| {
            let events = r.get("events").text().and_then(|e| serde_json::from_str(e).ok()).unwrap_or_default();
            (events, sealed_values(r))
        })
        .collect();
    // What a personal field was when the ticket was opened: its first change's previous value,
    // else what it holds now.
    let mut initial: BTreeMap<String, Value> = BTreeMap::new();
    for (events, values) in &parsed {
        for (i, e) in events.iter().enumerate() {
            if let (Some("Change"), Some(f)) = (e.get("type").and_then(Value::as_str), e.get("field_name").and_then(Value::as_str))
                && !initial.contains_key(f)
                && let Some(p) = values.as_ref().and_then(|v| v.get(&i.to_string())).and_then(|p| p.get("previous_value"))
            {
                initial.insert(f.to_string(), p.clone());
            }
        }
    }
    initial.entry("subject".into()).or_insert_with(|| json!(text(ticket, "subject_enc")));
    initial.entry("external_id".into()).or_insert_with(|| json!(text(ticket, "external_id_enc")));
    initial.entry("tags".into()).or_insert_with(|| json_text(ticket, "tags_enc"));
    if let Value::Array(fields) = json_text(ticket, "custom_fields_enc") {
        for pair in fields {
            if let (Some(id), Some(v)) = (pair.get(0).and_then(Value::as_i64), pair.get(1)) {
                initial.entry(id.to_string()).or_insert_with(|| v.clone());
            }
        }
    }
    let mut out = Vec::new();
    for (r, (events, values)) in audits.iter().zip(&parsed) {
        // A comment the export leaves out (a note, or one gone since) is not named, nor made
        // private, redacted or notified of: an audit that added one shows no notifications.
        let withheld_comment = events
            .iter()
            .any(|e| e.get("comment_id").and_then(Value::as_i64).is_some_and(|c| !comments.contains(&c)));
        let mut shown_events = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let kind = e.get("type").and_then(Value::as_str).unwrap_or_default();
            if kind == "Notification" && withheld_comment {
                continue;
            }
            let mut v = Map::new();
            v.insert("type".into(), json!(suoja_helpdesk::tickets::audits::zendesk_type(kind)));
            if let Some(c) = e.get("comment_id").and_then(Value::as_i64) {
                if !comments.contains(&c) {
                    continue;
                }
                v.insert("comment_id".into(), json!(c));
            }
            let field = e.get("field_name").and_then(Value::as_str).unwrap_or_default();
            if !field.is_empty() {
                v.insert("field".into(), json!(field));
            }
            let sealed = values.as_ref().and_then(|m| m.get(&i.to_string()));
            let derived = e.get("derived").and_then(Value::as_bool).unwrap_or(false);
            for key in ["value", "previous_value"] {
                let raw = if derived && key == "value" {
                    initial.get(field).cloned()
                } else {
                    sealed.and_then(|p| p.get(key)).or_else(|| e.get(key)).cloned()
                };
                if let Some(raw) = raw {
                    v.insert(key.into(), shown(field, &raw, people, withheld));
                }
            }
            if let Some(to) = e.get("recipients") {
                v.insert("recipients".into(), shown("collaborator_ids", to, people, withheld));
            }
            for key in ["public", "attachment_id", "field_id"] {
                if let Some(x) = e.get(key).filter(|x| !x.is_null()) {
                    v.insert(key.into(), x.clone());
                }
            }
            shown_events.push(Value::Object(v));
        }
        if shown_events.is_empty() {
            continue;
        }
        out.push(json!({
            "at": iso(int(r, "created_at")),
            "by": people.label(int(r, "author_id")),
            "by_you": int(r, "author_id") == Some(me),
            "via": text(r, "via"),
            "events": shown_events,
        }));
    }
    out
}
