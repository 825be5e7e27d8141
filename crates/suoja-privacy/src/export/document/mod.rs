//! Building the export document from a footprint.

mod history;
mod tickets;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use suoja_core::{Scope, UserId};
use suoja_store::consultations::Consultation;

use super::people::People;
use super::{Options, Progress, SCHEMA_ID, iso};
use crate::datamap::{TABLES, Table};
use crate::graph::{Field, Footprint, Record};
use crate::info::Recipient;
use crate::{Privacy, PrivacyError, Result};

/// A file that travels with an export: where it goes in the package and where it is stored.
/// Its content is read when the package is written, one file at a time
/// ([`Privacy::read_export_file`]).
#[derive(Debug, Clone)]
pub struct ExportFile {
    /// Path inside the package (`files/…`).
    pub path: String,
    /// The table holding it.
    pub table: &'static str,
    /// Its column there.
    pub column: &'static str,
    /// The row's id.
    pub row_id: i64,
}

/// A built export.
#[derive(Debug, Clone)]
pub struct Export {
    /// The JSON document (follows the schema).
    pub doc: Value,
    /// Original files.
    pub files: Vec<ExportFile>,
    /// What was withheld, by reason (no content).
    pub withheld: Value,
}

/// Tables the document renders in their own sections; every other table of the footprint goes to
/// `records` as it is declared in the data map.
const RENDERED: &[&str] = &[
    "users",
    "tickets",
    "comments",
    "attachments",
    "ticket_collaborators",
    // A ticket's history, under the ticket.
    "ticket_audits",
    "privacy_requests",
    "consultations",
    "disclosures",
    "mail_outbox",
    "export_packages",
    // The content of earlier packages: listed under `earlier_exports`, never exported again.
    "export_chunks",
    "privacy_verifications",
    // Counted as `mentions_under_review`; which passages were rejected is not the person's to see.
    "privacy_mentions",
];

fn int(r: &Record, c: &str) -> Option<i64> {
    r.get(c).int()
}

fn text(r: &Record, c: &str) -> Option<String> {
    r.get(c).text().map(str::to_string)
}

fn json_text(r: &Record, c: &str) -> Value {
    match r.get(c) {
        Field::Text(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        Field::Unreadable => json!("[unreadable: the key was destroyed]"),
        _ => Value::Null,
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// Custom fields as Zendesk writes them: `[{"id", "value"}]` (stored as `[[id, value]]`).
fn custom_fields(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| match i {
                    Value::Array(pair) => match <[Value; 2]>::try_from(pair) {
                        Ok([id, value]) => json!({ "id": id, "value": value }),
                        Err(other) => Value::Array(other),
                    },
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

fn safe_file_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(80)
        .collect();
    if s.is_empty() || s.starts_with('.') { format!("file{s}") } else { s }
}

impl Privacy {
    /// Builds the export of `subject` through the standard data map.
    pub async fn export(&self, scope: &Scope, subject: UserId, request: Option<i64>, opts: &Options, progress: Progress<'_>) -> Result<Export> {
        self.export_with_map(scope, subject, request, opts, TABLES, progress).await
    }

    /// Builds the export of `subject` through `map` (tests pass a map with extra tables).
    pub async fn export_with_map(
        &self,
        scope: &Scope,
        subject: UserId,
        request: Option<i64>,
        opts: &Options,
        map: &[Table],
        progress: Progress<'_>,
    ) -> Result<Export> {
        if !(scope.handles_privacy() || scope.actor == subject) {
            return Err(PrivacyError::NotFound("User"));
        }
        let tenant = scope.tenant;
        self.flush_consultations().await?;
        progress("finding data", 0, 1);
        // Other people's text is searched only for an access request, whose candidates it adds.
        let fp = self.footprint_with(tenant, subject, map, request.is_some()).await?;
        progress("finding data", 1, 1);
        let include_notes = opts.include_internal_notes.unwrap_or(self.policy.include_internal_notes);

        // Everyone referenced, for placeholders.
        let mut ids: BTreeSet<i64> = BTreeSet::new();
        for (table, cols) in [
            ("tickets", &["requester_id", "submitter_id", "assignee_id"][..]),
            ("comments", &["author_id"][..]),
            ("attachments", &["uploader_id"][..]),
            ("ticket_collaborators", &["user_id"][..]),
        ] {
            for r in fp.rows(table) {
                ids.extend(cols.iter().filter_map(|c| int(r, c)));
            }
        }
        let mut past = Vec::new();
        for r in fp.rows("ticket_audits") {
            history::people_in(r, &mut ids);
            history::texts_in(r, &mut past);
        }
        let texts: Vec<&str> = fp
            .rows("comments")
            .iter()
            .filter_map(|r| r.get("body_enc").text())
            .chain(fp.rows("tickets").iter().filter_map(|r| r.get("subject_enc").text()))
            .chain(past.iter().map(String::as_str))
            .collect();
        let ids: Vec<i64> = ids.into_iter().collect();
        let people = {
            let mut c = self.hd.db().read().await?;
            self.people(&mut c, tenant, subject, &ids, &texts, false).await?
        };

        let mut withheld = Withheld::default();
        let mut files = Vec::new();
        let mut tickets = self.render_tickets(&fp, &people, opts.filter, include_notes, &mut withheld, &mut files, progress);
        // Custom field values carry their field's title, as the helpdesk shows them.
        let titles: std::collections::BTreeMap<i64, String> = {
            let mut c = self.hd.db().read().await?;
            suoja_store::fields::fields(&mut c, tenant, "ticket")
                .await?
                .into_iter()
                .map(|f| (f.id, f.title))
                .collect()
        };
        for t in &mut tickets {
            for f in t["custom_fields"].as_array_mut().into_iter().flatten() {
                if let Some(title) = f["id"].as_i64().and_then(|i| titles.get(&i)) {
                    f["title"] = json!(title);
                }
            }
        }
        let (mentions, under_review) = self.render_mentions(&fp, request, &people, include_notes, &mut withheld).await?;
        let subject_doc = render_subject(&fp);
        let mut records = render_records(&fp, map, &mut files);
        self.check_files(tenant, &mut files, &mut tickets, &mut records, progress).await?;
        let (privacy_doc, recipients) = self.render_privacy(&fp).await?;
        let information = crate::info::section(&self.policy, map, &fp, &recipients);

        let n_tickets = tickets.len();
        let n_comments: usize = tickets.iter().map(|t| t["comments"].as_array().map_or(0, Vec::len)).sum();
        let mut summary = if n_tickets == 0 && mentions.is_empty() && records.is_empty() {
            "Apart from your profile and the records of your privacy requests, we hold no data about you.".to_string()
        } else {
            format!(
                "{}, {}, {} in other conversations, {}.",
                count(n_tickets, "ticket"),
                count(n_comments, "comment"),
                count(mentions.len(), "mention"),
                count(files.len(), "file")
            )
        };
        if under_review > 0 {
            summary.push_str(&format!(" {} {UNDER_REVIEW}", count(under_review, "passage")));
        }
        let withheld_doc = withheld.to_json(include_notes);
        let doc = json!({
            "$schema": SCHEMA_ID,
            "format_version": 2,
            "generated_at": self.hd.now().to_iso(),
            "request_id": request,
            "options": {
                "filter": opts.filter.as_str(),
                "internal_notes_included": include_notes,
                "other_people": "placeholders",
            },
            "summary": summary,
            "subject": subject_doc,
            "tickets": tickets,
            "mentions": mentions,
            "mentions_under_review": {
                "count": under_review,
                "note": if under_review > 0 { UNDER_REVIEW } else { "" },
            },
            "records": records,
            "privacy": privacy_doc,
            "information": information,
            "withheld": withheld_doc.clone(),
        });

        // The export itself is a consultation and a privacy action.
        let now = self.hd.now();
        let mut tx = self.hd.db().begin().await?;
        let consult = Consultation {
            subject_id: subject.0,
            at: now,
            actor_id: scope.actor.0,
            actor_role: crate::consult::role_name(scope).to_string(),
            action: "export.built".into(),
            purpose: "privacy request".into(),
            token_id: scope.token,
            node: Some(self.policy.node.clone()),
        };
        if scope.actor != subject {
            suoja_store::consultations::record(&mut tx, tenant, &[consult]).await?;
        }
        self.record_ledger(&mut tx, tenant, suoja_core::LedgerKind::ExportBuilt,
                Some(subject.0),
                Some(scope.actor.0),
                json!({ "request": request, "filter": opts.filter.as_str(), "internal_notes_included": include_notes, "tickets": n_tickets, "comments": n_comments, "files": files.len(), "withheld": withheld_doc }),
            )
            .await?;
        if let Some(id) = request
            && let Some(mut row) = suoja_store::requests::by_id(&mut tx, tenant, id).await?.filter(|r| r.subject_id == subject.0)
        {
            row.withheld = withheld_doc.to_string();
            row.updated_at = now;
            suoja_store::requests::update(&mut tx, tenant, &row).await?;
        }
        tx.commit().await?;
        Ok(Export {
            doc,
            files,
            withheld: withheld_doc,
        })
    }

    async fn render_privacy(&self, fp: &Footprint) -> Result<(Value, Vec<Recipient>)> {
        let requests: Vec<Value> = fp
            .rows("privacy_requests")
            .iter()
            .map(|r| {
                json!({
                    "id": int(r, "id"),
                    "kind": text(r, "kind"),
                    "channel": text(r, "channel"),
                    "status": text(r, "status"),
                    "received_at": iso(int(r, "received_at")),
                    "due_at": iso(int(r, "due_at")),
                    "extended": int(r, "extended_at").is_some(),
                    "closed_at": iso(int(r, "closed_at")),
                    "outcome": text(r, "outcome_code"),
                    "details": json_text(r, "details_enc"),
                })
            })
            .collect();
        let mut consultations: Vec<(i64, Value)> = fp
            .rows("consultations")
            .iter()
            .map(|r| {
                (
                    int(r, "at").unwrap_or(0),
                    json!({ "at": iso(int(r, "at")), "role": text(r, "actor_role"), "action": text(r, "action"), "purpose": text(r, "purpose") }),
                )
            })
            .collect();
        consultations.sort_by_key(|(at, _)| *at);
        let webhooks: BTreeMap<i64, String> = {
            let mut c = self.hd.db().read().await?;
            suoja_store::webhooks::list(&mut c, fp.tenant)
                .await?
                .into_iter()
                .map(|w| (w.id, w.name))
                .collect()
        };
        let mut recipients: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        let disclosures: Vec<Value> = fp
            .rows("disclosures")
            .iter()
            .map(|r| {
                let rid = int(r, "recipient_id").unwrap_or(0);
                if let Some(e) = text(r, "event") {
                    recipients.entry(rid).or_default().insert(e);
                }
                json!({
                    "recipient": webhooks.get(&rid).cloned().unwrap_or_else(|| format!("removed recipient #{rid}")),
                    "event": text(r, "event"),
                    "categories": json_text(r, "categories"),
                    "outcome": text(r, "outcome"),
                    "at": iso(int(r, "at")),
                })
            })
            .collect();
        let recipients: Vec<Recipient> = recipients
            .into_iter()
            .map(|(id, events)| Recipient {
                name: webhooks.get(&id).cloned().unwrap_or_else(|| format!("removed recipient #{id}")),
                events: events.into_iter().collect(),
            })
            .collect();
        let messages: Vec<Value> = fp
            .rows("mail_outbox")
            .iter()
            .map(|r| json!({ "kind": text(r, "kind"), "created_at": iso(int(r, "created_at")), "body": text(r, "body_enc") }))
            .collect();
        let packages: Vec<Value> = fp
            .rows("export_packages")
            .iter()
            .map(|r| json!({ "id": text(r, "id"), "format": text(r, "format"), "created_at": iso(int(r, "created_at")), "expires_at": iso(int(r, "expires_at")), "downloads": int(r, "downloads") }))
            .collect();
        Ok((
            json!({
                "requests": requests,
                "consultations": consultations.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
                "disclosures": disclosures,
                "recipients": recipients.iter().map(|r| json!({ "name": r.name, "received": r.events })).collect::<Vec<_>>(),
                "messages": messages,
                "earlier_exports": packages,
            }),
            recipients,
        ))
    }
}

/// What the export says while mentions of the person wait for review.
const UNDER_REVIEW: &str = "in other people's conversations may be about you and are being reviewed by our privacy team; the ones that are will be sent to you as part of this request, which stays open until then.";

impl Privacy {
    /// The mentions section: for an access or portability request, strong matches on other
    /// people's tickets become candidates of the request, and only the passages of accepted
    /// ones are given (with other people replaced); the rest are counted as under review.
    /// Without a request (an operator's export) there is no review, so no mentions.
    async fn render_mentions(
        &self,
        fp: &Footprint,
        request: Option<i64>,
        people: &People,
        include_notes: bool,
        withheld: &mut Withheld,
    ) -> Result<(Vec<Value>, usize)> {
        let Some(request) = request else { return Ok((Vec::new(), 0)) };
        let tenant = fp.tenant;
        let mut tx = self.hd.db().begin().await?;
        let Some(req) = suoja_store::requests::by_id(&mut tx, tenant, request)
            .await?
            .filter(|r| r.subject_id == fp.subject.0)
        else {
            return Ok((Vec::new(), 0));
        };
        if req.closed_at.is_none() && req.kind.is_export() {
            let strong: Vec<crate::mentions::Found> = fp.mentions.iter().filter(|f| f.strong()).cloned().collect();
            self.record_candidates(&mut tx, tenant, request, fp.subject.0, &strong).await?;
        }
        tx.commit().await?;
        let mut c = self.hd.db().read().await?;
        let rows = suoja_store::mentions::for_request(&mut c, tenant, request).await?;
        let mut out = Vec::new();
        let mut pending = 0;
        for row in rows {
            match crate::mentions::Decision::parse_str(&row.state) {
                crate::mentions::Decision::Pending => pending += 1,
                crate::mentions::Decision::Rejected => {}
                crate::mentions::Decision::Accepted => {
                    let cand = self.candidate(&mut c, tenant, Some(&fp.user), row).await?;
                    if cand.public == Some(false) && !include_notes {
                        withheld.add("internal_note", "internal notes are left out by the operator's policy for this export");
                        continue;
                    }
                    if cand.passages.is_empty() {
                        continue;
                    }
                    out.push(json!({
                        "ticket_id": cand.ticket_id,
                        "source": cand.source,
                        "source_id": cand.source_id,
                        "comment_id": (cand.source == "comment").then_some(cand.source_id),
                        "author": people.label(cand.author_id),
                        "public": cand.public.unwrap_or(false),
                        "passages": cand.passages,
                        "created_at": iso(cand.written_at.map(|t| t.0)),
                    }));
                }
            }
        }
        Ok((out, pending))
    }
}

fn render_subject(fp: &Footprint) -> Value {
    let Some(u) = fp.rows("users").iter().find(|r| int(r, "id") == Some(fp.subject.0)) else {
        return json!({ "id": fp.subject.0 });
    };
    json!({
        "id": fp.subject.0,
        "name": text(u, "name_enc"),
        "email": text(u, "email_enc"),
        "phone": text(u, "phone_enc"),
        "role": text(u, "role"),
        "details": text(u, "details_enc"),
        "notes": text(u, "notes_enc"),
        "tags": json_text(u, "tags_enc"),
        "external_id": text(u, "external_id_enc"),
        "user_fields": json_text(u, "user_fields_enc"),
        "organization_id": int(u, "organization_id"),
        "locale": text(u, "locale"),
        "time_zone": text(u, "time_zone"),
        "verified": int(u, "verified") == Some(1),
        "restricted": int(u, "restricted") == Some(1),
        "created_at": iso(int(u, "created_at")),
        "updated_at": iso(int(u, "updated_at")),
        "last_login_at": iso(int(u, "last_login_at")),
    })
}

/// Every table of the footprint the document has no section for, as the data map declares it.
fn render_records(fp: &Footprint, map: &[Table], files: &mut Vec<ExportFile>) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, rows) in &fp.records {
        if RENDERED.contains(name) || rows.is_empty() || !map.iter().any(|t| t.name == *name) {
            continue;
        }
        let mut list = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let mut obj = Map::new();
            obj.insert("_why".into(), json!(r.roles.iter().collect::<Vec<_>>()));
            for (col, v) in &r.fields {
                let key = col.strip_suffix("_enc").unwrap_or(col).to_string();
                let value = match v {
                    Field::Null => Value::Null,
                    Field::Int(n) => json!(n),
                    Field::Text(s) => json!(s),
                    Field::File(_) => {
                        let path = format!("files/{name}/{i}-{key}");
                        files.push(ExportFile {
                            path: path.clone(),
                            table: name,
                            column: col,
                            row_id: int(r, "id").unwrap_or(0),
                        });
                        json!({ "file": path, "sha256": null })
                    }
                    Field::Secret => continue,
                    Field::Unreadable => json!("[unreadable: the key was destroyed]"),
                };
                obj.insert(key, value);
            }
            list.push(Value::Object(obj));
        }
        out.insert((*name).to_string(), Value::Array(list));
    }
    out
}

/// Counts of what was withheld, by reason.
#[derive(Default)]
struct Withheld {
    reasons: BTreeMap<&'static str, (&'static str, u64)>,
}

impl Withheld {
    fn add(&mut self, reason: &'static str, why: &'static str) {
        self.reasons.entry(reason).or_insert((why, 0)).1 += 1;
    }
    fn replaced(&mut self, n: usize) {
        if n > 0 {
            self.reasons
                .entry("third_party")
                .or_insert((
                    "other people's names, e-mail addresses and phone numbers are replaced by placeholders to protect them (GDPR Art. 15(4))",
                    0,
                ))
                .1 += n as u64;
        }
    }
    fn to_json(&self, include_notes: bool) -> Value {
        json!({
            "internal_notes_included": include_notes,
            "items": self.reasons.iter().map(|(r, (why, n))| json!({ "reason": r, "count": n, "why": why })).collect::<Vec<_>>(),
        })
    }
}
