//! Administration: the fields page — the tenant's ticket, user and organisation fields, each
//! with its type, key and where it shows; a field is added (options one per line, `Name =
//! value`), taken out of use or back, or removed. The same services as `/api/v2/ticket_fields`,
//! `/user_fields` and `/organization_fields`. Admins only.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use suoja_helpdesk::fields::{Field, FieldInput, OptionInput, Owner};

use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, FormErrors, Page, render_status, see_other};
use crate::AppState;

/// The fields pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/admin/fields"), get(show)),
        (Page::post("/admin/fields"), post(create)),
        (Page::post("/admin/fields/{id}/active"), post(set_active)),
        (Page::post("/admin/fields/{id}/remove"), post(remove)),
    ]
}

fn admin(ctx: &Ctx) -> Result<suoja_core::Scope, Failure> {
    let s = ctx.person()?;
    if !s.is_admin() {
        return Err(Failure::forbidden(ctx));
    }
    Ok(s)
}

fn owner(s: &str) -> Option<Owner> {
    match s {
        "ticket" => Some(Owner::Ticket),
        "user" => Some(Owner::User),
        "organization" => Some(Owner::Organization),
        _ => None,
    }
}

/// The owner a row's form names (its hidden `owner`).
fn owner_of(ctx: &Ctx, f: &Fields) -> Result<Owner, Failure> {
    owner(f.get("owner")).ok_or_else(|| {
        ctx.fail(crate::ApiError::Field(
            "owner".into(),
            "owner: ticket, user or organization".into(),
            "InvalidValue",
        ))
    })
}

/// A field as the page lists it.
pub struct Row {
    pub id: i64,
    pub owner: &'static str,
    pub title: String,
    pub kind: String,
    pub key: String,
    pub options: String,
    pub active: bool,
    pub system: bool,
    pub required: bool,
    pub portal: &'static str,
}

/// One owner's fields.
pub struct Section {
    pub owner: &'static str,
    pub heading: &'static str,
    pub rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "admin/fields.html")]
struct FieldsPage {
    c: Chrome,
    sections: Vec<Section>,
    types: Vec<(&'static str, &'static str)>,
    form: Vec<(String, String)>,
    errors: FormErrors,
}

impl FieldsPage {
    fn value(&self, name: &str) -> &str {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
    fn ticked(&self, name: &str) -> bool {
        self.value(name) == "1"
    }
}

fn row(f: &Field, owner: Owner, ctx: &Ctx) -> Row {
    let d = &f.def;
    Row {
        id: d.id,
        owner: owner.as_str(),
        title: d.title.clone(),
        kind: ctx
            .t(&format!("fields.type_{}", if d.system { "system" } else { d.field_type.as_str() }))
            .to_string(),
        key: d.key.clone().unwrap_or_default(),
        options: f.options.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", "),
        active: d.active,
        system: d.system,
        required: d.required,
        portal: match (d.visible_in_portal, d.editable_in_portal, d.required_in_portal) {
            (_, true, true) => "fields.portal_required",
            (_, true, false) => "fields.portal_editable",
            (true, false, _) => "fields.portal_visible",
            _ => "fields.portal_hidden",
        },
    }
}

async fn page(state: &AppState, ctx: &Ctx, form: Vec<(String, String)>, errors: FormErrors, status: StatusCode) -> Result<Response, Failure> {
    let scope = admin(ctx)?;
    let mut sections = Vec::new();
    for (owner, heading) in [
        (Owner::Ticket, "fields.ticket"),
        (Owner::User, "fields.user"),
        (Owner::Organization, "fields.organization"),
    ] {
        let list = state.helpdesk.list_fields(&scope, owner).await.map_err(|e| ctx.fail(e))?;
        sections.push(Section {
            owner: owner.as_str(),
            heading,
            rows: list.iter().map(|f| row(f, owner, ctx)).collect(),
        });
    }
    let types = ["text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "tagger", "multiselect"]
        .into_iter()
        .map(|t| (t, ctx.t(&format!("fields.type_{t}"))))
        .collect();
    let page = FieldsPage {
        c: Chrome::new(ctx, ctx.t("fields.title"), "fields"),
        sections,
        types,
        form,
        errors,
    };
    Ok(render_status(ctx, status, &page))
}

async fn show(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    page(&state, &ctx, Vec::new(), FormErrors::default(), StatusCode::OK).await
}

/// The options typed, one per line: `Name = value`, or a name alone (its value made from it).
fn options(text: &str) -> Vec<OptionInput> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, value) = match l.rsplit_once('=') {
                Some((n, v)) if !n.trim().is_empty() && !v.trim().is_empty() => (n.trim().to_string(), v.trim().to_string()),
                _ => (l.to_string(), l.to_lowercase().split_whitespace().collect::<Vec<_>>().join("_")),
            };
            OptionInput {
                id: None,
                name,
                value,
                default: false,
            }
        })
        .collect()
}

async fn create(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let Some(owner) = owner(f.get("owner")) else {
        let mut errors = FormErrors::default();
        errors.add("owner", ctx.t("form.choose").to_string());
        return page(&state, &ctx, f.0.clone(), errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let ty = match (owner, f.get("type")) {
        (Owner::Ticket, t) => t.to_string(),
        (_, "tagger") => "dropdown".to_string(),
        (_, t) => t.to_string(),
    };
    let has_options = matches!(ty.as_str(), "tagger" | "dropdown" | "multiselect");
    let ticked = |k: &str| Some(f.get(k) == "1");
    let input = FieldInput {
        field_type: Some(ty.clone()),
        key: (owner != Owner::Ticket).then(|| f.get("key").trim().to_string()),
        title: Some(f.get("title").to_string()),
        description: Some(f.get("description").to_string()),
        required: (owner == Owner::Ticket).then_some(f.get("required") == "1"),
        visible_in_portal: if owner == Owner::Ticket { ticked("visible_in_portal") } else { None },
        editable_in_portal: if owner == Owner::Ticket { ticked("editable_in_portal") } else { None },
        required_in_portal: if owner == Owner::Ticket { ticked("required_in_portal") } else { None },
        regexp: (ty == "regexp").then(|| Some(f.get("regexp").to_string())),
        options: has_options.then(|| options(f.get("options"))),
        ..Default::default()
    };
    match state.helpdesk.create_field(&scope, owner, input).await {
        Ok(_) => Ok(see_other("/admin/fields?done=field_added")),
        Err(e) => {
            let placed = ["title", "key", "type", "regexp_for_validation", "custom_field_options"];
            let mut errors = FormErrors::from_error(e.into(), ctx.lang, &placed).map_err(|e| ctx.fail(e))?;
            // The form names two of them otherwise.
            for (field, _) in &mut errors.0 {
                match field.as_str() {
                    "regexp_for_validation" => *field = "regexp".into(),
                    "custom_field_options" => *field = "options".into(),
                    _ => {}
                }
            }
            page(&state, &ctx, f.0.clone(), errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn set_active(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let owner = owner_of(&ctx, &f)?;
    let input = FieldInput {
        active: Some(f.get("active") == "1"),
        ..Default::default()
    };
    state.helpdesk.update_field(&scope, owner, id, input).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other("/admin/fields?done=field_changed"))
}

async fn remove(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = admin(&ctx)?;
    let owner = owner_of(&ctx, &f)?;
    state.helpdesk.delete_field(&scope, owner, id).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other("/admin/fields?done=field_removed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_one_per_line() {
        let o = options("Gold plan = gold\n\n  Silver  \nA = b = c\n");
        let got: Vec<(&str, &str)> = o.iter().map(|o| (o.name.as_str(), o.value.as_str())).collect();
        assert_eq!(got, vec![("Gold plan", "gold"), ("Silver", "silver"), ("A = b", "c")]);
    }
}
