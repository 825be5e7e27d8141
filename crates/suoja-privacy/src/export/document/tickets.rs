//! The tickets part of an export: each ticket the person is on, its comments with other
//! people replaced, and its files listed for the package.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::people::People;
use super::super::{Filter, Progress, iso};
use super::{ExportFile, Withheld, custom_fields, int, json_text, safe_file_name, text};
use crate::Privacy;
use crate::graph::{Field, Footprint, Record};

impl Privacy {
    #[allow(
        clippy::too_many_arguments,
        reason = "the footprint, the people and the three outputs the document builder collects"
    )]
    pub(super) fn render_tickets(
        &self,
        fp: &Footprint,
        people: &People,
        filter: Filter,
        include_notes: bool,
        withheld: &mut Withheld,
        files: &mut Vec<ExportFile>,
        progress: Progress<'_>,
    ) -> Vec<Value> {
        let me = fp.subject.0;
        let mut comments: BTreeMap<i64, Vec<&Record>> = BTreeMap::new();
        for r in fp.rows("comments") {
            if let Some(t) = int(r, "ticket_id") {
                comments.entry(t).or_default().push(r);
            }
        }
        let mut attachments: BTreeMap<i64, Vec<&Record>> = BTreeMap::new();
        for r in fp.rows("attachments") {
            if let Some(c) = int(r, "comment_id") {
                attachments.entry(c).or_default().push(r);
            }
        }
        let mut audits: BTreeMap<i64, Vec<&Record>> = BTreeMap::new();
        for r in fp.rows("ticket_audits") {
            if let Some(t) = int(r, "ticket_id") {
                audits.entry(t).or_default().push(r);
            }
        }
        let mut collaborators: BTreeMap<i64, Vec<&Record>> = BTreeMap::new();
        for r in fp.rows("ticket_collaborators") {
            if let Some(t) = int(r, "ticket_id") {
                collaborators.entry(t).or_default().push(r);
            }
        }
        let total = fp.rows("tickets").len() as u64;
        let mut out = Vec::new();
        for (i, t) in fp.rows("tickets").iter().enumerate() {
            if i % 100 == 0 {
                progress("tickets", i as u64, total);
            }
            let Some(id) = int(t, "id") else { continue };
            let roles = fp.tickets.get(&id).cloned().unwrap_or_default();
            let thread = comments.get(&id).cloned().unwrap_or_default();
            let commented = thread.iter().any(|c| int(c, "author_id") == Some(me));
            let keep = match filter {
                Filter::All => true,
                Filter::Requested => roles.contains("requester") || roles.contains("submitter"),
                Filter::Ccd => roles.contains("collaborator"),
                Filter::Commented => commented,
            };
            if !keep {
                continue;
            }
            let mut rendered_comments = Vec::new();
            let mut thread = thread;
            thread.sort_by_key(|c| (int(c, "created_at"), int(c, "id")));
            // The description is the first comment's text: an internal note when that was one.
            let description_is_note = thread.first().is_some_and(|c| int(c, "public") != Some(1));
            for c in thread {
                // A person's own words are theirs to have, whoever made them a note since.
                let own = int(c, "author_id") == Some(me);
                let Some((public, body)) = comment_text(c, people, include_notes || own, withheld) else {
                    continue;
                };
                let cid = int(c, "id").unwrap_or(0);
                let mut atts = Vec::new();
                for a in attachments.get(&cid).map(Vec::as_slice).unwrap_or_default() {
                    atts.push(render_attachment(a, people, id, files, withheld));
                }
                rendered_comments.push(json!({
                    "id": cid,
                    "author": people.label(int(c, "author_id")),
                    "by_you": int(c, "author_id") == Some(me),
                    "public": public,
                    "body": body,
                    "created_at": iso(int(c, "created_at")),
                    "attachments": atts,
                }));
            }
            let (subject, n) = people.redact(&text(t, "subject_enc").unwrap_or_default());
            withheld.replaced(n);
            let description = if description_is_note && !include_notes {
                String::new()
            } else {
                let (description, n) = people.redact(&text(t, "description_enc").unwrap_or_default());
                withheld.replaced(n);
                description
            };
            let shown: std::collections::BTreeSet<i64> = rendered_comments.iter().filter_map(|c| c["id"].as_i64()).collect();
            let history = super::history::render(audits.get(&id).map(Vec::as_slice).unwrap_or_default(), t, &shown, people, me, withheld);
            let mut ccs = Vec::new();
            for r in collaborators.get(&id).map(Vec::as_slice).unwrap_or_default() {
                ccs.push(json!({ "person": people.label(int(r, "user_id")), "kind": text(r, "kind") }));
            }
            out.push(json!({
                "id": id,
                "your_roles": roles.iter().collect::<Vec<_>>(),
                "subject": subject,
                "description": description,
                "status": text(t, "status"),
                "priority": text(t, "priority"),
                "type": text(t, "ticket_type"),
                "tags": json_text(t, "tags_enc"),
                "custom_fields": custom_fields(json_text(t, "custom_fields_enc")),
                "external_id": text(t, "external_id_enc"),
                "via": text(t, "via"),
                "requester": people.label(int(t, "requester_id")),
                "submitter": people.label(int(t, "submitter_id")),
                "assignee": people.label(int(t, "assignee_id")),
                "collaborators": ccs,
                "created_at": iso(int(t, "created_at")),
                "updated_at": iso(int(t, "updated_at")),
                "deleted_at": iso(int(t, "deleted_at")),
                "comments": rendered_comments,
                "history": history,
            }));
        }
        progress("tickets", total, total);
        out
    }
}

fn render_attachment(a: &Record, people: &People, ticket: i64, files: &mut Vec<ExportFile>, withheld: &mut Withheld) -> Value {
    let aid = int(a, "id").unwrap_or(0);
    let (name, n) = people.redact(&text(a, "file_name_enc").unwrap_or_else(|| "file".into()));
    withheld.replaced(n);
    // (The digest is filled in once the file has been read: see `Privacy::check_files`.)
    let (path, sha) = match a.get("content_enc") {
        Field::File(_) => {
            let path = format!("files/ticket-{ticket}/{aid}-{}", safe_file_name(&name));
            files.push(ExportFile {
                path: path.clone(),
                table: "attachments",
                column: "content_enc",
                row_id: aid,
            });
            (Value::String(path), Value::Null)
        }
        _ => (Value::Null, Value::Null),
    };
    json!({
        "id": aid,
        "file_name": name,
        "content_type": text(a, "content_type"),
        "size": int(a, "size"),
        "sha256": sha,
        "file": path,
        "sent_by": people.label(int(a, "uploader_id")),
    })
}

/// A comment's visibility and its text with other people replaced; `None` (counted as withheld)
/// for an internal note the export leaves out.
pub(super) fn comment_text(c: &Record, people: &People, include_notes: bool, withheld: &mut Withheld) -> Option<(bool, String)> {
    let public = int(c, "public") == Some(1);
    if !public && !include_notes {
        withheld.add("internal_note", "internal notes are left out by the operator's policy for this export");
        return None;
    }
    let (body, n) = people.redact(&text(c, "body_enc").unwrap_or_default());
    withheld.replaced(n);
    Some((public, body))
}
