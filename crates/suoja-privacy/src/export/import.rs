//! Importing a portability export into another tenant or installation (GDPR Art. 20(2)): the
//! person's profile, the tickets they requested with their fields, and the comments and files
//! they wrote. Other people's messages are not the person's to carry and stay behind.

use std::collections::BTreeMap;

use serde_json::Value;
use suoja_core::{Email, Personal, Priority, Role, Scope, Status, TicketType, UserId};
use suoja_helpdesk::model::{CommentInput, RequesterRef, TicketInput, UserInput};

use crate::{Privacy, PrivacyError, Result, require_privacy};

fn text(v: &Value) -> Option<Personal<String>> {
    v.as_str().filter(|s| !s.is_empty()).map(|s| Personal::new(s.to_string()))
}

impl Privacy {
    /// Imports `doc` (an export following the schema) with its `files` (path → bytes) as a new
    /// person in the caller's tenant; returns their id.
    pub async fn import_export(&self, scope: &Scope, doc: &Value, files: &BTreeMap<String, Vec<u8>>) -> Result<UserId> {
        require_privacy(scope)?;
        // Version 2 added mentions outside tickets; what an import reads is the same in both.
        if doc["format_version"] != 1 && doc["format_version"] != 2 {
            return Err(PrivacyError::invalid("format_version", "only version 1 and 2 exports can be imported"));
        }
        let p = &doc["subject"];
        let email = match p["email"].as_str() {
            Some(e) => Some(Email::parse(e).map_err(|_| PrivacyError::invalid("email", "is not a valid e-mail address"))?),
            None => None,
        };
        let tags: Vec<String> = p["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        let user = self
            .hd
            .create_user(
                scope,
                UserInput {
                    name: text(&p["name"]).or_else(|| Some(Personal::new("Imported person".into()))),
                    email: Some(email),
                    phone: Some(text(&p["phone"])),
                    details: Some(text(&p["details"])),
                    tags: Some(tags),
                    locale: p["locale"].as_str().map(str::to_string),
                    time_zone: p["time_zone"].as_str().map(str::to_string),
                    ..UserInput::default()
                },
            )
            .await?;
        let person = Scope {
            tenant: scope.tenant,
            actor: user.id,
            role: Role::EndUser,
            privacy_officer: false,
            token: None,
        };
        for t in doc["tickets"].as_array().into_iter().flatten() {
            if !t["your_roles"].as_array().is_some_and(|r| r.iter().any(|x| x == "requester")) {
                continue;
            }
            let mine: Vec<&Value> = t["comments"].as_array().into_iter().flatten().filter(|c| c["by_you"] == true).collect();
            let mut comments = mine.into_iter();
            let first = comments.next();
            let mut create = TicketInput {
                subject: text(&t["subject"]),
                comment: Some(CommentInput {
                    body: Some(Personal::new(t["description"].as_str().unwrap_or_default().to_string())),
                    public: true,
                    ..CommentInput::default()
                }),
                requester: Some(RequesterRef::Id(user.id)),
                ..TicketInput::default()
            };
            // The person wrote the description: the ticket is theirs from the first message.
            let creator = if first.is_some_and(|c| c["body"] == t["description"]) {
                if let (Some(c), Some(comment)) = (first, create.comment.as_mut()) {
                    comment.uploads = self.upload_files(&person, c, files).await?;
                }
                &person
            } else {
                scope
            };
            let made = self.hd.create_ticket(creator, create).await?;
            let id = made.ticket.id;
            let rest: Vec<&Value> = if creator == scope {
                first.into_iter().chain(comments).collect()
            } else {
                comments.collect()
            };
            for c in rest {
                let uploads = self.upload_files(&person, c, files).await?;
                let input = TicketInput {
                    comment: Some(CommentInput {
                        body: text(&c["body"]),
                        public: true,
                        uploads,
                        ..CommentInput::default()
                    }),
                    ..TicketInput::default()
                };
                self.hd.update_ticket(&person, id, input).await?;
            }
            // Field ids are each helpdesk's own: a value goes into the field of the same
            // title here, made when there is none.
            let mut fields: Vec<(i64, Value)> = Vec::new();
            for f in t["custom_fields"].as_array().into_iter().flatten() {
                if f["value"].is_null() {
                    continue;
                }
                let title = f["title"].as_str().map_or_else(|| format!("Field {}", f["id"]), str::to_string);
                fields.push(self.hd.field_for_import(scope, &title, &f["value"]).await?);
            }
            let parse = |v: &Value| v.as_str().map(str::to_string);
            let update = TicketInput {
                status: parse(&t["status"]).and_then(|s| Status::parse(&s).ok()),
                priority: Some(parse(&t["priority"]).and_then(|s| Priority::parse(&s).ok())),
                ticket_type: Some(parse(&t["type"]).and_then(|s| TicketType::parse(&s).ok())),
                tags: Some(
                    t["tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect(),
                ),
                custom_fields: Some(Personal::new(fields)),
                ..TicketInput::default()
            };
            self.hd.update_ticket(scope, id, update).await?;
        }
        Ok(user.id)
    }

    async fn upload_files(&self, person: &Scope, comment: &Value, files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<String>> {
        let mut token: Option<String> = None;
        for a in comment["attachments"].as_array().into_iter().flatten() {
            let Some(bytes) = a["file"].as_str().and_then(|p| files.get(p)) else {
                continue;
            };
            let name = Personal::new(a["file_name"].as_str().unwrap_or("file").to_string());
            let ct = a["content_type"].as_str().unwrap_or("application/octet-stream");
            let up = self.hd.upload(person, token.as_deref(), name, ct, bytes).await?;
            token = Some(up.token);
        }
        Ok(token.into_iter().collect())
    }
}
