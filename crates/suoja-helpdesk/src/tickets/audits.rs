//! A ticket's audits (Zendesk's record of every change): stored with each change in its
//! transaction, read back as Zendesk's audits, and rewritten when a redaction or an erasure
//! changes the text they quote.
//!
//! What is stored where:
//! - the events as JSON: types, field names, ids, statuses, recipients' ids; never text;
//! - the values that may be personal (subjects, tags, custom field values, external ids) of
//!   `Change` events, sealed together under the ticket's key. A `Create` event's personal value
//!   is not stored again: it is the first change's previous value, or the value the ticket still
//!   has, so a value is kept twice only once it has been replaced;
//! - a comment by its id: its text is read from the comment, so a redaction or erasure of the
//!   comment shows in its audit too.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use suoja_core::{CommentId, KeyId, Scope, TenantId, TicketId, Timestamp, UserId};
use suoja_store::Conn;
use suoja_store::ticket_audits::{AuditPage, AuditRow};
use suoja_store::tickets::TicketRow;

use crate::model::{AuditEvent, Comment};
use crate::{Helpdesk, HelpdeskError, Result, crypt};

/// The field name [`Helpdesk::rewrite_audit_values`] takes for every personal field at once.
pub const EVERY_FIELD: &str = "*";

/// Fields whose values are people's ids.
pub const PEOPLE_FIELDS: &[&str] = &[
    "requester_id",
    "submitter_id",
    "assignee_id",
    "collaborator_ids",
    "email_cc_ids",
    "follower_ids",
];

/// The member marking a `Create` event whose value is found elsewhere (see the module notes).
const DERIVED: &str = "derived";

/// A stored audit, opened.
#[derive(Debug, Clone)]
pub struct Audit {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: TicketId,
    /// Who made the change (`None`: Suoja itself).
    pub author_id: Option<UserId>,
    /// The channel.
    pub via: String,
    /// When.
    pub created_at: Timestamp,
    /// The events in Zendesk's shape, personal values back in place (`null` where the key that
    /// sealed them is gone).
    pub events: Vec<Value>,
    /// The comments the `Comment` events name, as they stand now.
    pub comments: BTreeMap<CommentId, Comment>,
}

/// Whether a field's values may be personal (kept sealed): a custom field is named by its id.
pub fn personal_field(field: &str) -> bool {
    matches!(field, "subject" | "tags" | "external_id") || field.parse::<i64>().is_ok()
}

/// Event ids below this are comment ids (a comment event's id is its comment's, as Zendesk's);
/// the other events are numbered from it by audit and place, so the two never meet (2^50: far
/// above any comment id, and within the integers JSON clients read exactly).
const EVENT_ID_BASE: i64 = 1 << 50;

/// The id of the `idx`-th event of audit `audit` (other than a comment event).
pub fn event_id(audit: i64, idx: usize) -> i64 {
    EVENT_ID_BASE
        .saturating_add(audit.saturating_mul(1000))
        .saturating_add(i64::try_from(idx).unwrap_or(0))
}

/// Zendesk's name for a stored event type (redactions are stored by Suoja's kind).
pub fn zendesk_type(kind: &str) -> &str {
    match kind {
        "comment_redaction" => "CommentRedactionEvent",
        "attachment_redaction" => "AttachmentRedactionEvent",
        "recording_redaction" => "VoiceRecordingRedactionEvent",
        "subject_redaction" => "SubjectRedactionEvent",
        "custom_field_redaction" => "CustomFieldRedactionEvent",
        other => other,
    }
}

/// The stored form of a change's events: their JSON, and the personal values by event index.
fn split(events: &[AuditEvent]) -> (Value, Map<String, Value>) {
    let mut out = Vec::with_capacity(events.len());
    let mut values = Map::new();
    for (i, e) in events.iter().enumerate() {
        let mut v = Map::new();
        v.insert("type".into(), json!(e.kind));
        if let Some(f) = &e.field_name {
            v.insert("field_name".into(), json!(f));
        }
        if let Some(c) = e.comment_id {
            v.insert("comment_id".into(), json!(c.0));
        }
        for (k, x) in &e.detail {
            v.insert(k.clone(), x.clone());
        }
        if e.personal && e.kind == "Create" {
            v.insert(DERIVED.into(), json!(true));
        } else if e.personal {
            let mut sealed = Map::new();
            sealed.insert("value".into(), e.value.clone().unwrap_or(Value::Null));
            sealed.insert("previous_value".into(), e.previous_value.clone().unwrap_or(Value::Null));
            values.insert(i.to_string(), Value::Object(sealed));
        } else {
            if let Some(x) = &e.value {
                v.insert("value".into(), x.clone());
            }
            if let Some(x) = &e.previous_value {
                v.insert("previous_value".into(), x.clone());
            }
        }
        out.push(Value::Object(v));
    }
    (Value::Array(out), values)
}

/// Applies `change` to every string in a value (a subject, each tag, a field's text); the
/// changed value, or `None` when nothing changed.
pub fn on_strings(v: &Value, change: &dyn Fn(&str) -> Option<String>) -> Option<Value> {
    fn walk(v: &mut Value, change: &dyn Fn(&str) -> Option<String>) -> bool {
        match v {
            Value::String(s) => match change(s) {
                Some(new) if new != *s => {
                    *s = new;
                    true
                }
                _ => false,
            },
            Value::Array(items) => {
                // Every item is walked: no stopping at the first change.
                let mut any = false;
                for x in items {
                    any |= walk(x, change);
                }
                any
            }
            _ => false,
        }
    }
    let mut out = v.clone();
    walk(&mut out, change).then_some(out)
}

/// Every string in a value (a field's text, each item of a list).
pub fn strings(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    strings_of(v, &mut out);
    out
}

fn strings_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|x| strings_of(x, out)),
        _ => {}
    }
}

/// Which audit added each comment of a ticket (comment id → audit id).
pub(crate) async fn comment_audits(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<BTreeMap<i64, i64>> {
    let mut out = BTreeMap::new();
    for (audit, events) in suoja_store::ticket_audits::with_comments(c, tenant, ticket).await? {
        let events: Vec<Value> = serde_json::from_str(&events).unwrap_or_default();
        for e in events.iter().filter(|e| e.get("type").and_then(Value::as_str) == Some("Comment")) {
            if let Some(comment) = e.get("comment_id").and_then(Value::as_i64) {
                out.entry(comment).or_insert(audit);
            }
        }
    }
    Ok(out)
}

/// The values a ticket had when it was created, for the `Create` events that do not store them.
#[derive(Debug, Default)]
struct Initial {
    fields: BTreeMap<String, Value>,
}

impl Helpdesk {
    /// Stores the audit of a change to `row` in the caller's transaction, personal values sealed
    /// under the ticket's key; returns its id.
    #[allow(clippy::too_many_arguments, reason = "one audit: where, which ticket, who, how, what, when")]
    pub async fn record_audit(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        row: &TicketRow,
        author: Option<UserId>,
        via: &str,
        events: &[AuditEvent],
        now: Timestamp,
    ) -> Result<i64> {
        let a = self.audit_row(c, tenant, row, author, via, events, now).await?;
        Ok(suoja_store::ticket_audits::insert(c, tenant, &a).await?)
    }

    /// The row [`Self::record_audit`] stores (written with others by a batch of new tickets).
    #[allow(clippy::too_many_arguments, reason = "one audit: where, which ticket, who, how, what, when")]
    pub(crate) async fn audit_row(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        row: &TicketRow,
        author: Option<UserId>,
        via: &str,
        events: &[AuditEvent],
        now: Timestamp,
    ) -> Result<AuditRow> {
        let (json, values) = split(events);
        let values_enc = if values.is_empty() {
            None
        } else {
            Some(crypt::seal_json(&self.vault, c, tenant, row.key_id, &Value::Object(values)).await?)
        };
        Ok(AuditRow {
            id: 0,
            ticket_id: row.id,
            author_id: author.filter(|a| a.0 > 0).map(|a| a.0),
            via: via.to_string(),
            events: json.to_string(),
            key_id: values_enc.as_ref().map(|_| row.key_id),
            values_enc,
            created_at: now,
        })
    }

    /// The sealed values of one audit (`None` when it has none or their key is gone).
    async fn audit_values(&self, c: &mut Conn, tenant: TenantId, a: &AuditRow) -> Option<Map<String, Value>> {
        let sealed = a.values_enc.as_deref()?;
        match crypt::open_json::<Value>(&self.vault, c, tenant, sealed).await {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// What a ticket's personal fields were when it was created: each field's first previous
    /// value, else its value now.
    async fn initial_values(&self, c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Initial> {
        let mut out = Initial::default();
        for a in suoja_store::ticket_audits::with_values(c, tenant, ticket).await? {
            let Ok(events) = serde_json::from_str::<Vec<Value>>(&a.events) else {
                continue;
            };
            let values = self.audit_values(c, tenant, &a).await.unwrap_or_default();
            for (i, e) in events.iter().enumerate() {
                let Some(field) = e.get("field_name").and_then(Value::as_str) else { continue };
                if e.get("type").and_then(Value::as_str) != Some("Change") || out.fields.contains_key(field) {
                    continue;
                }
                let previous = values.get(&i.to_string()).and_then(|v| v.get("previous_value")).cloned().unwrap_or(Value::Null);
                out.fields.insert(field.to_string(), previous);
            }
        }
        let Some(row) = suoja_store::tickets::by_id(c, tenant, ticket).await? else {
            return Ok(out);
        };
        let v = &self.vault;
        let now_values = async {
            let subject = crypt::open_opt(v, c, tenant, row.subject_enc.as_deref()).await?;
            let external = crypt::open_opt(v, c, tenant, row.external_id_enc.as_deref()).await?;
            let tags: Value = crypt::open_json(v, c, tenant, &row.tags_enc).await?;
            let fields: Vec<(i64, Value)> = crypt::open_json(v, c, tenant, &row.custom_fields_enc).await?;
            Ok::<_, HelpdeskError>((subject, external, tags, fields))
        }
        .await;
        // A ticket whose key is gone shows no values.
        let Ok((subject, external, tags, fields)) = now_values else {
            return Ok(out);
        };
        out.fields.entry("subject".into()).or_insert(json!(subject.map(|s| s.expose().clone())));
        out.fields.entry("external_id".into()).or_insert(json!(external.map(|s| s.expose().clone())));
        out.fields.entry("tags".into()).or_insert(tags);
        for (id, value) in fields {
            out.fields.entry(id.to_string()).or_insert(value);
        }
        Ok(out)
    }

    /// Opens stored audits: events in Zendesk's shape with their values, and their comments.
    async fn open_audits(&self, c: &mut Conn, tenant: TenantId, rows: Vec<AuditRow>) -> Result<Vec<Audit>> {
        self.open_audits_with(c, tenant, rows, true).await
    }

    /// [`Self::open_audits`], reading the comments only `with_comments`.
    async fn open_audits_with(&self, c: &mut Conn, tenant: TenantId, rows: Vec<AuditRow>, with_comments: bool) -> Result<Vec<Audit>> {
        let mut initial: BTreeMap<TicketId, Initial> = BTreeMap::new();
        let mut out = Vec::with_capacity(rows.len());
        let mut wanted: BTreeSet<CommentId> = BTreeSet::new();
        for a in rows {
            let mut events: Vec<Value> = serde_json::from_str(&a.events).map_err(|e| HelpdeskError::Internal(format!("audit {}: {e}", a.id)))?;
            let values = self.audit_values(c, tenant, &a).await;
            for (i, e) in events.iter_mut().enumerate() {
                let Value::Object(m) = e else { continue };
                // Empty members (a redaction's unused ids) go; a field's value stays even when
                // it is `null`, as Zendesk shows a field that had none.
                m.retain(|k, v| !v.is_null() || k == "value" || k == "previous_value");
                m.insert("id".into(), json!(event_id(a.id, i)));
                if let Some(kind) = m.get("type").and_then(Value::as_str).map(|k| zendesk_type(k).to_string()) {
                    m.insert("type".into(), json!(kind));
                }
                // As in Zendesk, a comment event's id is the comment's.
                if m.get("type").and_then(Value::as_str) == Some("Comment")
                    && let Some(c) = m.get("comment_id").cloned()
                {
                    m.insert("id".into(), c);
                }
                if let Some(c) = m.get("comment_id").and_then(Value::as_i64).filter(|_| with_comments) {
                    wanted.insert(CommentId(c));
                }
                if m.remove(DERIVED).is_some() {
                    let field = m.get("field_name").and_then(Value::as_str).unwrap_or_default().to_string();
                    if let std::collections::btree_map::Entry::Vacant(slot) = initial.entry(a.ticket_id) {
                        slot.insert(self.initial_values(c, tenant, a.ticket_id).await?);
                    }
                    let value = initial.get(&a.ticket_id).and_then(|v| v.fields.get(&field)).cloned();
                    m.insert("value".into(), value.unwrap_or(Value::Null));
                } else if let Some(sealed) = m.get("field_name").and_then(Value::as_str).filter(|f| personal_field(f)).map(|_| {
                    values
                        .as_ref()
                        .and_then(|v| v.get(&i.to_string()))
                        .cloned()
                        .unwrap_or(json!({"value": null, "previous_value": null}))
                }) {
                    for k in ["value", "previous_value"] {
                        m.insert(k.into(), sealed.get(k).cloned().unwrap_or(Value::Null));
                    }
                }
            }
            out.push(Audit {
                id: a.id,
                ticket_id: a.ticket_id,
                author_id: a.author_id.map(UserId),
                via: a.via,
                created_at: a.created_at,
                events,
                comments: BTreeMap::new(),
            });
        }
        let mut comments = BTreeMap::new();
        for id in wanted {
            let Some(r) = suoja_store::comments::by_id(c, tenant, id).await? else {
                continue;
            };
            let files = suoja_store::attachments::for_comments(c, tenant, &[r.id]).await?;
            // A comment whose key is gone (its author erased and thrown away) is left out.
            if let Ok(opened) = self.open_comment(c, tenant, &r, &files).await {
                comments.insert(id, opened);
            }
        }
        for a in &mut out {
            let mine: BTreeSet<CommentId> = a
                .events
                .iter()
                .filter_map(|e| e.get("comment_id").and_then(Value::as_i64))
                .map(CommentId)
                .collect();
            a.comments = comments.iter().filter(|(k, _)| mine.contains(k)).map(|(k, v)| (*k, v.clone())).collect();
        }
        Ok(out)
    }

    /// A page of a ticket's audits (staff who can see the ticket) and how many it has.
    pub async fn ticket_audits(&self, scope: &Scope, ticket: TicketId, page: AuditPage) -> Result<(Vec<Audit>, i64)> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        let t = self.visible_row(&mut c, scope, ticket).await?;
        self.consulted(scope, &[t.requester_id, t.submitter_id], "ticket.viewed", "support");
        let rows = suoja_store::ticket_audits::for_ticket(&mut c, scope.tenant, ticket, page).await?;
        let count = suoja_store::ticket_audits::count_for_ticket(&mut c, scope.tenant, ticket).await?;
        Ok((self.open_audits(&mut c, scope.tenant, rows).await?, count))
    }

    /// How many audits a ticket has (staff who can see it).
    pub async fn ticket_audit_count(&self, scope: &Scope, ticket: TicketId) -> Result<i64> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        self.visible_row(&mut c, scope, ticket).await?;
        Ok(suoja_store::ticket_audits::count_for_ticket(&mut c, scope.tenant, ticket).await?)
    }

    /// One audit of a ticket.
    pub async fn ticket_audit(&self, scope: &Scope, ticket: TicketId, id: i64) -> Result<Audit> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        let t = self.visible_row(&mut c, scope, ticket).await?;
        self.consulted(scope, &[t.requester_id, t.submitter_id], "ticket.viewed", "support");
        let row = suoja_store::ticket_audits::by_id(&mut c, scope.tenant, ticket, id)
            .await?
            .ok_or(HelpdeskError::NotFound("Audit"))?;
        self.open_audits(&mut c, scope.tenant, vec![row])
            .await?
            .into_iter()
            .next()
            .ok_or(HelpdeskError::NotFound("Audit"))
    }

    /// A page of every audit of the tenant (admins, as Zendesk's `GET /ticket_audits`), leaving
    /// out tickets whose processing is restricted.
    pub async fn all_audits(&self, scope: &Scope, page: AuditPage) -> Result<Vec<Audit>> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins list every ticket's audits"));
        }
        let mut c = self.db.read().await?;
        let rows = suoja_store::ticket_audits::for_tenant(&mut c, scope.tenant, page).await?;
        self.consulted_audits(&mut c, scope, &rows, "ticket.viewed", "support").await?;
        self.open_audits(&mut c, scope.tenant, rows).await
    }

    /// Audits written in a window of time, oldest first (admins; Zendesk's incremental ticket
    /// events). Comments are named, not read: the export says whether one was made and whether
    /// it is public.
    pub async fn audits_changed_since(
        &self,
        scope: &Scope,
        since: Timestamp,
        until: Option<Timestamp>,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<Audit>> {
        if !scope.is_admin() {
            return Err(HelpdeskError::Forbidden("only admins export ticket events"));
        }
        let mut c = self.db.read().await?;
        let rows = suoja_store::ticket_audits::changed_since(&mut c, scope.tenant, since, until, after, limit).await?;
        self.consulted_audits(&mut c, scope, &rows, "ticket.exported", "integration export").await?;
        self.open_audits_with(&mut c, scope.tenant, rows, false).await
    }

    /// Notes a read of audits as a read of their tickets' requesters' and submitters' data.
    async fn consulted_audits(&self, c: &mut Conn, scope: &Scope, rows: &[AuditRow], action: &str, purpose: &str) -> Result<()> {
        let ids: BTreeSet<TicketId> = rows.iter().map(|a| a.ticket_id).collect();
        let ids: Vec<TicketId> = ids.into_iter().collect();
        let mut people = BTreeSet::new();
        for chunk in ids.chunks(500) {
            for t in suoja_store::tickets::by_ids(c, scope.tenant, chunk).await? {
                people.extend([t.requester_id, t.submitter_id]);
            }
        }
        if !people.is_empty() {
            self.consulted(scope, &people.into_iter().collect::<Vec<_>>(), action, purpose);
        }
        Ok(())
    }

    /// Rewrites the sealed values a ticket's audits keep of `field` ([`EVERY_FIELD`]: of every
    /// personal field) with `change` (given each value and previous value; `None` leaves it, see
    /// [`on_strings`]), sealing them again under the ticket's key. A redaction and an erasure
    /// reach the past values this way. Returns how many audits changed.
    pub async fn rewrite_audit_values(
        &self,
        c: &mut Conn,
        tenant: TenantId,
        ticket: TicketId,
        field: &str,
        change: &(dyn Fn(&Value) -> Option<Value> + Sync),
    ) -> Result<u64> {
        let mut changed = 0;
        for a in suoja_store::ticket_audits::with_values(c, tenant, ticket).await? {
            let Ok(events) = serde_json::from_str::<Vec<Value>>(&a.events) else {
                continue;
            };
            let Some(mut values) = self.audit_values(c, tenant, &a).await else { continue };
            let mut any = false;
            for (i, e) in events.iter().enumerate() {
                let name = e.get("field_name").and_then(Value::as_str).unwrap_or_default();
                if !(name == field || (field == EVERY_FIELD && personal_field(name))) {
                    continue;
                }
                if let Some(Value::Object(pair)) = values.get_mut(&i.to_string()) {
                    for v in pair.values_mut() {
                        if let Some(new) = change(v).filter(|n| n != v) {
                            *v = new;
                            any = true;
                        }
                    }
                }
            }
            if any {
                let key = a.key_id.unwrap_or(KeyId(0));
                let sealed = crypt::seal_json(&self.vault, c, tenant, key, &Value::Object(values)).await?;
                suoja_store::ticket_audits::set_values(c, tenant, a.id, Some(key), Some(sealed)).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Takes a person's id out of a ticket's audit events (CC and follower lists, the requester,
    /// submitter and assignee, notification recipients, a comment's writer): an erased person
    /// is no longer linked to the ticket through its history. Who made each change stays (the
    /// audit's author, for accountability, as the admin audit log keeps it). Returns how many
    /// audits changed.
    pub async fn forget_person_in_audits(&self, c: &mut Conn, tenant: TenantId, ticket: TicketId, person: UserId) -> Result<u64> {
        let id = json!(person.0);
        let mut changed = 0;
        for a in suoja_store::ticket_audits::all_for_ticket(c, tenant, ticket).await? {
            let Ok(mut events) = serde_json::from_str::<Vec<Value>>(&a.events) else {
                continue;
            };
            let mut any = false;
            for e in &mut events {
                let Value::Object(m) = e else { continue };
                let named = m.get("field_name").and_then(Value::as_str).is_some_and(|f| PEOPLE_FIELDS.contains(&f));
                for key in ["value", "previous_value", "recipients", "author_id", "assignee_id"] {
                    if !named && matches!(key, "value" | "previous_value") {
                        continue;
                    }
                    match m.get_mut(key) {
                        Some(v) if *v == id => {
                            *v = Value::Null;
                            any = true;
                        }
                        Some(Value::Array(items)) if items.contains(&id) => {
                            items.retain(|x| *x != id);
                            any = true;
                        }
                        _ => {}
                    }
                }
            }
            if any {
                suoja_store::ticket_audits::set_events(c, tenant, a.id, &Value::Array(events).to_string()).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Moves a ticket's audit values to a new key (the ticket moved to a new requester).
    pub(super) async fn rekey_audits(&self, c: &mut Conn, tenant: TenantId, ticket: TicketId, new_key: KeyId) -> Result<()> {
        for a in suoja_store::ticket_audits::with_values(c, tenant, ticket).await? {
            let Some(sealed) = a.values_enc.as_deref() else { continue };
            let plain = self.vault.decrypt(c, tenant, sealed).await?;
            let again = self.vault.encrypt(c, tenant, new_key, &plain).await?;
            suoja_store::ticket_audits::set_values(c, tenant, a.id, Some(new_key), Some(again)).await?;
        }
        Ok(())
    }

    /// The values a ticket's fields had before their present ones (subjects, custom field
    /// values, external ids, and tags with `tags`), as its audits keep them: for its index
    /// (staff find a ticket by a subject it once had; an erasure's search finds a person named
    /// there; tags are labels, never matched by words, so the index leaves them out) and for
    /// the search of a person in the ticket's fields.
    pub async fn past_values(&self, c: &mut Conn, tenant: TenantId, audits: &[(String, Vec<u8>)], tags: bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for (events, sealed) in audits {
            let Ok(events) = serde_json::from_str::<Vec<Value>>(events) else { continue };
            let values: Value = crypt::open_json(&self.vault, c, tenant, sealed).await?;
            for (i, e) in events.iter().enumerate() {
                let field = e.get("field_name").and_then(Value::as_str).unwrap_or_default();
                if personal_field(field)
                    && (tags || field != "tags")
                    && let Some(p) = values.get(i.to_string()).and_then(|v| v.get("previous_value"))
                {
                    strings_of(p, &mut out);
                }
            }
        }
        Ok(out)
    }

    /// The text of a ticket's fields besides its subject and description: its custom field
    /// values, its external id, and its tags (with `tags`).
    pub async fn field_texts(&self, c: &mut Conn, tenant: TenantId, row: &TicketRow, tags: bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let fields: Vec<(i64, Value)> = crypt::open_json(&self.vault, c, tenant, &row.custom_fields_enc).await?;
        for (_, v) in &fields {
            strings_of(v, &mut out);
        }
        if let Some(x) = crypt::open_opt(&self.vault, c, tenant, row.external_id_enc.as_deref()).await? {
            out.push(x.expose().clone());
        }
        if tags {
            out.extend(crypt::open_json::<Vec<String>>(&self.vault, c, tenant, &row.tags_enc).await?);
        }
        Ok(out)
    }

    /// Everything a ticket's fields hold and held besides its present subject and description
    /// (see [`Self::field_texts`] and [`Self::past_values`]), tags included.
    pub async fn ticket_field_texts(&self, c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Vec<String>> {
        let mut out = match suoja_store::tickets::by_id(c, tenant, ticket).await? {
            Some(row) => self.field_texts(c, tenant, &row, true).await?,
            None => Vec::new(),
        };
        let audits: Vec<(String, Vec<u8>)> = suoja_store::ticket_audits::with_values(c, tenant, ticket)
            .await?
            .into_iter()
            .filter_map(|a| a.values_enc.map(|v| (a.events, v)))
            .collect();
        out.extend(self.past_values(c, tenant, &audits, true).await?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_values_leave_the_events_and_create_values_are_not_kept_twice() {
        let events = vec![
            AuditEvent::create("subject", json!("Printer on fire"), true),
            AuditEvent::create("status", json!("new"), false),
            AuditEvent::change("subject", json!("Printer on fire"), json!("Printer fixed"), true),
            AuditEvent::change("360001", json!("Maija"), json!(null), true),
            AuditEvent::change("priority", json!(null), json!("high"), false),
        ];
        let (json, values) = split(&events);
        let text = json.to_string();
        assert!(!text.contains("Printer") && !text.contains("Maija"), "{text}");
        assert!(text.contains("\"high\"") && text.contains("\"new\""), "{text}");
        assert_eq!(json[0][DERIVED], json!(true));
        assert_eq!(values.keys().cloned().collect::<Vec<_>>(), vec!["2".to_string(), "3".to_string()]);
        assert_eq!(values["3"]["previous_value"], json!("Maija"));
    }

    #[test]
    fn which_fields_are_personal() {
        for f in ["subject", "tags", "external_id", "360001"] {
            assert!(personal_field(f), "{f}");
        }
        for f in ["status", "priority", "assignee_id", "collaborator_ids", "due_at", ""] {
            assert!(!personal_field(f), "{f}");
        }
    }

    #[test]
    fn rewriting_reaches_every_string_and_reports_only_real_changes() {
        let v = json!(["vip", "ted-smith", "started"]);
        let change = |s: &str| (s == "ted-smith").then(|| "▇▇▇".to_string());
        let new = on_strings(&v, &change).unwrap();
        assert_eq!(new, json!(["vip", "▇▇▇", "started"]));
        assert_eq!(on_strings(&new, &change), None);
        assert_eq!(on_strings(&json!(42), &change), None);
    }
}
