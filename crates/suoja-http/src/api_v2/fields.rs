//! `/api/v2/ticket_fields…`, `/api/v2/user_fields…`, `/api/v2/organization_fields…` and
//! `/api/v2/ticket_forms…`: field definitions and ticket forms in Zendesk's shapes. Staff read
//! fields, admins change them; requesters read the ticket fields the portal shows them and the
//! forms they may choose.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_helpdesk::fields::{Field, FieldInput, Form, FormInput, OptionInput, Owner};

use super::{created, no_content, ok};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, Params, parse_id};
use crate::{ApiError, AppState};

/// The API's names for an owner's fields: (root of one, root of many, path).
fn names(owner: Owner) -> (&'static str, &'static str, &'static str) {
    match owner {
        Owner::Ticket => ("ticket_field", "ticket_fields", "/ticket_fields"),
        Owner::User => ("user_field", "user_fields", "/user_fields"),
        Owner::Organization => ("organization_field", "organization_fields", "/organization_fields"),
    }
}

/// What Zendesk lists as a system field's choices.
fn system_options(kind: &str) -> Value {
    let pairs: &[(&str, &str)] = match kind {
        "status" => &[
            ("New", "new"),
            ("Open", "open"),
            ("Pending", "pending"),
            ("On-hold", "hold"),
            ("Solved", "solved"),
            ("Closed", "closed"),
        ],
        "priority" => &[("Low", "low"), ("Normal", "normal"), ("High", "high"), ("Urgent", "urgent")],
        "tickettype" => &[("Question", "question"), ("Incident", "incident"), ("Problem", "problem"), ("Task", "task")],
        _ => return Value::Null,
    };
    Value::Array(pairs.iter().map(|(n, v)| json!({"name": n, "value": v})).collect())
}

/// A field as Zendesk shows it.
pub fn field(f: &Field, owner: Owner, base: &BaseUrl) -> Value {
    let d = &f.def;
    let (_, _, path) = names(owner);
    let options: Vec<Value> = f
        .options
        .iter()
        .map(|o| json!({"id": o.id, "name": o.name, "raw_name": o.name, "value": o.value, "default": o.default}))
        .collect();
    let mut v = json!({
        "id": d.id,
        "url": base.api(&format!("{path}/{}.json", d.id)),
        "type": d.field_type,
        "title": d.title,
        "raw_title": d.title,
        "description": d.description,
        "raw_description": d.description,
        "position": d.position,
        "active": d.active,
        "regexp_for_validation": d.regexp,
        "tag": d.tag,
        "created_at": d.created_at.to_iso(),
        "updated_at": d.updated_at.to_iso(),
    });
    let extra = match owner {
        Owner::Ticket => json!({
            "required": d.required,
            "collapsed_for_agents": false,
            "title_in_portal": d.title_in_portal.clone().unwrap_or_else(|| d.title.clone()),
            "raw_title_in_portal": d.title_in_portal.clone().unwrap_or_else(|| d.title.clone()),
            "visible_in_portal": d.visible_in_portal,
            "editable_in_portal": d.editable_in_portal,
            "required_in_portal": d.required_in_portal,
            "removable": !d.system,
            "key": Value::Null,
            "agent_description": Value::Null,
            "custom_field_options": if matches!(d.field_type.as_str(), "tagger" | "multiselect") { Value::Array(options) } else { Value::Null },
            "system_field_options": system_options(&d.field_type),
        }),
        _ => json!({
            "key": d.key,
            "system": false,
            "custom_field_options": if matches!(d.field_type.as_str(), "dropdown" | "multiselect") { Value::Array(options) } else { Value::Null },
        }),
    };
    if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
        m.extend(x);
    }
    v
}

/// A form as Zendesk shows it.
pub fn form(f: &Form, base: &BaseUrl) -> Value {
    let r = &f.row;
    json!({
        "id": r.id,
        "url": base.api(&format!("/ticket_forms/{}.json", r.id)),
        "name": r.name,
        "raw_name": r.name,
        "display_name": r.display_name,
        "raw_display_name": r.display_name,
        "end_user_visible": r.end_user_visible,
        "position": r.position,
        "ticket_field_ids": f.field_ids,
        "active": r.active,
        "default": r.default,
        "in_all_brands": true,
        "restricted_brand_ids": [],
        "agent_conditions": [],
        "end_user_conditions": [],
        "created_at": r.created_at.to_iso(),
        "updated_at": r.updated_at.to_iso(),
    })
}

const FIELD_KEYS: &[&str] = &[
    "id",
    "url",
    "type",
    "key",
    "title",
    "raw_title",
    "description",
    "raw_description",
    "position",
    "active",
    "required",
    "collapsed_for_agents",
    "regexp_for_validation",
    "title_in_portal",
    "raw_title_in_portal",
    "visible_in_portal",
    "editable_in_portal",
    "required_in_portal",
    "tag",
    "removable",
    "agent_description",
    "custom_field_options",
    "system_field_options",
    "system",
    "created_at",
    "updated_at",
];

fn field_input(body: &JsonBody, owner: Owner) -> Result<FieldInput, ApiError> {
    let (one, _, _) = names(owner);
    let root = Obj::root(&body.0);
    root.only(&[one])?;
    let o = root.object(one)?;
    o.only(FIELD_KEYS)?;
    let options = match o.raw("custom_field_options") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let bad = || {
                ApiError::Field(
                    "custom_field_options".into(),
                    "custom_field_options: each option is an object with a name and a value".into(),
                    "InvalidValue",
                )
            };
            if items.len() > suoja_helpdesk::fields::MAX_OPTIONS {
                return Err(ApiError::Field(
                    "custom_field_options".into(),
                    "custom_field_options: at most 2000 options".into(),
                    "InvalidValue",
                ));
            }
            let mut out: Vec<OptionInput> = Vec::with_capacity(items.len());
            for it in items {
                let m = it.as_object().ok_or_else(bad)?;
                let item = Obj::root(m);
                item.only(&["id", "name", "raw_name", "value", "default", "url", "position"])?;
                out.push(OptionInput {
                    id: match m.get("id") {
                        Some(Value::Number(n)) => n.as_i64(),
                        _ => None,
                    },
                    // An option named by its id alone is kept as it is (clients send back only
                    // what they changed).
                    name: item.opt_str("name", 255)?.unwrap_or_default(),
                    value: item.opt_str("value", 80)?.unwrap_or_default(),
                    default: item.opt_bool("default")?.unwrap_or(false),
                });
                if out.last().is_some_and(|o| o.id.is_none() && (o.name.is_empty() || o.value.is_empty())) {
                    return Err(bad());
                }
            }
            Some(out)
        }
        Some(_) => {
            return Err(ApiError::Field(
                "custom_field_options".into(),
                "custom_field_options: must be a list".into(),
                "InvalidValue",
            ));
        }
    };
    Ok(FieldInput {
        field_type: o.opt_str("type", 40)?,
        key: o.opt_str("key", 64)?,
        title: o.opt_str("title", 255)?,
        description: o.nullable_str("description", 4096)?.map(Option::unwrap_or_default),
        title_in_portal: o.nullable_str("title_in_portal", 255)?,
        position: o.opt_int("position", 0, 1_000_000)?,
        active: o.opt_bool("active")?,
        required: o.opt_bool("required")?,
        required_in_portal: o.opt_bool("required_in_portal")?,
        visible_in_portal: o.opt_bool("visible_in_portal")?,
        editable_in_portal: o.opt_bool("editable_in_portal")?,
        regexp: o.nullable_str("regexp_for_validation", 1000)?,
        tag: o.nullable_str("tag", 80)?,
        options,
    })
}

async fn index_of(app: AppState, scope: suoja_core::Scope, base: BaseUrl, owner: Owner) -> Result<Response, ApiError> {
    let (_, many, _) = names(owner);
    let fields = app.helpdesk.list_fields(&scope, owner).await?;
    let items: Vec<Value> = fields.iter().map(|f| field(f, owner, &base)).collect();
    let count = items.len();
    Ok(ok(json!({many: items, "count": count, "next_page": null, "previous_page": null})))
}

async fn create_of(app: AppState, scope: suoja_core::Scope, base: BaseUrl, body: JsonBody, owner: Owner) -> Result<Response, ApiError> {
    let (one, _, path) = names(owner);
    let f = app.helpdesk.create_field(&scope, owner, field_input(&body, owner)?).await?;
    Ok(created(&base.api(&format!("{path}/{}.json", f.def.id)), json!({one: field(&f, owner, &base)})))
}

async fn show_of(app: AppState, scope: suoja_core::Scope, base: BaseUrl, id: &str, owner: Owner) -> Result<Response, ApiError> {
    let (one, _, _) = names(owner);
    let f = app.helpdesk.get_field(&scope, owner, parse_id(id)?).await?;
    Ok(ok(json!({one: field(&f, owner, &base)})))
}

async fn update_of(app: AppState, scope: suoja_core::Scope, base: BaseUrl, id: &str, body: JsonBody, owner: Owner) -> Result<Response, ApiError> {
    let (one, _, _) = names(owner);
    let id = parse_id(id)?;
    let f = app.helpdesk.update_field(&scope, owner, id, field_input(&body, owner)?).await?;
    Ok(ok(json!({one: field(&f, owner, &base)})))
}

macro_rules! field_handlers {
    ($owner:expr, $index:ident, $create:ident, $show:ident, $update:ident, $delete:ident) => {
        /// Lists the owner's fields.
        pub async fn $index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
            index_of(app, scope, base, $owner).await
        }
        /// Creates a field (admins).
        pub async fn $create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
            create_of(app, scope, base, body, $owner).await
        }
        /// Shows a field.
        pub async fn $show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
            show_of(app, scope, base, &id, $owner).await
        }
        /// Changes a field (admins).
        pub async fn $update(
            State(app): State<AppState>,
            Auth(scope): Auth,
            base: BaseUrl,
            Path(id): Path<String>,
            body: JsonBody,
        ) -> Result<Response, ApiError> {
            update_of(app, scope, base, &id, body, $owner).await
        }
        /// Removes a field (admins) → 204.
        pub async fn $delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
            app.helpdesk.delete_field(&scope, $owner, parse_id(&id)?).await?;
            Ok(no_content())
        }
    };
}

field_handlers!(Owner::Ticket, ticket_index, ticket_create, ticket_show, ticket_update, ticket_delete);
field_handlers!(Owner::User, user_index, user_create, user_show, user_update, user_delete);
field_handlers!(Owner::Organization, org_index, org_create, org_show, org_update, org_delete);

/// `GET /ticket_fields/{id}/options`: a drop-down's options.
pub async fn ticket_options(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let f = app.helpdesk.get_field(&scope, Owner::Ticket, parse_id(&id)?).await?;
    let items: Vec<Value> = f
        .options
        .iter()
        .map(|o| json!({"id": o.id, "name": o.name, "raw_name": o.name, "value": o.value, "default": o.default}))
        .collect();
    let count = items.len();
    Ok(ok(
        json!({"custom_field_options": items, "count": count, "next_page": null, "previous_page": null}),
    ))
}

/// `GET /ticket_fields/count`
pub async fn ticket_count(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    let n = app.helpdesk.list_fields(&scope, Owner::Ticket).await?.len();
    Ok(ok(json!({"count": {"value": n, "refreshed_at": super::wire::ts(app.helpdesk.now())}})))
}

fn form_input(body: &JsonBody) -> Result<FormInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["ticket_form"])?;
    let o = root.object("ticket_form")?;
    o.only(&[
        "id",
        "url",
        "name",
        "raw_name",
        "display_name",
        "raw_display_name",
        "end_user_visible",
        "position",
        "ticket_field_ids",
        "active",
        "default",
        "in_all_brands",
        "restricted_brand_ids",
        "agent_conditions",
        "end_user_conditions",
        "created_at",
        "updated_at",
    ])?;
    for k in ["agent_conditions", "end_user_conditions"] {
        if o.raw(k).is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty())) {
            return Err(ApiError::Field(
                k.into(),
                format!("{k}: conditional fields are not supported; every field of a form is shown"),
                "InvalidValue",
            ));
        }
    }
    let ids = o.opt_ids("ticket_field_ids")?;
    if ids.as_ref().is_some_and(|i| i.len() > 500) {
        return Err(ApiError::Field(
            "ticket_field_ids".into(),
            "ticket_field_ids: at most 500 fields".into(),
            "InvalidValue",
        ));
    }
    Ok(FormInput {
        name: o.opt_str("name", 255)?,
        display_name: o.opt_str("display_name", 255)?,
        position: o.opt_int("position", 0, 1_000_000)?,
        active: o.opt_bool("active")?,
        default: o.opt_bool("default")?,
        end_user_visible: o.opt_bool("end_user_visible")?,
        field_ids: ids,
    })
}

/// `GET /ticket_forms`
pub async fn forms_index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let active = match params.get("active") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let forms = app.helpdesk.list_forms(&scope).await?;
    let items: Vec<Value> = forms
        .iter()
        .filter(|f| active.is_none_or(|a| f.row.active == a))
        .map(|f| form(f, &base))
        .collect();
    let count = items.len();
    Ok(ok(json!({"ticket_forms": items, "count": count, "next_page": null, "previous_page": null})))
}

/// `GET /ticket_forms/show_many?ids=`
pub async fn forms_show_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let ids = params.ids("ids")?;
    let forms = app.helpdesk.list_forms(&scope).await?;
    let items: Vec<Value> = forms.iter().filter(|f| ids.contains(&f.row.id)).map(|f| form(f, &base)).collect();
    Ok(ok(json!({"ticket_forms": items})))
}

/// `POST /ticket_forms`
pub async fn forms_create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let f = app.helpdesk.create_form(&scope, form_input(&body)?).await?;
    Ok(created(
        &base.api(&format!("/ticket_forms/{}.json", f.row.id)),
        json!({"ticket_form": form(&f, &base)}),
    ))
}

/// `GET /ticket_forms/{id}`
pub async fn forms_show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let f = app.helpdesk.get_form(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"ticket_form": form(&f, &base)})))
}

/// `PUT /ticket_forms/{id}`
pub async fn forms_update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let f = app.helpdesk.update_form(&scope, id, form_input(&body)?).await?;
    Ok(ok(json!({"ticket_form": form(&f, &base)})))
}

/// `DELETE /ticket_forms/{id}` → 204
pub async fn forms_delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_form(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}
