//! The business rules page (`/agent/rules`, staff): the views and macros an agent sees, with
//! who they belong to and whether they are in use, and the team's triggers and automations; a
//! view or macro is added (conditions and actions one per line), any rule taken out of use or
//! back, or removed. Admins add shared ones and change any shared one; an agent adds and
//! changes their personal ones. The same services as `/api/v2/views`, `/macros`, `/triggers`
//! and `/automations`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde_json::Value;
use suoja_helpdesk::rules::RuleInput;
use suoja_helpdesk::rules::automations::AutomationInput;
use suoja_helpdesk::rules::conditions::Wire;
use suoja_helpdesk::rules::macros::{Action, MacroInput};
use suoja_helpdesk::rules::triggers::TriggerInput;
use suoja_helpdesk::rules::views::ViewInput;
use suoja_store::rules::RuleRow;

use super::ctx::{Ctx, Fields};
use super::{Chrome, Failure, FormErrors, Page, render_status, see_other};
use crate::AppState;

/// The views and macros pages.
pub(super) fn pages() -> Vec<(Page, MethodRouter<AppState>)> {
    vec![
        (Page::get("/agent/rules"), get(show)),
        (Page::post("/agent/rules/views"), post(create_view)),
        (Page::post("/agent/rules/macros"), post(create_macro)),
        (Page::post("/agent/rules/{kind}/{id}/active"), post(set_active)),
        (Page::post("/agent/rules/{kind}/{id}/remove"), post(remove)),
    ]
}

/// A view or macro as the page lists it.
pub struct Row {
    pub id: i64,
    pub title: String,
    /// What it does, in the API's words (conditions or actions).
    pub summary: String,
    pub personal: bool,
    pub default: bool,
    pub active: bool,
    /// The reader may change it.
    pub mine: bool,
}

#[derive(Template)]
#[template(path = "agent/rules.html")]
struct RulesPage {
    c: Chrome,
    /// (kind in the path, heading, rows): views, then macros.
    sections: Vec<(&'static str, &'static str, Vec<Row>)>,
    /// The orders a view may list in: (value, label).
    sorts: Vec<(&'static str, &'static str)>,
    /// What was typed into the form that failed, and which form (`view` or `macro`).
    form: Vec<(String, String)>,
    failed: &'static str,
    errors: FormErrors,
}

impl RulesPage {
    fn value(&self, form: &str, name: &str) -> &str {
        if self.failed != form {
            return "";
        }
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
    fn error(&self, form: &str, name: &str) -> Option<&str> {
        (self.failed == form && self.errors.has(name)).then(|| self.errors.get(name))
    }
}

fn row(scope: &suoja_core::Scope, r: &RuleRow, summary: String) -> Row {
    Row {
        id: r.id,
        title: r.title.clone(),
        summary,
        personal: r.owner_id.is_some(),
        default: r.key.is_some(),
        active: r.active,
        mine: match r.owner_id {
            Some(o) => o == scope.actor,
            None => scope.is_admin(),
        },
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Conditions as the page lists them: `all` joined, `any` in brackets.
fn conditions_summary(all: &[Wire], any: &[Wire]) -> String {
    let line = |ws: &[Wire]| ws.iter().map(|w| format!("{} {} {}", w.field, w.operator, shown(&w.value))).collect::<Vec<_>>();
    let mut parts = line(all);
    if !any.is_empty() {
        parts.push(format!("({})", line(any).join(" | ")));
    }
    parts.join(" · ")
}

/// Actions as the page lists them, each value cut at 80 characters; a notification as who it
/// goes to and its subject.
fn actions_summary(actions: &[Action]) -> String {
    actions
        .iter()
        .map(|a| {
            let parts: Vec<&str> = a
                .value
                .as_array()
                .map(|items| items.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let v = match parts.as_slice() {
                [to, subject, _] => format!("{to}: {subject}"),
                _ => shown(&a.value),
            };
            let v: String = v.chars().take(80).collect();
            format!("{} = {v}", a.field)
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    failed: &'static str,
    form: Vec<(String, String)>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, Failure> {
    let scope = ctx.staff()?;
    let views = state.helpdesk.list_views(&scope, None).await.map_err(|e| ctx.fail(e))?;
    let macros = state.helpdesk.list_macros(&scope, None).await.map_err(|e| ctx.fail(e))?;
    let automations = state.helpdesk.list_automations(&scope, None).await.map_err(|e| ctx.fail(e))?;
    let triggers = state.helpdesk.list_triggers(&scope, None).await.map_err(|e| ctx.fail(e))?;
    let views: Vec<Row> = views
        .iter()
        .map(|v| {
            let mut r = row(&scope, &v.row, conditions_summary(&v.def.all, &v.def.any));
            r.title = super::agent::view_title(ctx, v);
            r
        })
        .collect();
    let macros: Vec<Row> = macros.iter().map(|m| row(&scope, &m.row, actions_summary(&m.actions))).collect();
    let automations: Vec<Row> = automations
        .iter()
        .map(|a| {
            let what = format!("{} → {}", conditions_summary(&a.all, &a.any), actions_summary(&a.actions));
            row(&scope, &a.row, what)
        })
        .collect();
    let triggers: Vec<Row> = triggers
        .iter()
        .map(|t| {
            let what = format!("{} → {}", conditions_summary(&t.all, &t.any), actions_summary(&t.actions));
            row(&scope, &t.row, what)
        })
        .collect();
    let p = RulesPage {
        c: Chrome::new(ctx, ctx.t("rules.title"), "rules"),
        sections: vec![
            ("views", "rules.views", views),
            ("macros", "rules.macros", macros),
            ("triggers", "rules.triggers", triggers),
            ("automations", "rules.automations", automations),
        ],
        sorts: vec![
            ("updated_at", "rules.sort_updated"),
            ("created_at", "rules.sort_created"),
            ("nice_id", "rules.sort_id"),
        ],
        form,
        failed,
        errors,
    };
    Ok(render_status(ctx, status, &p))
}

async fn show(State(state): State<AppState>, ctx: Ctx) -> Result<Response, Failure> {
    page(&state, &ctx, "", Vec::new(), FormErrors::default(), StatusCode::OK).await
}

/// The rule's parts every kind has, as the form gives them: shared only when an admin ticks it.
fn rule_input(scope: &suoja_core::Scope, f: &Fields) -> RuleInput {
    RuleInput {
        title: Some(f.get("title").to_string()),
        description: Some(f.get("description").to_string()),
        restriction: Some(if scope.is_admin() && f.get("shared") == "1" {
            None
        } else {
            Some(scope.actor)
        }),
        ..Default::default()
    }
}

/// Conditions typed one per line: `field operator value` (the value may hold spaces, or be
/// left out for "no value").
fn conditions(text: &str) -> Vec<Wire> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, char::is_whitespace);
            let field = parts.next().unwrap_or("").to_string();
            let operator = parts.next().unwrap_or("").trim().to_string();
            let value = parts.next().unwrap_or("").trim().to_string();
            Wire {
                field,
                operator,
                value: Value::String(value),
            }
        })
        .collect()
}

/// Actions typed one per line: `field = value`.
fn actions(text: &str) -> Vec<Action> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (field, value) = l.split_once('=').unwrap_or((l, ""));
            Action {
                field: field.trim().to_string(),
                value: Value::String(value.trim().to_string()),
            }
        })
        .collect()
}

async fn refused(state: &AppState, ctx: &Ctx, form: &'static str, f: &Fields, e: suoja_helpdesk::HelpdeskError) -> Result<Response, Failure> {
    let placed = ["title", "conditions", "actions", "sort_by", "sort_order"];
    let errors = FormErrors::from_error(e.into(), ctx.lang, &placed).map_err(|e| ctx.fail(e))?;
    page(state, ctx, form, f.0.clone(), errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn create_view(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let input = ViewInput {
        rule: rule_input(&scope, &f),
        all: Some(conditions(f.get("all"))),
        any: Some(conditions(f.get("any"))),
        sort_by: Some(f.get("sort_by").to_string()).filter(|s| !s.is_empty()),
        sort_order: Some(f.get("sort_order").to_string()).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    match state.helpdesk.create_view(&scope, input).await {
        Ok(v) => Ok(see_other(&format!("/agent/views/{}", v.slug()))),
        Err(e) => refused(&state, &ctx, "view", &f, e).await,
    }
}

async fn create_macro(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let mut list = actions(f.get("actions"));
    let reply = f.get("reply").trim();
    if !reply.is_empty() {
        list.push(Action {
            field: "comment_value".into(),
            value: Value::String(reply.to_string()),
        });
        list.push(Action {
            field: "comment_mode_is_public".into(),
            value: Value::String((f.get("public") == "1").to_string()),
        });
    }
    let input = MacroInput {
        rule: rule_input(&scope, &f),
        actions: Some(list),
    };
    match state.helpdesk.create_macro(&scope, input).await {
        Ok(_) => Ok(see_other("/agent/rules?done=saved")),
        Err(e) => refused(&state, &ctx, "macro", &f, e).await,
    }
}

async fn set_active(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((kind, id)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let rule = RuleInput {
        active: Some(f.get("active") == "1"),
        ..Default::default()
    };
    let done = match kind.as_str() {
        "views" => state
            .helpdesk
            .update_view(&scope, id, ViewInput { rule, ..Default::default() })
            .await
            .map(|_| ()),
        "macros" => state.helpdesk.update_macro(&scope, id, MacroInput { rule, actions: None }).await.map(|_| ()),
        "automations" => state
            .helpdesk
            .update_automation(&scope, id, AutomationInput { rule, ..Default::default() })
            .await
            .map(|_| ()),
        "triggers" => state
            .helpdesk
            .update_trigger(&scope, id, TriggerInput { rule, ..Default::default() })
            .await
            .map(|_| ()),
        _ => return Err(ctx.fail(crate::ApiError::NotFound)),
    };
    done.map_err(|e| ctx.fail(e))?;
    Ok(see_other("/agent/rules?done=saved"))
}

async fn remove(State(state): State<AppState>, ctx: Ctx, Path((kind, id)): Path<(String, i64)>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let done = match kind.as_str() {
        "views" => state.helpdesk.delete_view(&scope, id).await,
        "macros" => state.helpdesk.delete_macro(&scope, id).await,
        "automations" => state.helpdesk.delete_automation(&scope, id).await,
        "triggers" => state.helpdesk.delete_trigger(&scope, id).await,
        _ => return Err(ctx.fail(crate::ApiError::NotFound)),
    };
    done.map_err(|e| ctx.fail(e))?;
    Ok(see_other("/agent/rules?done=saved"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_and_actions_are_read_one_per_line() {
        let c = conditions("status less_than solved\n\n  assignee_id is\ncurrent_tags includes vip gold\n");
        let got: Vec<(&str, &str, &str)> = c.iter().map(|w| (w.field.as_str(), w.operator.as_str(), w.value.as_str().unwrap())).collect();
        assert_eq!(
            got,
            vec![
                ("status", "less_than", "solved"),
                ("assignee_id", "is", ""),
                ("current_tags", "includes", "vip gold")
            ]
        );
        let notice = Action {
            field: "notification_user".into(),
            value: serde_json::json!(["requester_id", "Received: {{ticket.title}}", "A long text"]),
        };
        assert_eq!(actions_summary(&[notice]), "notification_user = requester_id: Received: {{ticket.title}}");
        let a = actions("status = pending\nset_tags = a b = c\nbroken");
        let got: Vec<(&str, &str)> = a.iter().map(|a| (a.field.as_str(), a.value.as_str().unwrap())).collect();
        assert_eq!(got, vec![("status", "pending"), ("set_tags", "a b = c"), ("broken", "")]);
    }
}
