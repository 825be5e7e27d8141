//! The business rules page (`/agent/rules`, staff): the views and macros an agent sees, with
//! who they belong to and whether they are in use, and the team's triggers, automations and
//! SLA policies; a view or macro is added (conditions and actions one per line), any rule taken
//! out of use or back, or removed. Admins add shared ones and change any shared one; an agent
//! adds and changes their personal ones. The business-hours schedules SLA targets count in are
//! listed with their holidays; admins add (hours typed as `mon-fri 09:00-17:00`, one range a
//! line) and remove them. The same services as `/api/v2/views`, `/macros`, `/triggers`,
//! `/automations`, `/slas/policies` and `/business_hours/schedules`.

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
use suoja_helpdesk::rules::schedules::{HolidayInput, ScheduleInput};
use suoja_helpdesk::rules::sla::{PolicyMetric, SlaInput};
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
        (Page::post("/agent/rules/schedules"), post(create_schedule)),
        (Page::post("/agent/rules/schedules/{id}/remove"), post(remove_schedule)),
        (Page::post("/agent/rules/schedules/{id}/holidays"), post(add_holiday)),
        (Page::post("/agent/rules/schedules/{id}/holidays/{holiday_id}/remove"), post(remove_holiday)),
    ]
}

/// A schedule as the page lists it.
pub struct ScheduleRow {
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    /// Its week, a day at a time (`Mon 09:00–17:00`).
    pub week: String,
    /// Its holidays: (id, name, days).
    pub holidays: Vec<(i64, String, String)>,
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
    /// The business-hours schedules, the first counting SLA targets.
    schedules: Vec<ScheduleRow>,
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

/// An SLA policy's targets as the page lists them: `normal first_reply_time 60 min (business hours)`.
fn targets_summary(metrics: &[PolicyMetric], business: &str) -> String {
    metrics
        .iter()
        .map(|m| {
            let hours = if m.business_hours { format!(" ({business})") } else { String::new() };
            format!("{} {} {} min{hours}", m.priority, m.metric, m.target)
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Day names from Sunday, as the hours are typed: English three letters, Finnish two.
const DAYS: [[&str; 7]; 2] = [["sun", "mon", "tue", "wed", "thu", "fri", "sat"], ["su", "ma", "ti", "ke", "to", "pe", "la"]];

fn hhmm(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// A week as the page shows it, a day at a time (an interval across midnight shown on each day).
fn week_summary(intervals: &[(u32, u32)], fi: bool) -> String {
    let [en, fin] = DAYS;
    let names = if fi { fin } else { en };
    let mut out = Vec::new();
    for (d, name) in (0_u32..7).zip(names) {
        let (lo, hi) = (d * 1440, (d + 1) * 1440);
        let spans: Vec<String> = intervals
            .iter()
            .filter_map(|&(s, e)| {
                let (s, e) = (s.max(lo), e.min(hi));
                (s < e).then(|| format!("{}–{}", hhmm(s - lo), hhmm(e - lo)))
            })
            .collect();
        if !spans.is_empty() {
            let mut n = name.to_string();
            if let Some(f) = n.get_mut(0..1) {
                f.make_ascii_uppercase();
            }
            out.push(format!("{n} {}", spans.join(", ")));
        }
    }
    out.join(" · ")
}

/// Opening hours typed one range a line: `mon-fri 09:00-17:00`, `sat 10:00-14:00`,
/// `su 00:00-24:00` (English or Finnish day names); `None` when a line does not read.
fn hours(text: &str) -> Option<Vec<(u32, u32)>> {
    let day = |s: &str| -> Option<u32> {
        let s = s.trim().to_lowercase();
        DAYS.iter()
            .find_map(|names| names.iter().position(|n| *n == s))
            .and_then(|i| u32::try_from(i).ok())
    };
    let time = |s: &str| -> Option<u32> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (days, times) = line.split_once(char::is_whitespace)?;
        let (first, last) = match days.split_once('-') {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(days)?, day(days)?),
        };
        let (from, to) = times.trim().split_once('-')?;
        let (from, to) = (time(from)?, time(to)?);
        if first > last || from >= to {
            return None;
        }
        out.extend((first..=last).map(|d| (d * 1440 + from, d * 1440 + to)));
    }
    Some(out)
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
    let policies = state.helpdesk.list_sla_policies(&scope).await.map_err(|e| ctx.fail(e))?;
    let mut schedules = Vec::new();
    for s in state.helpdesk.list_schedules(&scope).await.map_err(|e| ctx.fail(e))? {
        let holidays = state.helpdesk.list_holidays(&scope, s.row.id).await.map_err(|e| ctx.fail(e))?;
        schedules.push(ScheduleRow {
            id: s.row.id,
            name: s.row.name.clone(),
            time_zone: s.row.time_zone.clone(),
            week: week_summary(&s.intervals, ctx.lang == super::i18n::Lang::Fi),
            holidays: holidays
                .into_iter()
                .map(|h| {
                    let days = if h.start_date == h.end_date {
                        h.start_date
                    } else {
                        format!("{} – {}", h.start_date, h.end_date)
                    };
                    (h.id, h.name, days)
                })
                .collect(),
        });
    }
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
    let policies: Vec<Row> = policies
        .iter()
        .map(|p| {
            let what = format!(
                "{} → {}",
                conditions_summary(&p.all, &p.any),
                targets_summary(&p.metrics, ctx.t("rules.business_hours"))
            );
            row(&scope, &p.row, what)
        })
        .collect();
    let p = RulesPage {
        c: Chrome::new(ctx, ctx.t("rules.title"), "rules"),
        sections: vec![
            ("views", "rules.views", views),
            ("macros", "rules.macros", macros),
            ("triggers", "rules.triggers", triggers),
            ("automations", "rules.automations", automations),
            ("sla_policies", "rules.sla_policies", policies),
        ],
        schedules,
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
        "sla_policies" => state
            .helpdesk
            .update_sla_policy(&scope, id, SlaInput { rule, ..Default::default() })
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
        "sla_policies" => state.helpdesk.delete_sla_policy(&scope, id).await,
        _ => return Err(ctx.fail(crate::ApiError::NotFound)),
    };
    done.map_err(|e| ctx.fail(e))?;
    Ok(see_other("/agent/rules?done=saved"))
}

async fn schedule_refused(state: &AppState, ctx: &Ctx, form: &'static str, f: &Fields, e: suoja_helpdesk::HelpdeskError) -> Result<Response, Failure> {
    let placed = ["name", "time_zone", "intervals", "start_date", "end_date"];
    let errors = FormErrors::from_error(e.into(), ctx.lang, &placed).map_err(|e| ctx.fail(e))?;
    page(state, ctx, form, f.0.clone(), errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn create_schedule(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let Some(intervals) = hours(f.get("hours")) else {
        let mut errors = FormErrors::default();
        errors.add("intervals", ctx.t("rules.bad_hours"));
        return page(&state, &ctx, "schedule", f.0.clone(), errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let input = ScheduleInput {
        name: Some(f.get("name").to_string()),
        time_zone: Some(f.get("time_zone").trim().to_string()).filter(|z| !z.is_empty()),
        intervals: Some(intervals),
    };
    match state.helpdesk.create_schedule(&scope, input).await {
        Ok(_) => Ok(see_other("/agent/rules?done=saved#business-hours")),
        Err(e) => schedule_refused(&state, &ctx, "schedule", &f, e).await,
    }
}

async fn remove_schedule(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    state.helpdesk.delete_schedule(&scope, id).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other("/agent/rules?done=saved#business-hours"))
}

async fn add_holiday(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let f = Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    let input = HolidayInput {
        name: Some(f.get("name").to_string()),
        start_date: Some(f.get("start_date").to_string()),
        end_date: Some(f.get("end_date").to_string())
            .filter(|d| !d.trim().is_empty())
            .or_else(|| Some(f.get("start_date").to_string())),
    };
    match state.helpdesk.put_holiday(&scope, id, None, input).await {
        Ok(_) => Ok(see_other("/agent/rules?done=saved#business-hours")),
        Err(e) => schedule_refused(&state, &ctx, "holiday", &f, e).await,
    }
}

async fn remove_holiday(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, holiday_id)): Path<(i64, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    Fields::read(&ctx, &headers, &body)?;
    let scope = ctx.staff()?;
    state.helpdesk.delete_holiday(&scope, id, holiday_id).await.map_err(|e| ctx.fail(e))?;
    Ok(see_other("/agent/rules?done=saved#business-hours"))
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

    #[test]
    fn hours_are_typed_a_range_a_line_and_shown_a_day_at_a_time() {
        let week = hours("mon-fri 09:00-17:00\nla 10:00-14:00\n\nsun 00:00-24:00").unwrap();
        assert_eq!(week.len(), 7);
        assert_eq!(week[0], (1980, 2460));
        assert_eq!(week[5], (6 * 1440 + 600, 6 * 1440 + 840));
        assert_eq!(week[6], (0, 1440));
        assert_eq!(
            week_summary(&week, false),
            "Sun 00:00–24:00 · Mon 09:00–17:00 · Tue 09:00–17:00 · Wed 09:00–17:00 · Thu 09:00–17:00 · Fri 09:00–17:00 · Sat 10:00–14:00"
        );
        assert!(week_summary(&week, true).starts_with("Su 00:00–24:00 · Ma 09:00–17:00"));
        for bad in [
            "mon 17:00-09:00",
            "fri-mon 09:00-17:00",
            "funday 09:00-17:00",
            "mon 9-17",
            "mon 09:00-24:30",
            "mon",
        ] {
            assert_eq!(hours(bad), None, "{bad}");
        }
        assert_eq!(hours(""), Some(vec![]));
    }
}
