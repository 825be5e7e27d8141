//! `/api/v2/privacy/…`: data-subject requests (inbox, identity check, extension, refusal,
//! fulfilment), export packages and their download, restriction, the footprint view for privacy
//! staff, and ledger verification. Zendesk has no such endpoints; the shapes follow its style
//! (root keys, RecordInvalid errors, absolute URLs).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Value, json};
use suoja_core::{Email, Personal, Timestamp, UserId};
use suoja_privacy::PrivacyError;
use suoja_privacy::export::{Filter, Format, Options, package::Package};
use suoja_privacy::requests::{Kind, NewRequest, Request, Subject};

use super::{ok, respond};
use crate::extract::{Auth, BaseUrl, Client, JsonBody, MaybeAuth, Obj, Params, parse_id};
use crate::middleware::Sensitive;
use crate::uniform::answer_after;
use crate::{ApiError, AppState};

fn request_json(r: &Request, base: &BaseUrl, now: Timestamp) -> Value {
    let row = r;
    json!({
        "id": row.id,
        "url": base.api(&format!("/privacy/requests/{}.json", row.id)),
        "kind": row.kind,
        "channel": row.channel,
        "status": row.status,
        "subject_id": row.subject_id,
        "opened_by": row.opened_by,
        "received_at": row.received_at.to_iso(),
        "due_at": row.due_at.to_iso(),
        "original_due_at": row.original_due_at.to_iso(),
        "extended": row.extended_at.is_some(),
        "extended_at": row.extended_at.map(Timestamp::to_iso),
        "verified": row.verified_at.is_some(),
        "verified_at": row.verified_at.map(Timestamp::to_iso),
        "verification": row.verification,
        "closed_at": row.closed_at.map(Timestamp::to_iso),
        "outcome": row.outcome_code,
        "time_left_seconds": if row.closed_at.is_some() { Value::Null } else { json!((row.due_at.0 - now.0).div_euclid(1000)) },
        "overdue": row.closed_at.is_none() && now > row.due_at,
        "details": r.details.expose(),
        "withheld": r.withheld,
        "created_at": row.created_at.to_iso(),
        "updated_at": row.updated_at.to_iso(),
    })
}

fn package_json(p: &Package, base: &BaseUrl) -> Value {
    json!({
        "id": p.id,
        "request_id": p.request_id,
        "format": p.format.as_str(),
        "size": p.size,
        "created_at": p.created_at.to_iso(),
        "expires_at": p.expires_at.to_iso(),
        "downloads": p.downloads,
        "status": p.status,
        "download_url": p.is_ready().then(|| base.api(&format!("/privacy/exports/{}/download", p.id))),
    })
}

/// `POST /privacy/requests`
pub async fn create(
    State(app): State<AppState>,
    MaybeAuth(scope, tenant): MaybeAuth,
    client: Client,
    base: BaseUrl,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["request"])?;
    let r = root.object("request")?;
    r.only(&["kind", "subject_id", "email", "channel", "received_at", "changes", "message"])?;
    let kind = Kind::parse(r.opt_str("kind", 40)?.as_deref().unwrap_or(""))
        .map_err(|_| PrivacyError::invalid("kind", "must be one of access, portability, rectification, erasure, restriction, objection"))?;
    let subject = match (r.opt_id("subject_id")?, r.opt_str("email", 320)?) {
        (Some(id), None) => Subject::User(UserId(id)),
        (None, Some(e)) => {
            Subject::Email(Email::parse(&e).map_err(|_| ApiError::Field("email".into(), "email: is not a valid e-mail address".into(), "InvalidValue"))?)
        }
        (None, None) => Subject::Myself,
        (Some(_), Some(_)) => {
            return Err(ApiError::Field(
                "subject_id".into(),
                "subject_id: give subject_id or email, not both".into(),
                "InvalidValue",
            ));
        }
    };
    let received_at = match r.opt_str("received_at", 40)? {
        Some(s) => {
            Some(Timestamp::parse(&s).ok_or_else(|| ApiError::Field("received_at".into(), "received_at: must be an ISO 8601 time".into(), "InvalidValue"))?)
        }
        None => None,
    };
    let changes = match r.raw("changes") {
        None | Some(Value::Null) => None,
        Some(v) => Some(Personal::new(v.clone())),
    };
    let input = NewRequest {
        subject,
        kind,
        channel: r.opt_str("channel", 40)?,
        received_at,
        changes,
        message: r.opt_str("message", 5000)?.map(Personal::new),
        sender_check: None,
    };
    // Anonymous callers get the same answer, after the same time, whether or not the address is
    // on record; each client address may ask a few times an hour.
    let Some(scope) = scope else {
        client.attempt(&app, Sensitive::MailedLink)?;
        // A request from the web form is a web request, whatever channel it names.
        let input = NewRequest { channel: None, ..input };
        let (privacy, public_url) = (app.privacy.clone(), app.public_url.clone());
        answer_after("anonymous privacy request", async move { privacy.open(tenant, None, input, &public_url).await }).await?;
        return Ok(respond(
            StatusCode::ACCEPTED,
            json!({ "request": null, "message": "If this address is on record, a confirmation link has been sent to it. The link is valid for 24 hours." }),
        ));
    };
    let req = app
        .privacy
        .open(tenant, Some(&scope), input, &app.public_url)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(super::created(
        &base.api(&format!("/privacy/requests/{}.json", req.id)),
        json!({ "request": request_json(&req, &base, app.helpdesk.now()) }),
    ))
}

/// `GET /privacy/requests`
pub async fn index(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, params: Params) -> Result<Response, ApiError> {
    let per_page = params.int("per_page", 1, 100)?.unwrap_or(100);
    let page = params.int("page", 1, 10_000)?.unwrap_or(1);
    let open_only = match params.get("status") {
        None | Some("all") => false,
        Some("open") => true,
        Some(_) => return Err(ApiError::BadRequest("status must be open or all".into())),
    };
    let (reqs, count) = app.privacy.list(&scope, open_only, per_page, page).await?;
    let now = app.helpdesk.now();
    let next = (page * per_page < count).then(|| {
        base.api(&format!(
            "/privacy/requests.json?page={}&per_page={per_page}{}",
            page + 1,
            if open_only { "&status=open" } else { "" }
        ))
    });
    let prev = (page > 1).then(|| {
        base.api(&format!(
            "/privacy/requests.json?page={}&per_page={per_page}{}",
            page - 1,
            if open_only { "&status=open" } else { "" }
        ))
    });
    Ok(ok(json!({
        "requests": reqs.iter().map(|r| request_json(r, &base, now)).collect::<Vec<_>>(),
        "count": count,
        "next_page": next,
        "previous_page": prev,
    })))
}

/// `GET /privacy/requests/{id}`
pub async fn show(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let r = app.privacy.get(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "request": request_json(&r, &base, app.helpdesk.now()) })))
}

fn text_field(body: &JsonBody, key: &'static str, max: usize) -> Result<String, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&[key])?;
    root.opt_str(key, max)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::Field(key.into(), format!("{key}: cannot be blank"), "BlankValue"))
}

/// `POST /privacy/confirmations` (no session: the token from the link proves the address).
/// Each client address gets a few tries; every failure has one answer.
pub async fn confirm(
    State(app): State<AppState>,
    MaybeAuth(_, tenant): MaybeAuth,
    client: Client,
    base: BaseUrl,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let token = text_field(&body, "token", 200)?;
    client.attempt(&app, Sensitive::Confirmation)?;
    let r = app.privacy.confirm(tenant, &token).await?;
    Ok(ok(json!({ "request": confirmed_json(&r, &base, app.helpdesk.now()) })))
}

/// What the person who confirmed a request by link learns about it: no details, no profile.
fn confirmed_json(r: &Request, base: &BaseUrl, now: Timestamp) -> Value {
    json!({
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "due_at": r.due_at.to_iso(),
        "url": base.api(&format!("/privacy/requests/{}.json", r.id)),
        "received_at": r.received_at.to_iso(),
        "time_left_seconds": (r.due_at.0 - now.0).div_euclid(1000),
    })
}

/// `POST /privacy/requests/{id}/verify`
pub async fn verify(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let note = text_field(&body, "note", 2000)?;
    let r = app.privacy.verify_by_staff(&scope, parse_id(&id)?, &note).await?;
    Ok(ok(json!({ "request": request_json(&r, &base, app.helpdesk.now()) })))
}

/// `POST /privacy/requests/{id}/extend`
pub async fn extend(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let reason = text_field(&body, "reason", 2000)?;
    let r = app.privacy.extend(&scope, parse_id(&id)?, &reason).await?;
    Ok(ok(json!({ "request": request_json(&r, &base, app.helpdesk.now()) })))
}

/// `POST /privacy/requests/{id}/refuse`
pub async fn refuse(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["code", "reason"])?;
    let code = root.opt_str("code", 60)?.unwrap_or_default();
    let reason = root.opt_str("reason", 2000)?.unwrap_or_default();
    let r = app.privacy.refuse(&scope, parse_id(&id)?, &code, &reason).await?;
    Ok(ok(json!({ "request": request_json(&r, &base, app.helpdesk.now()) })))
}

/// `POST /privacy/requests/{id}/fulfil`
pub async fn fulfil(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    Obj::root(&body.0).only(&[])?;
    let r = app.privacy.fulfil(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "request": request_json(&r, &base, app.helpdesk.now()) })))
}

/// `POST /privacy/requests/{id}/exports`
pub async fn build_export(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let root = Obj::root(&body.0);
    root.only(&["export"])?;
    let (format, opts) = match root.opt_object("export")? {
        Some(e) => {
            e.only(&["format", "filter", "include_internal_notes"])?;
            let format = Format::parse(e.opt_str("format", 10)?.as_deref().unwrap_or("zip"))?;
            let filter = Filter::parse(e.opt_str("filter", 20)?.as_deref().unwrap_or("all"))?;
            let notes = e.opt_bool("include_internal_notes")?;
            if notes.is_some() && !scope.handles_privacy() {
                return Err(ApiError::Field(
                    "include_internal_notes".into(),
                    "include_internal_notes: only privacy staff choose this".into(),
                    "InvalidValue",
                ));
            }
            (
                format,
                Options {
                    filter,
                    include_internal_notes: notes,
                },
            )
        }
        None => (Format::Zip, Options::default()),
    };
    let request = parse_id(&id)?;
    let started = app.privacy.start_package(&scope, request, format, &opts).await?;
    let p = started.ready_within(EXPORT_WAIT).await?;
    if p.is_ready() {
        return Ok(super::created(
            &base.api(&format!("/privacy/exports/{}/download", p.id)),
            json!({ "export": package_json(&p, &base) }),
        ));
    }
    Ok(respond(StatusCode::ACCEPTED, json!({ "export": package_json(&p, &base) })))
}

/// How long starting an export waits for it: a small one is answered ready (201), a larger one
/// as building (202), to be fetched from the request's list of exports once ready.
const EXPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /privacy/requests/{id}/exports`
pub async fn exports(State(app): State<AppState>, Auth(scope): Auth, base: BaseUrl, Path(id): Path<String>) -> Result<Response, ApiError> {
    let list = app.privacy.packages(&scope, parse_id(&id)?).await?;
    Ok(ok(json!({ "exports": list.iter().map(|p| package_json(p, &base)).collect::<Vec<_>>() })))
}

/// `GET /privacy/exports/{id}/download`
pub async fn download(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let (p, reader) = app.privacy.download(&scope, &id).await?;
    let mut r = (StatusCode::OK, crate::package_body::body(reader, u64::try_from(p.size).unwrap_or(0))).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(p.format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"personal-data-{}.{}\"", p.id, p.format.as_str())) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `POST /privacy/subjects/{id}/restriction`
pub async fn restrict(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let reason = text_field(&body, "reason", 2000)?;
    let n = app.privacy.restrict(&scope, UserId(parse_id(&id)?), &reason).await?;
    Ok(ok(json!({ "restriction": { "subject_id": parse_id(&id)?, "restricted": true, "tickets": n } })))
}

/// `POST /privacy/subjects/{id}/restriction/lift`
pub async fn lift(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, body: JsonBody) -> Result<Response, ApiError> {
    let reason = text_field(&body, "reason", 2000)?;
    let n = app.privacy.lift_restriction(&scope, UserId(parse_id(&id)?), &reason).await?;
    Ok(ok(
        json!({ "restriction": { "subject_id": parse_id(&id)?, "restricted": false, "tickets": n } }),
    ))
}

/// `GET /privacy/subjects/{id}/footprint?reason=…` (privacy staff; every look is logged)
pub async fn footprint(State(app): State<AppState>, Auth(scope): Auth, Path(id): Path<String>, params: Params) -> Result<Response, ApiError> {
    let reason = params
        .get("reason")
        .map(str::trim)
        .filter(|r| !r.is_empty() && r.len() <= 500)
        .ok_or_else(|| ApiError::Field("reason".into(), "reason: say why you need to see this person's data".into(), "BlankValue"))?;
    let f = app.privacy.inspect(&scope, UserId(parse_id(&id)?), reason).await?;
    Ok(ok(json!({ "footprint": f })))
}

/// `GET /privacy/ledger/verify`
pub async fn verify_ledger(State(app): State<AppState>, Auth(scope): Auth) -> Result<Response, ApiError> {
    let report = app.privacy.verify_ledger(&scope).await?;
    Ok(ok(json!({ "ledger": report })))
}
