//! A ticket's custom fields on the pages: each defined field as the input its type calls for
//! (a line, a text area, a check box, a date, a number, a drop-down, a multi-select), and the
//! values a submitted form holds read back into the shapes the helpdesk checks. Agents see every
//! field in use (the ticket form's first, in its order); requesters the ones the portal shows.

use serde_json::Value;
use suoja_helpdesk::fields::Field;

/// One field as a form shows it.
#[derive(Debug, Clone)]
pub struct FieldControl {
    /// Field id (inputs are named `field_{id}`).
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description, shown under the input.
    pub description: String,
    /// `text`, `textarea`, `checkbox`, `date`, `integer`, `decimal`, `regexp`, `select`,
    /// `multi`, or `readonly` (a value of a field no longer in use).
    pub kind: &'static str,
    /// The value as text.
    pub value: String,
    /// A check box's state.
    pub checked: bool,
    /// A drop-down's options: (value, name, selected).
    pub options: Vec<(String, String, bool)>,
    /// Must be filled in (requesters), or before solving (agents).
    pub required: bool,
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn input(f: &Field, value: Option<&Value>, portal: bool) -> FieldControl {
    let d = &f.def;
    let selected = |o: &str| match value {
        Some(Value::String(s)) => s == o,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(o)),
        _ => false,
    };
    FieldControl {
        id: d.id,
        title: if portal {
            d.title_in_portal.clone().unwrap_or_else(|| d.title.clone())
        } else {
            d.title.clone()
        },
        description: d.description.clone(),
        kind: match d.field_type.as_str() {
            "text" => "text",
            "textarea" => "textarea",
            "checkbox" => "checkbox",
            "date" => "date",
            "integer" => "integer",
            "decimal" => "decimal",
            "regexp" => "regexp",
            "tagger" | "dropdown" => "select",
            "multiselect" => "multi",
            _ => "readonly",
        },
        value: text_of(value),
        checked: value == Some(&Value::Bool(true)),
        options: {
            let mut o: Vec<(String, String, bool)> = f.options.iter().map(|o| (o.value.clone(), o.name.clone(), selected(&o.value))).collect();
            // A value whose option was removed since is still offered, chosen, so that saving
            // the page does not clear it unasked.
            let held: Vec<String> = match value {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                _ => Vec::new(),
            };
            for h in held {
                if !o.iter().any(|(v, _, _)| *v == h) {
                    o.push((h.clone(), h, true));
                }
            }
            o
        },
        required: if portal { d.required_in_portal } else { d.required },
    }
}

/// The inputs of a ticket's fields: the ones on its form (in the form's order) or every one in
/// use, and, for agents, any value of a field no longer in use, read-only.
pub fn inputs(defs: &[Field], values: &[(i64, Value)], form: Option<&[i64]>, portal: bool) -> Vec<FieldControl> {
    let usable = |f: &&Field| f.def.active && !f.def.system && (!portal || (f.def.visible_in_portal && f.def.editable_in_portal));
    let mut chosen: Vec<&Field> = match form {
        Some(ids) => ids.iter().filter_map(|id| defs.iter().find(|f| f.def.id == *id)).filter(usable).collect(),
        None => defs.iter().filter(usable).collect(),
    };
    if form.is_some() {
        // A value given outside the form is still shown where it can be changed.
        for f in defs.iter().filter(usable) {
            if !chosen.iter().any(|c| c.def.id == f.def.id) && values.iter().any(|(id, v)| *id == f.def.id && !v.is_null()) {
                chosen.push(f);
            }
        }
    }
    let value = |id: i64| values.iter().find(|(i, _)| *i == id).map(|(_, v)| v);
    let mut out: Vec<FieldControl> = chosen.into_iter().map(|f| input(f, value(f.def.id), portal)).collect();
    if !portal {
        for (id, v) in values {
            if v.is_null() || out.iter().any(|i| i.id == *id) {
                continue;
            }
            let title = defs.iter().find(|f| f.def.id == *id).map_or_else(|| format!("#{id}"), |f| f.def.title.clone());
            out.push(FieldControl {
                id: *id,
                title,
                description: String::new(),
                kind: "readonly",
                value: text_of(Some(v)),
                checked: false,
                options: Vec::new(),
                required: false,
            });
        }
    }
    out
}

/// The values a submitted form gives for the fields it showed (each input is announced by a
/// hidden `field_shown` carrying its id): a check box is true when ticked, a multi-select the
/// list chosen, anything else its text (empty clears it). Fields the form did not show are
/// left as they are.
pub fn read_values(defs: &[Field], pairs: &[(String, String)]) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    let shown: Vec<i64> = pairs.iter().filter(|(k, _)| k == "field_shown").filter_map(|(_, v)| v.parse().ok()).collect();
    for id in shown {
        let Some(f) = defs.iter().find(|f| f.def.id == id && f.def.active && !f.def.system) else {
            continue;
        };
        if out.iter().any(|(i, _)| *i == id) {
            continue;
        }
        let name = format!("field_{id}");
        let given: Vec<&str> = pairs.iter().filter(|(k, _)| *k == name).map(|(_, v)| v.as_str()).collect();
        let value = match f.def.field_type.as_str() {
            "checkbox" => Value::Bool(given.contains(&"true")),
            "multiselect" => {
                let chosen: Vec<Value> = given.iter().filter(|s| !s.is_empty()).map(|s| Value::String((*s).to_string())).collect();
                if chosen.is_empty() { Value::Null } else { Value::Array(chosen) }
            }
            // Browsers send a text area's lines with CR LF.
            _ => match given.last() {
                Some(s) if !s.trim().is_empty() => Value::String(s.replace("\r\n", "\n")),
                _ => Value::Null,
            },
        };
        out.push((id, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use suoja_helpdesk::fields::FieldOption;
    use suoja_store::fields::FieldRow;

    fn def(id: i64, ty: &str) -> Field {
        Field {
            def: FieldRow {
                id,
                owner: "ticket".into(),
                system: false,
                field_type: ty.into(),
                key: None,
                title: format!("F{id}"),
                description: String::new(),
                title_in_portal: None,
                position: id,
                active: true,
                required: false,
                required_in_portal: false,
                visible_in_portal: id == 1,
                editable_in_portal: id == 1,
                regexp: None,
                tag: None,
                options: "[]".into(),
                created_at: suoja_core::Timestamp(0),
                updated_at: suoja_core::Timestamp(0),
            },
            options: vec![
                FieldOption {
                    id: 1,
                    name: "A".into(),
                    value: "a".into(),
                    default: false,
                },
                FieldOption {
                    id: 2,
                    name: "B".into(),
                    value: "b".into(),
                    default: false,
                },
            ],
        }
    }

    #[test]
    fn a_form_reads_back_what_it_showed() {
        let defs = vec![def(1, "text"), def(2, "checkbox"), def(3, "multiselect"), def(4, "tagger")];
        let pairs: Vec<(String, String)> = [
            ("field_shown", "1"),
            ("field_1", "hello"),
            ("field_shown", "2"),
            ("field_2", "false"),
            ("field_2", "true"),
            ("field_shown", "3"),
            ("field_3", "b"),
            ("field_3", "a"),
            ("field_4", "a"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let values = read_values(&defs, &pairs);
        assert_eq!(
            values,
            vec![(1, json!("hello")), (2, json!(true)), (3, json!(["b", "a"]))],
            "field 4 was not shown"
        );
    }

    #[test]
    fn requesters_get_inputs_only_for_portal_fields_and_agents_see_old_values() {
        let defs = vec![def(1, "text"), def(2, "tagger")];
        let values = vec![(2, json!("b")), (99, json!("kept"))];
        let portal = inputs(&defs, &values, None, true);
        assert_eq!(portal.iter().map(|i| i.id).collect::<Vec<_>>(), vec![1]);
        let agent = inputs(&defs, &values, None, false);
        assert_eq!(
            agent.iter().map(|i| (i.id, i.kind)).collect::<Vec<_>>(),
            vec![(1, "text"), (2, "select"), (99, "readonly")]
        );
        assert!(agent[1].options.iter().any(|(v, _, sel)| v == "b" && *sel));
        // An option removed since is still offered, chosen.
        let agent = inputs(&defs, &[(2, json!("gone"))], None, false);
        assert!(agent[1].options.iter().any(|(v, _, sel)| v == "gone" && *sel), "{:?}", agent[1].options);
    }
}
