//! `/api/v2/slas/policies…` and `/api/v2/business_hours/schedules…`: SLA policies and the
//! business-hours schedules their targets are counted in, in Zendesk's shapes. Staff read
//! them; admins change them. A ticket's clocks are shown with `include=slas` on the ticket.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::business_hours::WEEK_MINUTES;
use suoja_helpdesk::rules::metric_events::MetricEvent;
use suoja_helpdesk::rules::schedules::{HolidayInput, Schedule, ScheduleInput};
use suoja_helpdesk::rules::sla::{METRICS, PolicyMetric, SlaInput, SlaPolicy, TicketSla};
use suoja_store::schedules::HolidayRow;

use super::rules::listed;
use super::{created, no_content, ok};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, parse_id};
use crate::{ApiError, AppState};

/// An SLA policy as Zendesk shows it.
pub fn policy(p: &SlaPolicy, base: &BaseUrl) -> Value {
    let r = &p.row;
    json!({
        "id": r.id,
        "url": base.api(&format!("/slas/policies/{}.json", r.id)),
        "title": r.title,
        "description": r.description,
        "position": r.position,
        "filter": {"all": p.all, "any": p.any},
        "policy_metrics": p.metrics,
        "created_at": r.created_at.to_iso(),
        "updated_at": r.updated_at.to_iso(),
    })
}

/// A ticket's clocks (`include=slas`): the policy applying and each metric of its priority.
pub fn ticket_slas(s: Option<&TicketSla>) -> Value {
    let Some(s) = s else {
        return json!({"policy": null, "policy_metrics": []});
    };
    json!({
        "policy": {"id": s.policy.0, "title": s.policy.1},
        "policy_metrics": s.metrics.iter().map(|m| json!({
            "metric": m.metric,
            "stage": m.stage,
            "breach_at": m.breach_at.map(|t| t.to_iso()),
            "breached": m.breached,
            "target": m.target,
            "business_hours": m.business_hours,
        })).collect::<Vec<_>>(),
    })
}

/// A ticket metric event as Zendesk shows it: an `apply_sla` with its target and policy, an
/// `update_status` with the minutes the turn ran, a `breach` with whether it was called off.
pub fn metric_event(e: &MetricEvent) -> Value {
    let r = &e.row;
    let mut v = json!({
        "id": r.id,
        "ticket_id": r.ticket_id.0,
        "metric": r.metric,
        "instance_id": r.instance_id,
        "type": r.kind,
        "time": r.time.to_iso(),
    });
    match r.kind.as_str() {
        "apply_sla" => {
            let policy = json!({
                "id": r.policy_id,
                "title": e.policy.as_ref().map(|p| p.0.clone()),
                "description": e.policy.as_ref().map(|p| p.1.clone()),
            });
            suoja_core::json::set(&mut v, "sla", json!({"target": r.target, "business_hours": r.business_hours, "policy": policy}));
        }
        "update_status" => {
            suoja_core::json::set(&mut v, "status", json!({"calendar": r.calendar_minutes, "business": r.business_minutes}));
        }
        "breach" => suoja_core::json::set(&mut v, "deleted", json!(r.deleted)),
        _ => {}
    }
    v
}

/// A ticket's metric events grouped by metric (`include=metric_events`), each metric present.
pub fn metric_events_by_metric(events: &[MetricEvent]) -> Value {
    let mut out = serde_json::Map::new();
    for m in suoja_helpdesk::rules::metric_events::METRICS {
        let list: Vec<Value> = events.iter().filter(|e| e.row.metric == *m).map(metric_event).collect();
        out.insert((*m).to_string(), Value::Array(list));
    }
    Value::Object(out)
}

fn metric_list(o: &Obj<'_>) -> Result<Option<Vec<PolicyMetric>>, ApiError> {
    match o.raw("policy_metrics") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value::<Vec<PolicyMetric>>(v.clone()).map(Some).map_err(|_| {
            ApiError::Field(
                "policy_metrics".into(),
                "policy_metrics: a list of {\"priority\", \"metric\", \"target\" (minutes), \"business_hours\"}".into(),
                "InvalidValue",
            )
        }),
    }
}

fn policy_input(body: &JsonBody) -> Result<SlaInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["sla_policy"])?;
    let o = root.object("sla_policy")?;
    o.only(&[
        "title",
        "description",
        "position",
        "filter",
        "policy_metrics",
        "id",
        "url",
        "created_at",
        "updated_at",
    ])?;
    let (mut all, mut any) = (None, None);
    if let Some(f) = o.opt_object("filter")? {
        f.only(&["all", "any"])?;
        all = super::rules::conditions_of(&f, "all")?;
        any = super::rules::conditions_of(&f, "any")?;
    }
    Ok(SlaInput {
        rule: suoja_helpdesk::rules::RuleInput {
            title: o.opt_str("title", 255)?,
            description: o.nullable_str("description", 4096)?.map(Option::unwrap_or_default),
            active: None,
            position: o.opt_int("position", 0, 1_000_000)?,
            restriction: None,
        },
        all,
        any,
        metrics: metric_list(&o)?,
    })
}

/// `GET /slas/policies`
pub async fn policies_index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let list = app.helpdesk.list_sla_policies(&scope).await?;
    Ok(listed("sla_policies", list.iter().map(|p| policy(p, &base)).collect()))
}

/// `POST /slas/policies`
pub async fn policies_create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let p = app.helpdesk.create_sla_policy(&scope, policy_input(&body)?).await?;
    Ok(created(
        &base.api(&format!("/slas/policies/{}.json", p.row.id)),
        json!({"sla_policy": policy(&p, &base)}),
    ))
}

/// `GET /slas/policies/{id}`
pub async fn policies_show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let p = app.helpdesk.get_sla_policy(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"sla_policy": policy(&p, &base)})))
}

/// `PUT /slas/policies/{id}`
pub async fn policies_update(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let p = app.helpdesk.update_sla_policy(&scope, id, policy_input(&body)?).await?;
    Ok(ok(json!({"sla_policy": policy(&p, &base)})))
}

/// `DELETE /slas/policies/{id}` → 204.
pub async fn policies_delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_sla_policy(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}

/// `PUT /slas/policies/reorder` with `{"sla_policy_ids": [...]}`.
pub async fn policies_reorder(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let ids = super::rules::order_of(&body, "sla_policy_ids", "sla_policy_ids: a list of SLA policy ids")?;
    let list = app.helpdesk.reorder_sla_policies(&scope, &ids).await?;
    Ok(listed("sla_policies", list.iter().map(|p| policy(p, &base)).collect()))
}

/// `GET /slas/policies/definitions`: what a policy's filter and targets may name.
pub async fn policies_definitions(Auth(scope): Auth) -> Result<Response, ApiError> {
    if !scope.is_staff() {
        return Err(ApiError::from(suoja_helpdesk::HelpdeskError::Forbidden("staff only")));
    }
    let fields = [
        "status",
        "priority",
        "type",
        "assignee_id",
        "requester_id",
        "submitter_id",
        "organization_id",
        "group_id",
        "ticket_form_id",
        "current_tags",
    ];
    Ok(ok(json!({"definitions": {
        "all": fields.iter().map(|f| json!({"title": f, "value": f})).collect::<Vec<_>>(),
        "any": fields.iter().map(|f| json!({"title": f, "value": f})).collect::<Vec<_>>(),
        "metrics": METRICS,
        "priorities": ["low", "normal", "high", "urgent"],
    }})))
}

/// A schedule as Zendesk shows it.
pub fn schedule(s: &Schedule, base: &BaseUrl) -> Value {
    json!({
        "id": s.row.id,
        "url": base.api(&format!("/business_hours/schedules/{}.json", s.row.id)),
        "name": s.row.name,
        "time_zone": s.row.time_zone,
        "intervals": s.intervals.iter().map(|(a, b)| json!({"start_time": a, "end_time": b})).collect::<Vec<_>>(),
        "created_at": s.row.created_at.to_iso(),
        "updated_at": s.row.updated_at.to_iso(),
    })
}

fn holiday(h: &HolidayRow) -> Value {
    json!({
        "id": h.id,
        "name": h.name,
        "start_date": h.start_date,
        "end_date": h.end_date,
    })
}

/// The week's intervals as given: `[{"start_time": 1980, "end_time": 2460}, …]`.
fn intervals_of(o: &Obj<'_>) -> Result<Option<Vec<(u32, u32)>>, ApiError> {
    let bad = || {
        ApiError::Field(
            "intervals".into(),
            format!("intervals: a list of {{\"start_time\", \"end_time\"}} in minutes from Sunday 00:00 (0 to {WEEK_MINUTES})"),
            "InvalidValue",
        )
    };
    match o.raw("intervals") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.len() <= 1_000 => items
            .iter()
            .map(|i| {
                let m = |k: &str| i.get(k).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
                match (m("start_time"), m("end_time"), i.as_object().map(|o| o.len())) {
                    (Some(a), Some(b), Some(2)) => Ok((a, b)),
                    _ => Err(bad()),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(bad()),
    }
}

fn schedule_input(body: &JsonBody) -> Result<ScheduleInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["schedule"])?;
    let o = root.object("schedule")?;
    o.only(&["name", "time_zone", "intervals", "id", "url", "created_at", "updated_at"])?;
    Ok(ScheduleInput {
        name: o.opt_str("name", 255)?,
        time_zone: o.opt_str("time_zone", 100)?,
        intervals: intervals_of(&o)?,
    })
}

/// `GET /business_hours/schedules`
pub async fn schedules_index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl) -> Result<Response, ApiError> {
    let list = app.helpdesk.list_schedules(&scope).await?;
    Ok(ok(json!({"schedules": list.iter().map(|s| schedule(s, &base)).collect::<Vec<_>>()})))
}

/// `POST /business_hours/schedules`
pub async fn schedules_create(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, body: JsonBody) -> Result<Response, ApiError> {
    let s = app.helpdesk.create_schedule(&scope, schedule_input(&body)?).await?;
    Ok(created(
        &base.api(&format!("/business_hours/schedules/{}.json", s.row.id)),
        json!({"schedule": schedule(&s, &base)}),
    ))
}

/// `GET /business_hours/schedules/{id}`
pub async fn schedules_show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let s = app.helpdesk.get_schedule(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"schedule": schedule(&s, &base)})))
}

/// `PUT /business_hours/schedules/{id}`
pub async fn schedules_update(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let s = app.helpdesk.update_schedule(&scope, id, schedule_input(&body)?).await?;
    Ok(ok(json!({"schedule": schedule(&s, &base)})))
}

/// `PUT /business_hours/schedules/{id}/workweek` with `{"workweek": {"intervals": [...]}}`.
pub async fn schedules_workweek(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let root = Obj::root(&body.0);
    root.only(&["workweek"])?;
    let o = root.object("workweek")?;
    o.only(&["intervals"])?;
    let intervals = intervals_of(&o)?.ok_or_else(|| ApiError::Field("intervals".into(), "intervals: required".into(), "BlankValue"))?;
    let s = app
        .helpdesk
        .update_schedule(
            &scope,
            id,
            ScheduleInput {
                intervals: Some(intervals),
                ..ScheduleInput::default()
            },
        )
        .await?;
    let week: Vec<Value> = s.intervals.iter().map(|(a, b)| json!({"start_time": a, "end_time": b})).collect();
    Ok(ok(json!({"workweek": {"intervals": week}})))
}

/// `DELETE /business_hours/schedules/{id}` → 204.
pub async fn schedules_delete(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    app.helpdesk.delete_schedule(&scope, parse_id(&id)?).await?;
    Ok(no_content())
}

fn holiday_input(body: &JsonBody) -> Result<HolidayInput, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["holiday"])?;
    let o = root.object("holiday")?;
    o.only(&["name", "start_date", "end_date", "id"])?;
    Ok(HolidayInput {
        name: o.opt_str("name", 255)?,
        start_date: o.opt_str("start_date", 20)?,
        end_date: o.opt_str("end_date", 20)?,
    })
}

/// `GET /business_hours/schedules/{id}/holidays`
pub async fn holidays_index(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let list = app.helpdesk.list_holidays(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({"holidays": list.iter().map(holiday).collect::<Vec<_>>()})))
}

/// `POST /business_hours/schedules/{id}/holidays`
pub async fn holidays_create(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let h = app.helpdesk.put_holiday(&scope, id, None, holiday_input(&body)?).await?;
    Ok(created(
        &base.api(&format!("/business_hours/schedules/{id}/holidays/{}.json", h.id)),
        json!({"holiday": holiday(&h)}),
    ))
}

/// `GET /business_hours/schedules/{id}/holidays/{holiday_id}`
pub async fn holidays_show(State(app): State<AppState>, Auth(scope): Auth, Path((id, holiday_id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let h = app.helpdesk.get_holiday(&scope, parse_id(&id)?, parse_id(&holiday_id)?).await?;
    Ok(ok(json!({"holiday": holiday(&h)})))
}

/// `PUT /business_hours/schedules/{id}/holidays/{holiday_id}`
pub async fn holidays_update(
    State(app): State<AppState>,
    Auth(scope): Auth,
    Path((id, holiday_id)): Path<(String, String)>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let (id, holiday_id) = (parse_id(&id)?, parse_id(&holiday_id)?);
    let h = app.helpdesk.put_holiday(&scope, id, Some(holiday_id), holiday_input(&body)?).await?;
    Ok(ok(json!({"holiday": holiday(&h)})))
}

/// `DELETE /business_hours/schedules/{id}/holidays/{holiday_id}` → 204.
pub async fn holidays_delete(State(app): State<AppState>, Auth(scope): Auth, Path((id, holiday_id)): Path<(String, String)>) -> Result<Response, ApiError> {
    app.helpdesk.delete_holiday(&scope, parse_id(&id)?, parse_id(&holiday_id)?).await?;
    Ok(no_content())
}
