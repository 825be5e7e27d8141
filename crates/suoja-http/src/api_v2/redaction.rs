//! Redaction (Zendesk's comment redaction API and Suoja's own for attachments, recordings, the
//! subject and custom fields). Each redaction is also an event of the ticket's audits.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use suoja_core::{AttachmentId, CommentId, Personal, TicketId};
use suoja_privacy::redaction::FieldRedaction;

use super::{ok, wire};
use crate::extract::{Auth, BaseUrl, JsonBody, Obj, parse_id};
use crate::{ApiError, AppState};

/// Longest phrase or HTML body accepted, in characters.
const MAX_TEXT: usize = 65_536;

fn required(o: &Obj<'_>, key: &str) -> Result<String, ApiError> {
    o.opt_str(key, MAX_TEXT)?
        .ok_or_else(|| ApiError::Field(key.into(), format!("{key}: is required"), "BlankValue"))
}

/// `PUT /tickets/{ticket_id}/comments/{comment_id}/redact` with `{"text"}`: every occurrence of
/// the text in the comment is replaced by redaction marks.
pub async fn comment_text(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path((ticket, comment)): Path<(String, String)>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let (ticket, comment) = (TicketId(parse_id(&ticket)?), CommentId(parse_id(&comment)?));
    let root = Obj::root(&body.0);
    root.only(&["text"])?;
    let text = Personal::new(required(&root, "text")?);
    let c = app.privacy.redact_comment_text(&scope, ticket, comment, &text).await?;
    Ok(ok(json!({"comment": wire::comment(&c, &base)})))
}

/// `PUT /comment_redactions/{comment_id}` with `{"ticket_id", "html_body"}`: what `<redact>`
/// tags enclose in the comment's HTML is replaced by redaction marks.
pub async fn comment_html(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(comment): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let comment = CommentId(parse_id(&comment)?);
    let root = Obj::root(&body.0);
    root.only(&["ticket_id", "html_body", "external_attachment_urls"])?;
    if root.raw("external_attachment_urls").is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty())) {
        return Err(ApiError::Field(
            "external_attachment_urls".into(),
            "external_attachment_urls: external attachments are not stored here; redact attachments by id".into(),
            "InvalidValue",
        ));
    }
    let ticket = root.opt_id("ticket_id")?.map(TicketId);
    let html = Personal::new(required(&root, "html_body")?);
    let c = app.privacy.redact_comment_html(&scope, ticket, comment, &html).await?;
    Ok(ok(json!({"comment": wire::comment(&c, &base)})))
}

/// `PUT /tickets/{ticket_id}/comments/{comment_id}/attachments/{attachment_id}/redact`: the
/// file is deleted and a placeholder kept (a call recording keeps its metadata).
pub async fn attachment(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path((ticket, comment, attachment)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let a = app
        .privacy
        .redact_attachment(
            &scope,
            TicketId(parse_id(&ticket)?),
            CommentId(parse_id(&comment)?),
            AttachmentId(parse_id(&attachment)?),
        )
        .await?;
    Ok(ok(json!({"attachment": wire::attachment(&a, &base)})))
}

/// `PUT /tickets/{ticket_id}/redact` with `{"redaction": {"subject", "custom_fields": [{"id", "text"}]}}`.
pub async fn ticket_fields(
    State(app): State<AppState>,
    Auth(scope): Auth,
    base: BaseUrl,
    Path(ticket): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let ticket = TicketId(parse_id(&ticket)?);
    let root = Obj::root(&body.0);
    root.only(&["redaction"])?;
    let r = root.object("redaction")?;
    r.only(&["subject", "custom_fields"])?;
    let mut input = FieldRedaction {
        subject: r.opt_str("subject", MAX_TEXT)?.map(Personal::new),
        custom_fields: Vec::new(),
    };
    match r.raw("custom_fields") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() <= 100 => {
            for item in items {
                let Value::Object(m) = item else {
                    return Err(ApiError::Field(
                        "custom_fields".into(),
                        "custom_fields: each item must be an object with an id".into(),
                        "InvalidValue",
                    ));
                };
                let f = Obj::root(m);
                f.only(&["id", "text"])?;
                let id = f
                    .opt_id("id")?
                    .ok_or_else(|| ApiError::Field("custom_fields".into(), "custom_fields: each item needs an id".into(), "BlankValue"))?;
                input.custom_fields.push((id, f.opt_str("text", MAX_TEXT)?.map(Personal::new)));
            }
        }
        Some(_) => {
            return Err(ApiError::Field(
                "custom_fields".into(),
                "custom_fields: must be a list of at most 100 fields".into(),
                "InvalidValue",
            ));
        }
    }
    let t = app.privacy.redact_ticket_fields(&scope, ticket, &input).await?;
    Ok(ok(json!({"ticket": wire::ticket(&t, &base)})))
}
