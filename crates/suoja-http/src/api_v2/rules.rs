//! `/api/v2/views…` and `/api/v2/macros…`: business rules in Zendesk's shapes. Staff list the
//! shared rules and their own; admins change the shared ones, agents their personal ones. A
//! view's tickets and counts are read through the view; a macro's `apply` shows what it would
//! do and changes nothing.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value, json};
use suoja_core::UserId;
use suoja_helpdesk::rules::RuleInput;
use suoja_helpdesk::rules::automations::{Automation, AutomationInput};
use suoja_helpdesk::rules::conditions::Wire;
use suoja_helpdesk::rules::counts::ViewCount;
use suoja_helpdesk::rules::macros::{Action, Applied, Macro, MacroInput};
use suoja_helpdesk::rules::triggers::{Trigger, TriggerInput};
use suoja_helpdesk::rules::views::{View, ViewInput};
use suoja_store::rules::RuleRow;

use super::{created, no_content, ok, wire};
use crate::extract::params_helpers::{encode_cursor, with_params};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, PageParams, Params, parse_id};
use crate::{ApiError, AppState};

fn restriction(r: &RuleRow) -> Value {
    match r.owner_id {
        Some(u) => json!({"type": "User", "id": u.0, "ids": [u.0]}),
        None => Value::Null,
    }
}

/// A column's title as Zendesk shows it.
fn column_title(id: &str) -> &'static str {
    match id {
        "nice_id" => "ID",
        "subject" => "Subject",
        "requester" => "Requester",
        "assignee" => "Assignee",
        "group" => "Group",
        "organization" => "Organization",
        "status" => "Status",
        "priority" => "Priority",
        "type" => "Type",
        "created" => "Requested",
        "updated" => "Updated",
        "due_date" => "Due date",
        _ => "",
    }
}

fn sort_title(id: &str) -> &'static str {
    match id {
        "created_at" => "Requested",
        "nice_id" => "ID",
        _ => "Updated",
    }
}

/// A view as Zendesk shows it.
pub fn view(v: &View, base: &BaseUrl) -> Value {
    let r = &v.row;
    let d = &v.def;
    let columns: Vec<Value> = d.columns.iter().map(|c| json!({"id": c, "title": column_title(c)})).collect();
    json!({
        "id": r.id,
        "url": base.api(&format!("/views/{}.json", r.id)),
        "title": r.title,
        "raw_title": r.title,
        "description": r.description,
        "active": r.active,
        "position": r.position,
        "default": r.key.is_some(),
        "restriction": restriction(r),
        "execution": {
            "group_by": d.group_by,
            "group_order": d.group_order,
            "sort_by": d.sort_by,
            "sort_order": d.sort_order,
            "group": d.group_by.as_ref().map(|g| json!({"id": g, "title": column_title(g), "order": d.group_order})),
            "sort": {"id": d.sort_by, "title": sort_title(&d.sort_by), "order": d.sort_order},
            "columns": columns.clone(),
            "fields": columns,
            "custom_fields": [],
        },
        "conditions": {"all": d.all, "any": d.any},
        "created_at": r.created_at.to_iso(),
        "updated_at": r.updated_at.to_iso(),
    })
}

/// A macro as Zendesk shows it.
pub fn macro_(m: &Macro, base: &BaseUrl) -> Value {
    let r = &m.row;
    json!({
        "id": r.id,
        "url": base.api(&format!("/macros/{}.json", r.id)),
        "title": r.title,
        "raw_title": r.title,
        "description": r.description,
        "active": r.active,
        "position": r.position,
        "default": false,
        "restriction": restriction(r),
        "actions": m.actions,
        "created_at": r.created_at.to_iso(),
        "updated_at": r.updated_at.to_iso(),
    })
}

/// A rule that tests conditions and acts (an automation, a trigger) as Zendesk shows it.
fn when_then(r: &RuleRow, path: &str, all: &[Wire], any: &[Wire], actions: &[Action], base: &BaseUrl) -> Value {
    json!({
        "id": r.id,
        "url": base.api(&format!("/{path}/{}.json", r.id)),
        "title": r.title,
        "raw_title": r.title,
        "description": r.description,
        "active": r.active,
        "position": r.position,
        "default": r.key.is_some(),
        "conditions": {"all": all, "any": any},
        "actions": actions,
        "created_at": r.created_at.to_iso(),
        "updated_at": r.updated_at.to_iso(),
    })
}

/// An automation as Zendesk shows it.
pub fn automation(a: &Automation, base: &BaseUrl) -> Value {
    when_then(&a.row, "automations", &a.all, &a.any, &a.actions, base)
}

/// A trigger as Zendesk shows it (`category_id` a string, as Zendesk's ids of categories).
pub fn trigger(tr: &Trigger, base: &BaseUrl) -> Value {
    let mut v = when_then(&tr.row, "triggers", &tr.all, &tr.any, &tr.actions, base);
    if let Some(o) = v.as_object_mut() {
        o.insert("category_id".into(), json!(tr.category_id.map(|c| c.to_string())));
    }
    v
}

/// A trigger category as Zendesk shows it.
pub fn category(c: &suoja_helpdesk::rules::categories::Category) -> Value {
    json!({
        "id": c.row.id.to_string(),
        "name": c.row.title,
        "position": c.row.position,
        "created_at": c.row.created_at.to_iso(),
        "updated_at": c.row.updated_at.to_iso(),
    })
}

/// A category id as a request gives it: a number, a string of digits, or `null` for none.
fn category_of(o: &Obj<'_>) -> Result<Option<Option<i64>>, ApiError> {
    let bad = || ApiError::Field("category_id".into(), "category_id: a trigger category's id, or null".into(), "InvalidValue");
    match o.raw("category_id") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Number(n)) => n.as_i64().filter(|n| *n > 0).map(|n| Some(Some(n))).ok_or_else(bad),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok().filter(|n| *n > 0).map(|n| Some(Some(n))).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

const READ_ONLY: &[&str] = &[
    "id",
    "url",
    "raw_title",
    "default",
    "created_at",
    "updated_at",
    "usage_1h",
    "usage_24h",
    "usage_7d",
    "usage_30d",
];

fn rule_input(o: &Obj<'_>) -> Result<RuleInput, ApiError> {
    let restriction = match o.raw("restriction") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::Object(m)) => {
            let r = Obj::root(m);
            r.only(&["type", "id", "ids"])?;
            match r.opt_str("type", 20)?.as_deref() {
                Some("User") => Some(Some(UserId(r.opt_id("id")?.ok_or_else(|| {
                    ApiError::Field(
                        "restriction".into(),
                        "restriction: a User restriction names the user's id".into(),
                        "InvalidValue",
                    )
                })?))),
                _ => {
                    return Err(ApiError::Field(
                        "restriction".into(),
                        "restriction: null (shared) or {\"type\": \"User\", \"id\": …} (personal); group restrictions are not supported".into(),
                        "InvalidValue",
                    ));
                }
            }
        }
        Some(_) => {
            return Err(ApiError::Field("restriction".into(), "restriction: null or an object".into(), "InvalidValue"));
        }
    };
    Ok(RuleInput {
        title: o.opt_str("title", 255)?,
        description: o.nullable_str("description", 4096)?.map(Option::unwrap_or_default),
        active: o.opt_bool("active")?,
        position: o.opt_int("position", 0, 1_000_000)?,
        restriction,
    })
}

pub(crate) fn conditions_of(o: &Obj<'_>, key: &str) -> Result<Option<Vec<Wire>>, ApiError> {
    match o.raw(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value::<Vec<Wire>>(v.clone()).map(Some).map_err(|_| {
            ApiError::Field(
                "conditions".into(),
                format!("conditions: {key} is a list of {{\"field\", \"operator\", \"value\"}}"),
                "InvalidValue",
            )
        }),
    }
}

/// Conditions as a request gives them.
type Conditions = Vec<Wire>;

/// A rule's `all` and `any` conditions, given at its top level or inside `conditions` (the
/// top level wins).
fn all_and_any(o: &Obj<'_>) -> Result<(Option<Conditions>, Option<Conditions>), ApiError> {
    let mut all = conditions_of(o, "all")?;
    let mut any = conditions_of(o, "any")?;
    if let Some(c) = o.opt_object("conditions")? {
        c.only(&["all", "any"])?;
        all = all.or(conditions_of(&c, "all")?);
        any = any.or(conditions_of(&c, "any")?);
    }
    Ok((all, any))
}

fn view_input(body: &JsonBody) -> Result<ViewInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["view"])?;
    let o = root.object("view")?;
    let mut known = vec![
        "title",
        "description",
        "active",
        "position",
        "restriction",
        "all",
        "any",
        "conditions",
        "output",
        "execution",
    ];
    known.extend(READ_ONLY);
    o.only(&known)?;
    let (all, any) = all_and_any(&o)?;
    let mut input = ViewInput {
        rule: rule_input(&o)?,
        all,
        any,
        ..Default::default()
    };
    // `output` on create and update, `execution` as the view is shown (its columns objects).
    for key in ["execution", "output"] {
        let Some(out) = o.opt_object(key)? else { continue };
        out.only(&[
            "columns",
            "fields",
            "custom_fields",
            "group_by",
            "group_order",
            "sort_by",
            "sort_order",
            "group",
            "sort",
        ])?;
        if let Some(cols) = out.raw("columns") {
            let list = cols
                .as_array()
                .ok_or_else(|| ApiError::Field("columns".into(), "columns: must be a list".into(), "InvalidValue"))?;
            let mut ids = Vec::with_capacity(list.len());
            for c in list {
                let id = c
                    .as_str()
                    .or_else(|| c.get("id").and_then(Value::as_str))
                    .ok_or_else(|| ApiError::Field("columns".into(), "columns: each is a column's id".into(), "InvalidValue"))?;
                ids.push(id.to_string());
            }
            input.columns = Some(ids);
        }
        if out.raw("group_by").is_some() {
            input.group_by = out.nullable_str("group_by", 40)?;
        }
        input.group_order = out.opt_str("group_order", 10)?.or(input.group_order);
        input.sort_by = out.opt_str("sort_by", 40)?.or(input.sort_by);
        input.sort_order = out.opt_str("sort_order", 10)?.or(input.sort_order);
    }
    Ok(input)
}

fn macro_input(body: &JsonBody) -> Result<MacroInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["macro"])?;
    let o = root.object("macro")?;
    let mut known = vec!["title", "description", "active", "position", "restriction", "actions"];
    known.extend(READ_ONLY);
    o.only(&known)?;
    Ok(MacroInput {
        rule: rule_input(&o)?,
        actions: actions_of(&o)?,
    })
}

fn actions_of(o: &Obj<'_>) -> Result<Option<Vec<Action>>, ApiError> {
    match o.raw("actions") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value::<Vec<Action>>(v.clone())
            .map(Some)
            .map_err(|_| ApiError::Field("actions".into(), "actions: a list of {\"field\", \"value\"}".into(), "InvalidValue")),
    }
}

fn automation_input(body: &JsonBody) -> Result<AutomationInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["automation"])?;
    let o = root.object("automation")?;
    let mut known = vec![
        "title",
        "description",
        "active",
        "position",
        "restriction",
        "all",
        "any",
        "conditions",
        "actions",
    ];
    known.extend(READ_ONLY);
    o.only(&known)?;
    let (all, any) = all_and_any(&o)?;
    Ok(AutomationInput {
        rule: rule_input(&o)?,
        all,
        any,
        actions: actions_of(&o)?,
    })
}

fn trigger_input(body: &JsonBody) -> Result<TriggerInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["trigger"])?;
    let o = root.object("trigger")?;
    let mut known = vec![
        "title",
        "description",
        "active",
        "position",
        "all",
        "any",
        "conditions",
        "actions",
        "category_id",
    ];
    known.extend(READ_ONLY);
    o.only(&known)?;
    let (all, any) = all_and_any(&o)?;
    Ok(TriggerInput {
        rule: rule_input(&o)?,
        all,
        any,
        actions: actions_of(&o)?,
        category_id: category_of(&o)?,
    })
}

/// The ids of a reorder body, `{key: [id, …]}` (numbers or strings of digits, at most 5 000).
pub(crate) fn order_of(body: &JsonBody, key: &str, wrong: &str) -> Result<Vec<i64>, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&[key])?;
    let bad = || ApiError::Field(key.into(), wrong.into(), "InvalidValue");
    match root.raw(key) {
        Some(Value::Array(items)) if items.len() <= 5_000 => items
            .iter()
            .map(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn active_param(params: &Params) -> Result<Option<bool>, ApiError> {
    match params.get("active") {
        None | Some("") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::BadRequest("active is true or false".into())),
    }
}

pub(crate) fn listed(root: &str, items: Vec<Value>) -> Response {
    let count = items.len();
    ok(json!({root: items, "count": count, "next_page": null, "previous_page": null}))
}

/// `GET /views`
pub async fn views_index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let views = app.helpdesk.list_views(&scope, active_param(&params)?).await?;
    Ok(listed("views", views.iter().map(|v| view(v, &base)).collect()))
}

/// `GET /views/active`
pub async fn views_active(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let views = app.helpdesk.list_views(&scope, Some(true)).await?;
    Ok(listed("views", views.iter().map(|v| view(v, &base)).collect()))
}

/// `POST /views`
pub async fn views_create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let v = app.helpdesk.create_view(&scope, view_input(&body)?).await?;
    Ok(created(&base.api(&format!("/views/{}.json", v.row.id)), json!({"view": view(&v, &base)})))
}

/// `GET /views/{id}`
pub async fn views_show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let v = app.helpdesk.get_view(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"view": view(&v, &base)})))
}

/// `PUT /views/{id}`
pub async fn views_update(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let v = app.helpdesk.update_view(&scope, id, view_input(&body)?).await?;
    Ok(ok(json!({"view": view(&v, &base)})))
}

/// `DELETE /views/{id}` → 204.
pub async fn views_delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_view(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}

fn view_count(v: &View, n: &ViewCount, base: &BaseUrl) -> Value {
    json!({
        "view_id": v.row.id,
        "url": base.api(&format!("/views/{}/count.json", v.row.id)),
        "value": n.value,
        "pretty": if n.more { format!("~{}", n.value) } else { n.value.to_string() },
        "fresh": n.fresh,
        "refreshed_at": wire::ts(n.counted_at),
    })
}

/// `GET /views/{id}/count`
pub async fn views_count(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let v = app.helpdesk.get_view(&scope, parse_id(&id)?).await?;
    let n = app.helpdesk.view_count(&scope, &v).await?;
    Ok(ok(json!({"view_count": view_count(&v, &n, &base)})))
}

/// `GET /views/count_many?ids=`: the counts of up to 20 views (unknown ids are left out).
pub async fn views_count_many(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let ids = params.ids("ids")?;
    if ids.is_empty() || ids.len() > 20 {
        return Err(ApiError::BadRequest("ids takes one to 20 view ids".into()));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let v = match app.helpdesk.get_view(&scope, id).await {
            Ok(v) => v,
            Err(suoja_helpdesk::HelpdeskError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let n = app.helpdesk.view_count(&scope, &v).await?;
        out.push(view_count(&v, &n, &base));
    }
    Ok(ok(json!({"view_counts": out})))
}

/// `GET /views/{id}/tickets`: a page of the view's tickets in its order, by `page` and
/// `per_page`, or by cursor (`page[size]`, `page[after]`; the cursor holds the place in the
/// view's order, so a ticket that moves while someone pages may be seen twice or not at all,
/// as when a view is read in the workspace).
pub async fn views_tickets(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let pp = params.paging()?;
    let (offset, size) = match pp {
        PageParams::Offset { page, per_page } => ((page - 1) * per_page, per_page),
        PageParams::Cursor { before: Some(_), .. } => {
            return Err(ApiError::BadRequest("page[before] is not offered here; follow the next links".into()));
        }
        PageParams::Cursor { after: Some(a), .. } if a < 0 => {
            return Err(ApiError::BadRequest("page[after] is not a cursor of this list".into()));
        }
        PageParams::Cursor { size, after, .. } => (after.unwrap_or(0), size),
    };
    if offset >= 10_000 {
        return Err(ApiError::BadRequest(
            "a view is read to its first 10,000 tickets; narrow it with conditions".into(),
        ));
    }
    let v = app.helpdesk.get_view(&scope, parse_id(&id)?).await?;
    // Grouped by a time, a view's days are UTC days here.
    let (tickets, has_more) = app.helpdesk.view_tickets(&scope, &v, 0, size, offset).await?;
    let path = format!("/views/{}/tickets", v.row.id);
    let mut out = Map::new();
    out.insert("tickets".into(), Value::Array(tickets.iter().map(|t| wire::ticket(t, &base)).collect()));
    match pp {
        PageParams::Offset { page, per_page } => {
            let n = app.helpdesk.view_count(&scope, &v).await?.value;
            let link = |p: i64| with_params(&base.0, &path, &params, &[("page", p.to_string()), ("per_page", per_page.to_string())]);
            out.insert("count".into(), json!(n));
            out.insert("next_page".into(), json!(has_more.then(|| link(page + 1))));
            out.insert("previous_page".into(), json!((page > 1).then(|| link(page - 1))));
        }
        PageParams::Cursor { .. } => {
            let after = encode_cursor(offset + suoja_core::num::to_i64(tickets.len()));
            let next = has_more.then(|| with_params(&base.0, &path, &params, &[("page[size]", size.to_string()), ("page[after]", after.clone())]));
            out.insert(
                "meta".into(),
                json!({"has_more": has_more, "after_cursor": has_more.then_some(after), "before_cursor": null}),
            );
            out.insert("links".into(), json!({"next": next, "prev": null}));
        }
    }
    Ok(ok(Value::Object(out)))
}

/// `GET /automations`
pub async fn automations_index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let list = app.helpdesk.list_automations(&scope, active_param(&params)?).await?;
    Ok(listed("automations", list.iter().map(|a| automation(a, &base)).collect()))
}

/// `GET /automations/active`
pub async fn automations_active(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let list = app.helpdesk.list_automations(&scope, Some(true)).await?;
    Ok(listed("automations", list.iter().map(|a| automation(a, &base)).collect()))
}

/// `POST /automations`
pub async fn automations_create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let a = app.helpdesk.create_automation(&scope, automation_input(&body)?).await?;
    Ok(created(
        &base.api(&format!("/automations/{}.json", a.row.id)),
        json!({"automation": automation(&a, &base)}),
    ))
}

/// `GET /automations/{id}`
pub async fn automations_show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let a = app.helpdesk.get_automation(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"automation": automation(&a, &base)})))
}

/// `PUT /automations/{id}`
pub async fn automations_update(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let a = app.helpdesk.update_automation(&scope, id, automation_input(&body)?).await?;
    Ok(ok(json!({"automation": automation(&a, &base)})))
}

/// `DELETE /automations/{id}` → 204.
pub async fn automations_delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_automation(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}

/// `GET /triggers` (`active`, `category_id` filters)
pub async fn triggers_index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let category = match params.get("category_id") {
        None | Some("") => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("category_id is a trigger category's id".into()))?,
        ),
    };
    let list = app.helpdesk.list_triggers(&scope, active_param(&params)?).await?;
    Ok(listed(
        "triggers",
        list.iter()
            .filter(|t| category.is_none_or(|c| t.category_id == Some(c)))
            .map(|t| trigger(t, &base))
            .collect(),
    ))
}

fn category_input(body: &JsonBody) -> Result<(Option<String>, Option<i64>), ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["trigger_category"])?;
    let o = root.object("trigger_category")?;
    o.only(&["name", "position", "id", "created_at", "updated_at"])?;
    Ok((o.opt_str("name", 255)?, o.opt_int("position", 0, 1_000_000)?))
}

/// `GET /trigger_categories`
pub async fn categories_index(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    let list = app.helpdesk.list_trigger_categories(&scope).await?;
    Ok(listed("trigger_categories", list.iter().map(category).collect()))
}

/// `POST /trigger_categories`
pub async fn categories_create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let (name, position) = category_input(&body)?;
    let c = app.helpdesk.create_trigger_category(&scope, name, position).await?;
    Ok(created(
        &base.api(&format!("/trigger_categories/{}", c.row.id)),
        json!({"trigger_category": category(&c)}),
    ))
}

/// `GET /trigger_categories/{id}`
pub async fn categories_show(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let c = app.helpdesk.get_trigger_category(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"trigger_category": category(&c)})))
}

/// `PATCH /trigger_categories/{id}`
pub async fn categories_update(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (name, position) = category_input(&body)?;
    let c = app.helpdesk.update_trigger_category(&scope, id, name, position).await?;
    Ok(ok(json!({"trigger_category": category(&c)})))
}

/// `DELETE /trigger_categories/{id}` → 204 (refused while triggers are filed under it).
pub async fn categories_delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_trigger_category(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}

/// `GET /triggers/active`
pub async fn triggers_active(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let list = app.helpdesk.list_triggers(&scope, Some(true)).await?;
    Ok(listed("triggers", list.iter().map(|t| trigger(t, &base)).collect()))
}

/// `POST /triggers`
pub async fn triggers_create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let t = app.helpdesk.create_trigger(&scope, trigger_input(&body)?).await?;
    Ok(created(
        &base.api(&format!("/triggers/{}.json", t.row.id)),
        json!({"trigger": trigger(&t, &base)}),
    ))
}

/// `GET /triggers/{id}`
pub async fn triggers_show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let t = app.helpdesk.get_trigger(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"trigger": trigger(&t, &base)})))
}

/// `PUT /triggers/{id}`
pub async fn triggers_update(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let t = app.helpdesk.update_trigger(&scope, id, trigger_input(&body)?).await?;
    Ok(ok(json!({"trigger": trigger(&t, &base)})))
}

/// `DELETE /triggers/{id}` → 204.
pub async fn triggers_delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_trigger(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}

/// `PUT /triggers/reorder` with `{"trigger_ids": [...]}`: every trigger, in the order wanted.
pub async fn triggers_reorder(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let ids = order_of(&body, "trigger_ids", "trigger_ids: a list of trigger ids")?;
    let list = app.helpdesk.reorder_triggers(&scope, &ids).await?;
    Ok(listed("triggers", list.iter().map(|t| trigger(t, &base)).collect()))
}

/// `GET /macros`
pub async fn macros_index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let macros = app.helpdesk.list_macros(&scope, active_param(&params)?).await?;
    Ok(listed("macros", macros.iter().map(|m| macro_(m, &base)).collect()))
}

/// `GET /macros/active`
pub async fn macros_active(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let macros = app.helpdesk.list_macros(&scope, Some(true)).await?;
    Ok(listed("macros", macros.iter().map(|m| macro_(m, &base)).collect()))
}

/// `POST /macros`
pub async fn macros_create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let m = app.helpdesk.create_macro(&scope, macro_input(&body)?).await?;
    Ok(created(&base.api(&format!("/macros/{}.json", m.row.id)), json!({"macro": macro_(&m, &base)})))
}

/// `GET /macros/{id}`
pub async fn macros_show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let m = app.helpdesk.get_macro(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"macro": macro_(&m, &base)})))
}

/// `PUT /macros/{id}`
pub async fn macros_update(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let m = app.helpdesk.update_macro(&scope, id, macro_input(&body)?).await?;
    Ok(ok(json!({"macro": macro_(&m, &base)})))
}

/// `DELETE /macros/{id}` → 204.
pub async fn macros_delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_macro(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}

/// What a macro would do, as Zendesk answers `apply`: the ticket (whole, when applied to one;
/// else only what changes) and the comment.
fn applied(a: &Applied, base: &BaseUrl) -> Value {
    let ticket = match &a.ticket {
        Some(t) => wire::ticket(t, base),
        None => {
            let mut m = Map::new();
            if let Some(s) = a.status {
                m.insert("status".into(), json!(s.as_str()));
            }
            if let Some(p) = a.priority {
                m.insert("priority".into(), json!(p.map(|p| p.as_str())));
            }
            if let Some(t) = a.ticket_type {
                m.insert("type".into(), json!(t.map(|t| t.as_str())));
            }
            if let Some(u) = a.assignee_id {
                m.insert("assignee_id".into(), json!(u.map(|u| u.0)));
            }
            if let Some(g) = a.group_id {
                m.insert("group_id".into(), json!(g.map(|g| g.0)));
            }
            if let Some(s) = &a.subject {
                m.insert("subject".into(), json!(s.expose()));
            }
            if let Some(t) = &a.set_tags {
                m.insert("tags".into(), json!(t));
            }
            if !a.add_tags.is_empty() {
                m.insert("additional_tags".into(), json!(a.add_tags));
            }
            if !a.remove_tags.is_empty() {
                m.insert("remove_tags".into(), json!(a.remove_tags));
            }
            if !a.custom_fields.is_empty() {
                let cf: Vec<Value> = a.custom_fields.iter().map(|(id, v)| json!({"id": id, "value": v})).collect();
                m.insert("custom_fields".into(), Value::Array(cf));
            }
            Value::Object(m)
        }
    };
    let mut result = Map::new();
    result.insert("ticket".into(), ticket);
    if let Some(c) = &a.comment {
        let (body, html, public) = (&c.body, &c.html_body, c.public);
        let text = match (body, html) {
            (Some(b), _) => b.expose().clone(),
            (None, Some(h)) => suoja_helpdesk::text::html_to_plain(h.expose()),
            (None, None) => String::new(),
        };
        let html = match html {
            Some(h) => suoja_helpdesk::text::sanitize_html(h.expose()),
            None => suoja_helpdesk::text::plain_to_html(&text),
        };
        result.insert(
            "comment".into(),
            json!({"body": text, "html_body": html, "public": public, "scoped_body": [["channel:all", text]]}),
        );
    }
    json!({"result": result})
}

/// `GET /macros/{id}/apply`: the changes a macro makes, on no ticket.
pub async fn macros_apply(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let a = app.helpdesk.apply_macro(&scope, parse_id(&id)?, None).await?;
    Ok(ok(applied(&a, &base)))
}

/// `GET /tickets/{ticket_id}/macros/{id}/apply`: the ticket as the macro would leave it, and
/// its reply with the placeholders filled in. Nothing is changed.
pub async fn macros_apply_to_ticket(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path((ticket, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ticket = suoja_core::TicketId(parse_id(&ticket)?);
    let a = app.helpdesk.apply_macro(&scope, parse_id(&id)?, Some(ticket)).await?;
    Ok(ok(applied(&a, &base)))
}
